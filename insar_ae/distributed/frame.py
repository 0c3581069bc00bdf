"""One frame's block-wise run: open the input lazily, plan the blocks, create or resume the
partial output store, hand out block tasks, and finish with an atomic rename."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import xarray as xr

from insar_ae.distributed.layout import Block, effective_block, plan_blocks
from insar_ae.distributed.store import PartialStore, output_template
from insar_ae.distributed.task import BlockRun, DatasetSource, PathSource, is_lazy
from insar_ae.errors import ParameterError

__all__ = ["FrameRun"]


class FrameRun:
    """Plan, run and finish the block-wise denoising of one frame into one Zarr store.

    Used by :func:`denoise_blocks` (one frame) and :func:`insar_ae.distributed.batch.run_batch`
    (many frames sharing a cluster). Call :meth:`prepare`, run :func:`process_block` with
    :meth:`task_args` for each pending block (anywhere), feed results to :meth:`record`, then
    :meth:`finish`.
    """

    def __init__(
        self,
        data: xr.Dataset | str | os.PathLike[str],
        out: str | os.PathLike[str],
        *,
        block: int = 512,
        halo: int | str = "auto",
        run: BlockRun | None = None,
        overwrite: bool = False,
        resume: bool = True,
        format: str | None = None,
    ) -> None:
        if isinstance(block, bool) or not isinstance(block, int | float) or block < 16:
            raise ParameterError(f"block must be an integer >= 16 pixels, got {block!r}")
        self.data, self.format = data, format
        self.out = Path(out).absolute()
        self.run = (run or BlockRun()).pinned()  # weights' SHA-256 fixed now
        self.options = self.run.options
        self.halo = halo
        self.block = effective_block(
            block, halo, tile=self.options.tile, overlap=self.options.overlap
        )
        self.overwrite, self.resume = overwrite, resume
        self.blocks: list[Block] = []
        self.pending: list[Block] = []
        self.results: list[dict[str, Any]] = []
        self._sources: dict[str, PathSource | DatasetSource] = {}
        self._variables: dict[str, str] = {}
        self.partial: PartialStore | None = None

    def prepare(self) -> list[Block]:
        """Open the input lazily, validate it, create/resume the output; return pending blocks.

        Raises ``OutputExistsError`` (a ``FileExistsError``) when the output exists and not
        ``overwrite``, and ``ParameterError`` when the output is one of the input files.
        """
        from insar_ae.atomic import check_output, input_paths

        if isinstance(self.data, xr.Dataset):
            ds, identity = self.data, {"dataset": _dataset_token(self.data)}
            inputs = input_paths(ds)
        else:
            from insar_ae.io import open_frame

            path = Path(self.data).absolute()
            identity = _path_identity(path)
            ds = open_frame(path, format=self.format)
            inputs = input_paths(ds) | {path.resolve()}
        from insar_ae.preflight import check_height

        check_height(ds)  # an all-NaN DEM would give an all-NaN cube: refuse before any block
        T = int(getattr(self.run.module, "T", 9))
        if ds.sizes.get("time", 0) < T:
            raise ParameterError(
                f"the frame has {ds.sizes.get('time', 0)} dates; denoising "
                f"needs at least T={T} (the model's window)"
            )
        self.out.parent.mkdir(parents=True, exist_ok=True)
        check_output(self.out, overwrite=self.overwrite, inputs=inputs)
        self.blocks = plan_blocks(
            ds.sizes["y"],
            ds.sizes["x"],
            block=self.block,
            halo=self.halo,
            tile=self.options.tile,
            overlap=self.options.overlap,
        )
        template, encoding = output_template(ds, block=self.block)  # validates ds
        self._variables = {k: str(v.dtype) for k, v in template.data_vars.items()}
        fingerprint = {
            "input": identity,
            "sizes": dict(ds.sizes),
            "block": self.block,
            "halo": self.halo,
            "options": self.run.identity(),
            "variables": self._variables,
        }
        self.partial = PartialStore(self.out, fingerprint)
        done = self.partial.open(template, encoding, resume=self.resume)
        self.pending = [b for b in self.blocks if b.key not in done]
        for b in self.pending:
            if isinstance(self.data, xr.Dataset):
                sub = ds.isel(b.outer)
                if is_lazy(sub):  # keep only the graph this block needs
                    import dask

                    (sub,) = dask.optimize(sub)
                self._sources[b.key] = DatasetSource(sub)
            else:
                self._sources[b.key] = PathSource(
                    os.fspath(Path(self.data).absolute()), self.format
                )
        return list(self.pending)

    def task_args(self, block: Block) -> tuple[Any, ...]:
        """Positional arguments of :func:`process_block` for ``block``."""
        assert self.partial is not None, "call prepare() first"
        return (
            self._sources[block.key],
            block,
            os.fspath(self.partial.store),
            os.fspath(self.partial.done_dir),
            self._variables,
            self.run,
        )

    def record(self, result: dict[str, Any]) -> None:
        """Keep a finished block's record (the first one's output attributes go to the store)."""
        assert self.partial is not None, "call prepare() first"
        if not self.results:
            self.partial.write_attrs(result["var_attrs"])
        self.results.append({k: v for k, v in result.items() if k != "var_attrs"})
        self._sources.pop(result["key"], None)

    def finish(self) -> Path:
        """Write attributes and rename the finished store onto the output path (atomic)."""
        assert self.partial is not None, "call prepare() first"
        var_attrs = self.partial.read_attrs()
        attrs = {
            "insar_ae_blocks": json.dumps(
                {"block": self.block, "halo": self.halo, "n_blocks": len(self.blocks)}
            ),
            "insar_ae_denoise": json.dumps(self.run.identity(), sort_keys=True),
        }
        return self.partial.finish(
            attrs=attrs,
            var_attrs=var_attrs,
            expected=[b.key for b in self.blocks],
            overwrite=self.overwrite,
        )


def _dataset_token(ds: xr.Dataset) -> str:
    import dask.base

    return str(dask.base.tokenize(ds))


def _path_identity(path: Path) -> dict[str, Any]:
    """Path, size and modification time (of the root metadata too, for directory stores)."""
    if not path.exists():
        raise ParameterError(f"input frame {path} does not exist")
    st = path.stat()
    ident: dict[str, Any] = {
        "path": os.fspath(path),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
    }
    if path.is_dir():
        for meta in ("zarr.json", ".zmetadata", ".zattrs"):
            if (path / meta).exists():
                ident[meta] = (path / meta).stat().st_mtime_ns
    return ident
