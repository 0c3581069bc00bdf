"""Block-wise denoising of frames larger than memory, streamed to Zarr, on Dask or in-process.

A frame is cut into spatial blocks of about ``block`` x ``block`` pixels
(:mod:`insar_ae.distributed.layout`). Each block is read *with a halo* (by default the one
that makes the result identical to whole-frame denoising), denoised by the one and only
implementation, :func:`insar_ae.model.denoise` (its spatial tiling and temporal stitching run
inside the block, over all dates), cropped back to the block core and written into its region
of the output Zarr store as soon as it is done. Peak memory per worker is therefore set by
``(block + halos)^2 x n_dates``, not by the frame.

Each block task reads its own input (a file re-opened lazily on the worker, or the block's own
slice of an in-memory / dask-backed Dataset) with the synchronous scheduler, so no input chunk
is held by the cluster on behalf of neighbouring blocks. Tasks are idempotent (the same bytes go
to the same aligned Zarr chunks), so a task re-run after a worker died is harmless.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from insar_ae.datamodel import validate
from insar_ae.distributed.cluster import gpu_resources, worker_device, worker_model
from insar_ae.distributed.layout import Block, effective_block, plan_blocks
from insar_ae.distributed.store import (
    OUTPUT_CUBES,
    PartialStore,
    output_template,
    write_region,
)
from insar_ae.errors import ParameterError

__all__ = [
    "Block",
    "DenoiseOptions",
    "FrameRun",
    "denoise_blocks",
    "plan_blocks",
    "process_block",
]

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


# -- where a block's input comes from -----------------------------------------------------------
@dataclass(frozen=True)
class PathSource:
    """Re-open a frame file on the worker (lazily, via :func:`insar_ae.io.open_frame`)."""

    path: str
    format: str | None = None

    def read(self, block: Block) -> xr.Dataset:
        from insar_ae.io import open_frame

        ds = open_frame(self.path, format=self.format)
        try:
            return ds.isel(block.outer).compute(scheduler="synchronous")
        finally:
            ds.close()


@dataclass(frozen=True)
class DatasetSource:
    """A block's own slice (outer region) of an in-memory or dask-backed Dataset."""

    ds: xr.Dataset

    def read(self, block: Block) -> xr.Dataset:
        # compute(), not load(): load() would fill self.ds in place, and Dask keeps a task's
        # arguments alive as long as its result is referenced.
        return self.ds.compute(scheduler="synchronous") if _is_lazy(self.ds) else self.ds


def _is_lazy(ds: xr.Dataset) -> bool:
    """True when some variable of ``ds`` is dask-backed."""
    return any(v.chunks is not None for v in ds.variables.values())


# -- the task ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DenoiseOptions:
    """Arguments forwarded to :func:`insar_ae.model.denoise` in every block.

    ``model`` is a registered weights name (loaded once per worker) or a ``torch.nn.Module``
    (pickled into each task: keep it small, or register it).
    """

    model: Any = "default"
    device: str = "auto"
    tile: int = 128
    overlap: int = 32
    batch_size: int = 8
    time_stride: int = 1

    def identity(self) -> dict[str, Any]:
        """JSON description for fingerprints (a module is identified by its weights' SHA-256)."""
        d = {k: v for k, v in asdict(self).items() if k not in ("model", "device")}
        d["model"] = self.model if isinstance(self.model, str) else _module_sha256(self.model)
        return d


def _module_sha256(module: Any) -> str:
    h = hashlib.sha256(type(module).__name__.encode())
    for name, t in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return "sha256:" + h.hexdigest()


