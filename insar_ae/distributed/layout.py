"""Block layout of a frame: cores that tile it exactly once, and the halos the model needs.

With ``halo="auto"`` (the default) the halos are chosen so that block-wise denoising gives
*the same numbers* as denoising the whole frame at once. :func:`insar_ae.model.denoise` cuts a
frame into ``tile`` x ``tile`` tiles starting at multiples of ``step = tile - overlap`` (the
last one shifted to end on the frame edge) and blends them; tiles are processed
independently. A core pixel therefore sees exactly the whole-frame tiles if

- cores start at multiples of ``step`` (``block`` is rounded up to a multiple of ``step``);
- the outer region starts ``hl = step * floor((tile - 1) / step)`` pixels before the core (so
  the first tile covering the core's first pixel is inside) -- a multiple of ``step``, so the
  block's own tile grid coincides with the frame's;
- it ends ``hr = tile - step`` pixels after the core, so the block's last (edge-aligned) tile
  is the frame's tile starting ``step`` before the core's end;
- a block whose core reaches into the last ``tile`` pixels of the frame extends to the frame
  edge (and at least ``tile`` pixels back from it), where the frame's shifted last tile lives.

With an integer ``halo`` the outer region is the core grown by ``halo`` on every side
(clipped): close to, but not bit-identical with, the whole-frame result.
"""

from __future__ import annotations

from dataclasses import dataclass

from insar_ae.errors import ParameterError

__all__ = ["Block", "effective_block", "plan_blocks"]


@dataclass(frozen=True)
class Block:
    """One block: core ``[y0, y1) x [x0, x1)`` and outer region ``[oy0, oy1) x [ox0, ox1)``,
    frame pixel indices."""

    iy: int
    ix: int
    y0: int
    y1: int
    x0: int
    x1: int
    oy0: int
    oy1: int
    ox0: int
    ox1: int

    @property
    def key(self) -> str:
        """Stable name ``"<iy>-<ix>"``."""
        return f"{self.iy}-{self.ix}"

    @property
    def core(self) -> dict[str, slice]:
        """Core region in frame pixel indices."""
        return {"y": slice(self.y0, self.y1), "x": slice(self.x0, self.x1)}

    @property
    def outer(self) -> dict[str, slice]:
        """Core plus halo, in frame pixel indices."""
        return {"y": slice(self.oy0, self.oy1), "x": slice(self.ox0, self.ox1)}

    @property
    def inner(self) -> dict[str, slice]:
        """Core region relative to the outer region."""
        return {
            "y": slice(self.y0 - self.oy0, self.y1 - self.oy0),
            "x": slice(self.x0 - self.ox0, self.x1 - self.ox0),
        }


def _check_int(name: str, value: object, low: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or int(value) != value
        or value < low
    ):
        raise ParameterError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def effective_block(
    block: int, halo: int | str = "auto", *, tile: int = 128, overlap: int = 32
) -> int:
    """Core size actually used: ``block``, rounded up to a multiple of ``tile - overlap`` when
    ``halo="auto"``."""
    block = _check_int("block", block, 1)
    if halo == "auto":
        step = _check_int("tile", tile, 1) - _check_int("overlap", overlap, 0)
        if step < 1:
            raise ParameterError(f"overlap must be < tile, got tile={tile}, overlap={overlap}")
        return -(-block // step) * step
    if isinstance(halo, str):
        raise ParameterError(f"halo must be 'auto' or an integer >= 0 pixels, got {halo!r}")
    _check_int("halo", halo, 0)
    return block


def _axis_spans(
    n: int, block: int, halo: int | str, tile: int, overlap: int
) -> list[tuple[int, int, int, int]]:
    """(core0, core1, outer0, outer1) along one axis of length ``n``."""
    spans = []
    if halo != "auto":
        for c0 in range(0, n, block):
            c1 = min(c0 + block, n)
            spans.append((c0, c1, max(0, c0 - int(halo)), min(n, c1 + int(halo))))
        return spans
    if n <= tile:  # the model pads the whole axis to one tile: keep it whole
        return [(0, n, 0, n)]
    step = tile - overlap
    hl, hr = step * ((tile - 1) // step), tile - step
    last_regular = ((n - tile) // step) * step  # a multiple of step, <= n - tile
    for c0 in range(0, n, block):
        c1 = min(c0 + block, n)
        o0 = max(0, c0 - hl)
        if c1 <= n - tile and c1 + hr < n:
            o1 = c1 + hr
        else:  # the frame's edge-aligned last tile covers this core: include it whole
            o1, o0 = n, min(o0, last_regular)
        spans.append((c0, c1, o0, o1))
    return spans


def plan_blocks(
    ny: int,
    nx: int,
    *,
    block: int = 512,
    halo: int | str = "auto",
    tile: int = 128,
    overlap: int = 32,
) -> list[Block]:
    """Cut an ``ny`` x ``nx`` frame into blocks (row-major) whose cores tile it exactly once.

    Parameters
    ----------
    ny, nx
        Frame size, pixels.
    block
        Core size, pixels (rounded up to a multiple of ``tile - overlap`` when ``halo="auto"``;
        the last row/column of blocks may be smaller).
    halo
        ``"auto"``: the asymmetric halos that make block-wise denoising equal whole-frame
        denoising with this ``tile``/``overlap`` (see the module docstring); an integer: grow
        each core by that many pixels on every side (clipped at the frame edge).
    tile, overlap
        The model's tiling (as :func:`insar_ae.model.denoise`).
    """
    ny, nx = _check_int("ny", ny, 1), _check_int("nx", nx, 1)
    if halo == "auto":
        _check_int("tile", tile, 1)
        if not 0 <= overlap < tile:
            raise ParameterError(f"overlap must be in [0, tile), got {overlap!r} (tile={tile})")
    block = effective_block(block, halo, tile=tile, overlap=overlap)
    ys = _axis_spans(ny, block, halo, tile, overlap)
    xs = _axis_spans(nx, block, halo, tile, overlap)
    return [
        Block(iy, ix, y0, y1, x0, x1, oy0, oy1, ox0, ox1)
        for iy, (y0, y1, oy0, oy1) in enumerate(ys)
        for ix, (x0, x1, ox0, ox1) in enumerate(xs)
    ]
