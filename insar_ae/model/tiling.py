"""Spatial tiles with raised-cosine blending; temporal windows and their stitching.

Spatial: a frame is covered by ``tile`` x ``tile`` tiles overlapping by ``overlap`` pixels
(the last tile of a row/column is shifted to end exactly on the frame edge). Each tile's
output is weighted by a separable raised-cosine ramp over its ``overlap`` outer pixels and the
weighted sum divided by the summed weights, so tile edges fade out smoothly (no seams).

Temporal: windows of T dates start at 0, stride, 2*stride, ... and always at n - T (so the
last date is covered). Window k estimates the deformation of dates k..k+T-1 relative to date
k; the increments ``e_k[j] - e_k[j-1]`` estimate ``D[k+j] - D[k+j-1]``. Each increment is the
average over every window covering that pair of dates, and the series is their cumulative sum
from 0 at the first date. An oracle that returns the true window-relative series is therefore
stitched back exactly.
"""

from __future__ import annotations

import numpy as np

from insar_ae.errors import ParameterError

__all__ = [
    "IncrementStitcher",
    "blend_weights",
    "check_tiling",
    "stitch_windows",
    "tile_origins",
    "tile_starts",
    "window_starts",
]


def check_tiling(tile: int, overlap: int) -> None:
    """Raise ParameterError unless 16 <= tile, tile % 8 == 0 and 0 <= overlap <= tile // 2
    (the rule of :class:`insar_ae.model.DenoiseOptions`, pixels)."""
    from insar_ae.model.options import DenoiseOptions

    DenoiseOptions(tile=tile, overlap=overlap)


def tile_starts(n: int, tile: int, overlap: int) -> list[int]:
    """Start indices of tiles along one axis of length ``n >= tile``."""
    if n <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, n - tile, step))
    starts.append(n - tile)
    return sorted(set(starts))


def tile_origins(shape: tuple[int, int], tile: int, overlap: int) -> list[tuple[int, int]]:
    """(y0, x0) of every tile covering a (H, W) frame with H, W >= tile."""
    return [
        (y0, x0)
        for y0 in tile_starts(shape[0], tile, overlap)
        for x0 in tile_starts(shape[1], tile, overlap)
    ]


def blend_weights(tile: int, overlap: int) -> np.ndarray:
    """(tile, tile) float32 separable raised-cosine weights, in (0, 1], 1 in the tile centre."""
    ramp = np.ones(tile, dtype=np.float64)
    if overlap > 0:
        i = np.arange(overlap)
        r = 0.5 - 0.5 * np.cos(np.pi * (i + 0.5) / overlap)
        ramp[:overlap] = r
        ramp[tile - overlap :] = r[::-1]
    return np.outer(ramp, ramp).astype(np.float32)


def window_starts(n_time: int, T: int, stride: int = 1) -> list[int]:
    """First-date indices of the T-date windows covering ``n_time`` dates."""
    if n_time < T:
        raise ParameterError(f"the series has {n_time} dates; the model needs at least T={T}")
    if int(stride) != stride or not 1 <= stride <= T - 1:
        raise ParameterError(f"time_stride={stride!r} must be an integer in [1, T-1={T - 1}]")
    starts = list(range(0, n_time - T + 1, stride))
    if starts[-1] != n_time - T:
        starts.append(n_time - T)
    return starts


class IncrementStitcher:
    """Accumulate window estimates into a series referenced to the first date.

    Memory: one (n_time - 1, H, W) float32 array of summed increments (spatially uniform
    counts per date pair, so no per-pixel count array).
    """

    def __init__(self, n_time: int, shape: tuple[int, ...], T: int) -> None:
        self.n_time = int(n_time)
        self.T = int(T)
        self.sum = np.zeros((self.n_time - 1, *shape), dtype=np.float32)
        self.count = np.zeros(self.n_time - 1, dtype=np.int64)

    def add(self, start: int, estimate: np.ndarray) -> None:
        """Add window ``start``'s estimate, shape (T, ...), relative to its first date."""
        if estimate.shape[0] != self.T or start < 0 or start + self.T > self.n_time:
            raise ParameterError(
                f"window start={start} with {estimate.shape[0]} dates does not "
                f"fit a {self.n_time}-date series"
            )
        self.sum[start : start + self.T - 1] += np.diff(estimate, axis=0)
        self.count[start : start + self.T - 1] += 1

    def result(self) -> np.ndarray:
        """(n_time, ...) series, 0 at the first date."""
        if (self.count == 0).any():
            raise ParameterError(
                f"date pairs {np.flatnonzero(self.count == 0).tolist()} are not "
                "covered by any window"
            )
        inc = self.sum / self.count.reshape(-1, *([1] * (self.sum.ndim - 1)))
        out = np.zeros((self.n_time, *self.sum.shape[1:]), dtype=np.float32)
        np.cumsum(inc, axis=0, out=out[1:])
        return out


def stitch_windows(estimates: dict[int, np.ndarray], n_time: int) -> np.ndarray:
    """Stitch ``{start: (T, ...) estimate}`` into an (n_time, ...) series (see module doc)."""
    first = next(iter(estimates.values()))
    st = IncrementStitcher(n_time, first.shape[1:], first.shape[0])
    for k, est in sorted(estimates.items()):
        st.add(k, est)
    return st.result()