def denoise_region(sub: xr.Dataset, options: DenoiseOptions) -> xr.Dataset:
    """Denoise one in-memory region with :func:`insar_ae.model.denoise`.

    Dates on which the region has no finite displacement at all (possible in a block although
    not in the whole frame, e.g. a burst missing over part of the frame) are left out of the
    model's input and come back NaN; a region with fewer than the model's T usable dates, or
    none (sea, decorrelated area), is not sent to the model and comes back all NaN.
    """
    from insar_ae.model import denoise

    finite = np.isfinite(sub["displacement"].values).any(axis=(1, 2))
    device = worker_device(options.device)
    model = worker_model(options.model, device) if finite.any() else None
    n_needed = int(getattr(model, "T", 9))
    if int(finite.sum()) < n_needed:
        if finite.any():
            log.warning("block with %d dates holding data (< T=%d): deformation left NaN",
                        int(finite.sum()), n_needed)
        nan = xr.full_like(sub["displacement"], np.nan, dtype=np.float32)
        return sub.assign(deformation=nan.assign_attrs(OUTPUT_CUBES["deformation"]),
                          noise=nan.assign_attrs(OUTPUT_CUBES["noise"]))
    kw = dict(model=model, device=device, tile=options.tile, overlap=options.overlap,
              batch_size=options.batch_size, time_stride=options.time_stride)
    if finite.all():
        return denoise(sub, **kw)
    # Rare: denoise only the dates holding data, put NaN back on the others.
    part = denoise(sub.isel(time=np.flatnonzero(finite)), **kw)
    out = sub.copy()
    for name in ("deformation", "noise"):
        out[name] = part[name].reindex(time=sub["time"]).astype(np.float32)
    return out


def process_block(source: PathSource | DatasetSource, block: Block, store: str, done_dir: str,
                  variables: dict[str, str], options: DenoiseOptions) -> dict[str, Any]:
    """Read, denoise, crop and write one block; mark it done. Runs on a worker.

    Returns a small record (block key, seconds, worker, attributes of the model output) so
    that nothing large travels back to the client.
    """
    t0 = time.perf_counter()
    sub = source.read(block)
    out = denoise_region(sub, options)
    core = out.isel(block.inner)
    core = xr.Dataset({k: core[k].astype(dtype, copy=False) for k, dtype in variables.items()})
    write_region(core, store, y=block.core["y"], x=block.core["x"])
    Path(done_dir, block.key).touch()
    return {
        "key": block.key,
        "seconds": time.perf_counter() - t0,
        "pixels": int((block.y1 - block.y0) * (block.x1 - block.x0)),
        "worker": _worker_address(),
        "attrs": dict(out.attrs),
        "var_attrs": {k: dict(out[k].attrs) for k in ("deformation", "noise") if k in out},
    }


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid:{os.getpid()}"


