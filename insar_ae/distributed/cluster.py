"""Dask clusters for insar_ae, client side: a LocalCluster (one GPU per worker where CUDA
exists) or an existing scheduler, the workers' GPU resources, and preloading the workers.

What lives in a worker process (its index and GPU, torch threads, the model cache) is
:mod:`insar_ae.distributed.task`'s."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from insar_ae.errors import ParameterError

__all__ = [
    "gpu_resources",
    "make_client",
    "preload_workers",
    "workers_info",
]

log = logging.getLogger(__name__)


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


def _preload() -> None:
    import torch  # noqa: F401
    import xarray  # noqa: F401
    import zarr  # noqa: F401

    import insar_ae.distributed.task
    import insar_ae.model  # noqa: F401


def preload_workers(client: Any) -> None:
    """Import torch, the model and the I/O stack on every worker now (not in the first task),
    e.g. before measuring memory or throughput."""
    client.run(_preload)
