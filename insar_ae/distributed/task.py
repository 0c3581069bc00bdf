"""The block task, run on a Dask worker (or in-process): read a block with its halo, denoise it
with :func:`insar_ae.model.denoise`, write its core into the output Zarr store, mark it done.

Each task reads its own input (a file re-opened lazily on the worker, or the block's own slice
of an in-memory / dask-backed Dataset) with the synchronous scheduler, so no input chunk is held
by the cluster on behalf of neighbouring blocks. Tasks are idempotent (the same bytes go to the
same aligned Zarr chunks), so a task re-run after its worker died is harmless.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from insar_ae.distributed.cluster import set_worker_threads, worker_device, worker_model
from insar_ae.distributed.layout import Block
from insar_ae.distributed.store import OUTPUT_CUBES, write_region

__all__ = [
    "DatasetSource",
    "DenoiseOptions",
    "PathSource",
    "denoise_region",
    "is_lazy",
    "process_block",
]

log = logging.getLogger(__name__)


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
        return self.ds.compute(scheduler="synchronous") if is_lazy(self.ds) else self.ds


def is_lazy(ds: xr.Dataset) -> bool:
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
    #: SHA-256 of the weights file behind a ``model`` name/path, fixed when the run is planned
    #: (:meth:`pinned`); workers refuse other weights.
    model_sha256: str | None = None

    def pinned(self) -> DenoiseOptions:
        """These options with ``model_sha256`` set from the weights file a name/path points to
        now (a module is hashed in :meth:`identity`)."""
        if not isinstance(self.model, str | os.PathLike) or self.model_sha256:
            return self
        from insar_ae.model.weights import resolve_entry, sha256_file

        path, _ = resolve_entry(self.model)
        return replace(self, model=os.fspath(self.model), model_sha256=sha256_file(path))

    def identity(self) -> dict[str, Any]:
        """JSON description for fingerprints: every option that changes the output, the model
        by the SHA-256 of the weights that will run (a registry name or file is hashed now, so
        swapping the weights behind a name changes the fingerprint), and the package version."""
        from insar_ae import __version__

        d = {k: v for k, v in asdict(self).items() if k != "model"}
        if isinstance(self.model, str | os.PathLike):
            d["model"] = os.fspath(self.model)
            d["model_sha256"] = self.pinned().model_sha256
        else:
            d["model"] = "module"
            d["model_sha256"] = _module_sha256(self.model)
        d["insar_ae_version"] = __version__
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
    model's input and come back NaN; a region with fewer usable dates than the model's minimum (``min_dates``), or
    none (sea, decorrelated area), is not sent to the model and comes back all NaN.
    """
    from insar_ae.model import denoise

    finite = np.isfinite(sub["displacement"].values).any(axis=(1, 2))
    device = worker_device(options.device)
    model = worker_model(options.model, device, options.model_sha256) if finite.any() else None
    n_needed = int(getattr(model, "min_dates", 9))
    if int(finite.sum()) < n_needed:
        if finite.any():
            log.warning(
                "block with %d dates holding data (< %d, the model's minimum): "
                "deformation left NaN",
                int(finite.sum()),
                n_needed,
            )
        nan = xr.full_like(sub["displacement"], np.nan, dtype=np.float32)
        return sub.assign(
            deformation=nan.assign_attrs(OUTPUT_CUBES["deformation"]),
            noise=nan.assign_attrs(OUTPUT_CUBES["noise"]),
        )
    kw = dict(
        model=model,
        device=device,
        tile=options.tile,
        overlap=options.overlap,
        batch_size=options.batch_size,
        time_stride=options.time_stride,
    )
    if finite.all():
        return denoise(sub, **kw)
    # Rare: denoise only the dates holding data, put NaN back on the others.
    part = denoise(sub.isel(time=np.flatnonzero(finite)), **kw)
    out = sub.copy()
    for name in ("deformation", "noise"):
        out[name] = part[name].reindex(time=sub["time"]).astype(np.float32)
    return out


def process_block(
    source: PathSource | DatasetSource,
    block: Block,
    store: str,
    done_dir: str,
    variables: dict[str, str],
    options: DenoiseOptions,
) -> dict[str, Any]:
    """Read, denoise, crop and write one block; mark it done. Runs on a worker.

    Returns a small record (block key, seconds, worker, attributes of the model output) so
    that nothing large travels back to the client.
    """
    t0 = time.perf_counter()
    set_worker_threads()
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
        "var_attrs": {k: dict(out[k].attrs) for k in ("deformation", "noise") if k in out},
    }


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid:{os.getpid()}"