# -- one frame -------------------------------------------------------------------------------------
class FrameRun:
    """Plan, run and finish the block-wise denoising of one frame into one Zarr store.

    Used by :func:`denoise_blocks` (one frame) and :func:`insar_ae.distributed.batch.run_batch`
    (many frames sharing a cluster). Call :meth:`prepare`, run :func:`process_block` with
    :meth:`task_args` for each pending block (anywhere), feed results to :meth:`record`, then
    :meth:`finish`.
    """

    def __init__(self, data: xr.Dataset | str | os.PathLike[str], out: str | os.PathLike[str], *,
                 block: int = 512, halo: int | str = "auto",
                 options: DenoiseOptions | None = None, overwrite: bool = False,
                 resume: bool = True, format: str | None = None) -> None:
        if isinstance(block, bool) or not isinstance(block, int | float) or block < 16:
            raise ParameterError(f"block must be an integer >= 16 pixels, got {block!r}")
        self.data, self.format = data, format
        self.out = Path(out).absolute()
        self.options = options or DenoiseOptions()
        self.halo = halo
        self.block = effective_block(block, halo, tile=self.options.tile,
                                     overlap=self.options.overlap)
        self.overwrite, self.resume = overwrite, resume
        self.blocks: list[Block] = []
        self.pending: list[Block] = []
        self.results: list[dict[str, Any]] = []
        self._sources: dict[str, PathSource | DatasetSource] = {}
        self._variables: dict[str, str] = {}
        self.partial: PartialStore | None = None

    def prepare(self) -> list[Block]:
        """Open the input lazily, validate it, create/resume the output; return pending blocks."""
        if self.out.exists() and not self.overwrite:
            raise ParameterError(f"output {self.out} already exists; pass overwrite=True "
                                 "(CLI: --overwrite) to replace it")
        if isinstance(self.data, xr.Dataset):
            ds, identity = self.data, {"dataset": _dataset_token(self.data)}
        else:
            from insar_ae.io import open_frame

            path = Path(self.data).absolute()
            ds, identity = open_frame(path, format=self.format), _path_identity(path)
        validate(ds)
        self.blocks = plan_blocks(ds.sizes["y"], ds.sizes["x"], block=self.block, halo=self.halo,
                                  tile=self.options.tile, overlap=self.options.overlap)
        template, encoding = output_template(ds, block=self.block)
        self._variables = {k: str(v.dtype) for k, v in template.data_vars.items()}
        fingerprint = {"input": identity, "sizes": dict(ds.sizes), "block": self.block,
                       "halo": self.halo, "options": self.options.identity(),
                       "variables": self._variables}
        self.partial = PartialStore(self.out, fingerprint)
        done = self.partial.open(template, encoding, resume=self.resume)
        self.pending = [b for b in self.blocks if b.key not in done]
        for b in self.pending:
            if isinstance(self.data, xr.Dataset):
                sub = ds.isel(b.outer)
                if _is_lazy(sub):  # keep only the graph this block needs
                    import dask

                    (sub,) = dask.optimize(sub)
                self._sources[b.key] = DatasetSource(sub)
            else:
                self._sources[b.key] = PathSource(os.fspath(Path(self.data).absolute()), self.format)
        self._attrs_file = self.partial.state / "attrs.json"
        return list(self.pending)

    def task_args(self, block: Block) -> tuple[Any, ...]:
        """Positional arguments of :func:`process_block` for ``block``."""
        assert self.partial is not None, "call prepare() first"
        return (self._sources[block.key], block, os.fspath(self.partial.store),
                os.fspath(self.partial.done_dir), self._variables, self.options)

    def record(self, result: dict[str, Any]) -> None:
        """Keep a finished block's record (the first one's attributes go to the output)."""
        if not self.results and not self._attrs_file.exists():
            self._attrs_file.write_text(json.dumps(
                {"attrs": result["attrs"], "var_attrs": result["var_attrs"]}, default=str))
        self.results.append({k: v for k, v in result.items() if k not in ("attrs", "var_attrs")})
        self._sources.pop(result["key"], None)

    def finish(self) -> Path:
        """Write attributes and rename the finished store onto the output path (atomic)."""
        assert self.partial is not None, "call prepare() first"
        meta = json.loads(self._attrs_file.read_text()) if self._attrs_file.exists() else {}
        attrs = dict(meta.get("attrs", {}))
        attrs["insar_ae_blocks"] = json.dumps({"block": self.block, "halo": self.halo,
                                               "n_blocks": len(self.blocks)})
        attrs["insar_ae_denoise"] = json.dumps(self.options.identity(), sort_keys=True)
        return self.partial.finish(attrs=attrs, var_attrs=meta.get("var_attrs"),
                                   expected=[b.key for b in self.blocks],
                                   overwrite=self.overwrite)


def _dataset_token(ds: xr.Dataset) -> str:
    import dask.base

    return str(dask.base.tokenize(ds))


