"""Dask clusters for insar_ae: a LocalCluster (one GPU per worker where CUDA exists) or an
existing scheduler, the worker's index (its GPU, via ``insar_ae.model.devices.resolve_device``)
and the per-worker model cache."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from insar_ae.errors import ParameterError

__all__ = [
    "gpu_resources",
    "make_client",
    "preload_workers",
    "set_worker_threads",
    "worker_index",
    "worker_model",
    "workers_info",
]

log = logging.getLogger(__name__)

_MODELS: dict[tuple[str, str], Any] = {}
_MODELS_LOCK = threading.Lock()
_THREADS_SET = False


def _cuda_count() -> int:
    from insar_ae.model.devices import cuda_count

    return cuda_count()


def make_client(
    scheduler: str = "local",
    *,
    workers: int | None = None,
    threads_per_worker: int = 1,
    memory_limit: str | int | float | None = "auto",
    host: str = "127.0.0.1",
    dashboard_address: str | None = None,
) -> tuple[Any, Any]:
    """Connect to a Dask cluster; return ``(client, cluster)``.

    Parameters
    ----------
    scheduler
        ``"local"``: start a ``LocalCluster`` of worker processes bound to ``host``;
        otherwise the address of a running scheduler (``tcp://host:8786``), then ``cluster`` is
        ``None`` and ``workers``/``memory_limit`` are ignored (the cluster owns them).
    workers
        Local workers. Default: one per visible CUDA GPU, else one per CPU core.
    threads_per_worker
        Threads per local worker (1 is best for torch inference).
    memory_limit
        Per-worker memory limit of the local cluster (bytes or "2GiB"; "auto" = RAM / workers).
    dashboard_address
        ``None`` (default) starts no dashboard; e.g. ``"127.0.0.1:8787"`` starts one.

    When CUDA is visible each local worker advertises the resource ``{"GPU": 1}`` and block
    tasks ask for it, so each GPU runs one block at a time.
    """
    from distributed import Client, LocalCluster

    if scheduler != "local":
        if "://" not in scheduler and ":" not in scheduler:
            raise ParameterError(
                f"scheduler must be 'local' or an address like 'tcp://host:8786', got {scheduler!r}"
            )
        return Client(scheduler), None
    n_gpu = _cuda_count()
    if workers is None:
        workers = n_gpu or (os.cpu_count() or 1)
    if workers < 1:
        raise ParameterError(f"workers must be >= 1, got {workers}")
    if threads_per_worker < 1:
        raise ParameterError(f"threads_per_worker must be >= 1, got {threads_per_worker}")
    kw: dict[str, Any] = {}
    if n_gpu:
        kw["resources"] = {"GPU": 1}
        if workers > n_gpu:
            log.warning(
                "%d workers for %d GPUs: GPUs are shared (resource GPU=1 per worker)",
                workers,
                n_gpu,
            )
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        memory_limit=memory_limit,
        host=host,
        dashboard_address=dashboard_address,
        **kw,
    )
    return Client(cluster), cluster


def workers_info(client: Any) -> Mapping[str, Any]:
    """``{address: info}`` of *all* the workers of ``client`` (not only the first few)."""
    import inspect

    if "n_workers" in inspect.signature(client.scheduler_info).parameters:
        return client.scheduler_info(n_workers=-1).get("workers", {})
    return client.scheduler_info().get("workers", {})


def gpu_resources(client: Any) -> dict[str, float] | None:
    """``{"GPU": 1}`` when some worker of ``client`` advertises a GPU resource, else ``None``."""
    if any(w.get("resources", {}).get("GPU", 0) >= 1 for w in workers_info(client).values()):
        return {"GPU": 1}
    return None


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


def _preload() -> None:
    import torch  # noqa: F401
    import xarray  # noqa: F401
    import zarr  # noqa: F401

    import insar_ae.distributed.blocks
    import insar_ae.model  # noqa: F401


def preload_workers(client: Any) -> None:
    """Import torch, the model and the I/O stack on every worker now (not in the first task),
    e.g. before measuring memory or throughput."""
    client.run(_preload)


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
