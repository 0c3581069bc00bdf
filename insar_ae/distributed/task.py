"""The block task, run on a Dask worker (or in-process): read a block with its halo, denoise it
with :func:`insar_ae.model.denoise`, write its core into the output Zarr store, mark it done.

Each task reads its own input (a file re-opened lazily on the worker, or the block's own slice
of an in-memory / dask-backed Dataset) with the synchronous scheduler, so no input chunk is held
by the cluster on behalf of neighbouring blocks. Tasks are idempotent (the same bytes go to the
same aligned Zarr chunks), so a task re-run after its worker died is harmless.

The worker process's own state lives here too, beside the task that uses it: its index (which
GPU ``device="auto"`` takes), torch's thread count, and the model loaded once per process.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from insar_ae.distributed.layout import Block
from insar_ae.distributed.store import OUTPUT_CUBES, write_region
from insar_ae.model.options import DenoiseOptions, merge

__all__ = [
    "BlockRun",
    "DatasetSource",
    "PathSource",
    "denoise_region",
    "is_lazy",
    "process_block",
    "set_worker_threads",
    "worker_index",
    "worker_model",
]

log = logging.getLogger(__name__)

# Per-process state of a worker (or of the process running blocks in-process).
_MODELS: dict[tuple[str, str, str | None], Any] = {}
_MODELS_LOCK = threading.Lock()
_THREADS_SET = False


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


# -- the worker process: its index (GPU), torch threads, the model cache ---------------------------
def worker_index() -> int:
    """This process's index among block-task workers, for ``resolve_device(device, index)``.

    On a LocalCluster the workers are named 0..n-1 and worker ``i`` takes GPU ``i % n_gpu``;
    a worker with another name (clusters that pin one GPU per worker with
    ``CUDA_VISIBLE_DEVICES``) and a block run in this process are 0.
    """
    try:
        from distributed import get_worker

        name = get_worker().name
    except (ImportError, ValueError):
        return 0
    return int(name) if str(name).lstrip("-").isdigit() else 0


def set_worker_threads() -> None:
    """On a Dask worker, give torch as many CPU threads as the worker has task threads.

    Dask's parallelism is across worker processes; torch's own thread pool on top of it (by
    default one thread per core in *every* worker) oversubscribes the CPU badly. Set
    ``INSAR_AE_TORCH_THREADS`` to override. Outside a worker, or after the first call, nothing
    is changed.
    """
    global _THREADS_SET
    if _THREADS_SET:
        return
    try:
        from distributed import get_worker

        nthreads = int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return
    import torch

    torch.set_num_threads(max(1, int(os.environ.get("INSAR_AE_TORCH_THREADS", nthreads))))
    _THREADS_SET = True


def worker_model(model: Any, device: str, sha256: str | None = None) -> Any:
    """The model to run here: ``model`` itself if it is a module (``denoise`` places it on
    ``device``), else ``load_model(model)`` loaded once per process, device and weights
    SHA-256 (cached). With ``sha256`` (the hash the run was planned with), weights that changed
    since are refused (WeightsError) rather than mixed into the output."""
    if not isinstance(model, str):
        return model
    key = (model, device, sha256)
    with _MODELS_LOCK:
        if key not in _MODELS:
            from insar_ae.errors import WeightsError
            from insar_ae.model import load_model

            loaded = load_model(model, device=device)
            got = getattr(loaded, "weights_sha256", None)
            if sha256 is not None and got != sha256:
                raise WeightsError(
                    f"weights {model!r} changed during the run: planned with "
                    f"sha256 {sha256}, found {got}; rerun to start again"
                )
            _MODELS[key] = loaded
        return _MODELS[key]


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid:{os.getpid()}"


# -- the task ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BlockRun:
    """What every block task of a run needs to denoise: the :class:`DenoiseOptions`, the
    module when one was given instead of ``options.model``, and the weights' SHA-256.

    ``module`` is a ``torch.nn.Module`` pickled into each task (keep it small, or register
    it); without one, ``options.model`` (a registered name or a weights path) is loaded once
    per worker.
    """

    options: DenoiseOptions = field(default_factory=DenoiseOptions)
    module: Any = None
    #: SHA-256 of the weights file behind ``options.model``, fixed when the run is planned
    #: (:meth:`pinned`); workers refuse other weights.
    model_sha256: str | None = None

    @classmethod
    def of(cls, options: DenoiseOptions | None = None, model: Any = None) -> BlockRun:
        """The run of ``options`` (None: the defaults) and an optional ``model``: a module, or
        a weights name/path replacing ``options.model``."""
        options = merge(options)
        if model is None:
            return cls(options)
        if isinstance(model, str | os.PathLike):
            return cls(options.replace(model=model))
        return cls(options, module=model)

    @property
    def model(self) -> Any:
        """The module if one was given, else the weights name/path of the options."""
        return self.options.model if self.module is None else self.module

    def pinned(self) -> BlockRun:
        """This run with ``model_sha256`` set from the weights file ``options.model`` points to
        now (a module is hashed in :meth:`identity`)."""
        if self.module is not None or self.model_sha256:
            return self
        from insar_ae.model.weights import resolve_entry, sha256_file

        path, _ = resolve_entry(self.options.model)
        return replace(self, model_sha256=sha256_file(path))

    def identity(self) -> dict[str, Any]:
        """JSON description for fingerprints: every option (``DenoiseOptions.identity``), the
        model by the SHA-256 of the weights that will run (a registry name or file is hashed
        now, so swapping the weights behind a name changes the fingerprint), and the package
        version."""
        from insar_ae import __version__

        d = self.options.identity()
        if self.module is None:
            d["model_sha256"] = self.pinned().model_sha256
        else:
            d["model"] = "module"
            d["model_sha256"] = _module_sha256(self.module)
        d["insar_ae_version"] = __version__
        return d


def _module_sha256(module: Any) -> str:
    h = hashlib.sha256(type(module).__name__.encode())
    for name, t in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return "sha256:" + h.hexdigest()


def denoise_region(sub: xr.Dataset, run: BlockRun) -> xr.Dataset:
    """Denoise one in-memory region with :func:`insar_ae.model.denoise`.

    Dates on which the region has no finite displacement at all (possible in a block although
    not in the whole frame, e.g. a burst missing over part of the frame) are left out of the
    model's input and come back NaN; a region with fewer usable dates than the model's minimum (``min_dates``), or
    none (sea, decorrelated area), is not sent to the model and comes back all NaN.
    """
    from insar_ae.model import denoise
    from insar_ae.model.devices import resolve_device

    finite = np.isfinite(sub["displacement"].values).any(axis=(1, 2))
    options = run.options
    if options.device == "auto":
        options = options.replace(device=str(resolve_device("auto", worker_index())))
    model = worker_model(run.model, options.device, run.model_sha256) if finite.any() else None
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
    if finite.all():
        return denoise(sub, options, model=model)
    # Rare: denoise only the dates holding data, put NaN back on the others.
    part = denoise(sub.isel(time=np.flatnonzero(finite)), options, model=model)
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
    run: BlockRun,
) -> dict[str, Any]:
    """Read, denoise, crop and write one block; mark it done. Runs on a worker.

    Returns a small record (block key, seconds, worker, attributes of the model output) so
    that nothing large travels back to the client.
    """
    t0 = time.perf_counter()
    set_worker_threads()
    sub = source.read(block)
    out = denoise_region(sub, run)
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