def _path_identity(path: Path) -> dict[str, Any]:
    """Path, size and modification time (of the root metadata too, for directory stores)."""
    if not path.exists():
        raise ParameterError(f"input frame {path} does not exist")
    st = path.stat()
    ident: dict[str, Any] = {"path": os.fspath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if path.is_dir():
        for meta in ("zarr.json", ".zmetadata", ".zattrs"):
            if (path / meta).exists():
                ident[meta] = (path / meta).stat().st_mtime_ns
    return ident


# -- public entry point ------------------------------------------------------------------------------
def denoise_blocks(
    data: xr.Dataset | str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    block: int = 512,
    halo: int | str = "auto",
    client: Any = None,
    model: Any = "default",
    device: str = "auto",
    tile: int = 128,
    overlap: int = 32,
    batch_size: int = 8,
    time_stride: int = 1,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    overwrite: bool = False,
    resume: bool = True,
    retries: int = 0,
    format: str | None = None,
) -> xr.Dataset:
    """Denoise a frame block by block and stream the result into a Zarr store.

    Parameters
    ----------
    data
        A canonical Dataset (numpy- or dask-backed; ``displacement`` in mm, LOS positive toward
        the satellite) or the path of a frame file (re-opened lazily by each block task).
    out
        Output Zarr directory store: the input variables plus ``deformation`` and ``noise``
        (mm, same convention). Appears only when complete (atomic rename).
    block
        Block core size, pixels (with ``halo="auto"`` rounded up to a multiple of
        ``tile - overlap``, 576 for the defaults). Peak memory per task is about
        ``(block + tile)^2 x n_dates x 4 bytes x (input cubes + 4)``.
    halo
        ``"auto"`` (default): the halos that make the result identical to whole-frame
        :func:`insar_ae.model.denoise` (``tile`` pixels in all, see
        :mod:`insar_ae.distributed.layout`); an integer: that many pixels on every side
        (approximate near block edges).
    client
        A ``distributed.Client``; ``None`` uses the current default client if one exists, else
        runs the blocks one after another in this process (memory still bounded by a block);
        ``False`` always runs in this process.
    model, device, tile, overlap, batch_size, time_stride
        As :func:`insar_ae.model.denoise`; ``device="auto"`` gives each Dask worker its GPU.
    progress
        ``progress(fraction, message)`` called as blocks finish.
    cancel
        When set, pending blocks are cancelled and ``insar_ae.model.Cancelled`` is raised; the
        blocks done so far are kept for a resumed run.
    overwrite
        Replace an existing ``out``.
    resume
        Reuse blocks finished by an interrupted run with identical inputs and parameters.
    retries
        Extra attempts of a block task that raised (Dask retries tasks of lost workers anyway).

    Returns
    -------
    xarray.Dataset
        The output store, opened lazily and validated.
    """
    options = DenoiseOptions(model=model, device=device, tile=tile, overlap=overlap,
                             batch_size=batch_size, time_stride=time_stride)
    run = FrameRun(data, out, block=block, halo=halo, options=options, overwrite=overwrite,
                   resume=resume, format=format)
    pending = run.prepare()
    total, n_done = len(run.blocks), len(run.blocks) - len(pending)
    client = _default_client() if client is None else (client or None)
    log.info("denoise_blocks %s: %d blocks (%d pending) on %s", run.out, total, len(pending),
             "dask" if client is not None else "this process")

    def report(msg: str) -> None:
        if progress is not None:
            progress(n_done / total, msg)

    report(f"{n_done}/{total} blocks")
    if client is None:
        for b in pending:
            _check_cancel(cancel)
            run.record(process_block(*run.task_args(b)))
            n_done += 1
            report(f"{n_done}/{total} blocks")
    else:
        n_done = _run_on_client(client, run, pending, n_done, report, cancel, retries)
    path = run.finish()
    report(f"{total}/{total} blocks, written {path}")
    return _open_output(path)


def _run_on_client(client: Any, run: FrameRun, pending: Sequence[Block], n_done: int,
                   report: Callable[[str], None], cancel: threading.Event | None,
                   retries: int) -> int:
    from distributed import as_completed

    resources = gpu_resources(client)
    tag = uuid.uuid4().hex[:8]
    futures = {}
    for b in pending:
        fut = client.submit(process_block, *run.task_args(b), key=f"insar-block-{b.key}-{tag}",
                            pure=False, resources=resources, retries=retries)
        futures[fut.key] = fut
    total = len(run.blocks)
    try:
        for fut in as_completed(list(futures.values())):
            _check_cancel(cancel)
            run.record(fut.result())
            del futures[fut.key]  # release the task (and its arguments) on the cluster
            n_done += 1
            report(f"{n_done}/{total} blocks")
    except BaseException:
        client.cancel(list(futures.values()))
        raise
    return n_done


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        from insar_ae.model import Cancelled

        raise Cancelled("denoise_blocks cancelled; finished blocks are kept for resume=True")


def _default_client() -> Any:
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def _open_output(path: Path) -> xr.Dataset:
    return validate(xr.open_zarr(os.fspath(path)))
