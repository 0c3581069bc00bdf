"""Block-wise denoising of frames larger than memory, streamed to Zarr, on Dask or in-process.

A frame is cut into spatial blocks of about ``block`` x ``block`` pixels
(:mod:`insar_ae.distributed.layout`). Each block is read *with a halo* (by default the one
that makes the result identical to whole-frame denoising), denoised by the one and only
implementation, :func:`insar_ae.model.denoise` (its spatial tiling and temporal stitching run
inside the block, over all dates), cropped back to the block core and written into its region
of the output Zarr store as soon as it is done. Peak memory per worker is therefore set by
``(block + halos)^2 x n_dates``, not by the frame.

The pieces: :mod:`~insar_ae.distributed.layout` (blocks and halos),
:mod:`~insar_ae.distributed.task` (the block task), :mod:`~insar_ae.distributed.frame` (one
frame's run), :mod:`~insar_ae.distributed.store` (the partial store and its atomic finish).
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from insar_ae.distributed.cluster import gpu_resources
from insar_ae.distributed.frame import FrameRun
from insar_ae.distributed.layout import Block
from insar_ae.distributed.task import BlockRun, process_block
from insar_ae.model.options import DenoiseOptions

__all__ = ["denoise_blocks"]

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


# -- public entry point ------------------------------------------------------------------------------
def denoise_blocks(
    data: xr.Dataset | str | os.PathLike[str],
    out: str | os.PathLike[str],
    options: DenoiseOptions | None = None,
    *,
    model: Any = None,
    block: int = 512,
    halo: int | str = "auto",
    client: Any = None,
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
    options
        :class:`insar_ae.model.DenoiseOptions`, as for :func:`insar_ae.model.denoise` (None:
        the defaults); ``device="auto"`` gives each Dask worker its GPU.
    model
        A loaded model (``torch.nn.Module``, pickled into each task) used instead of
        ``options.model``, or a weights name/path replacing it.
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
    run = FrameRun(
        data,
        out,
        block=block,
        halo=halo,
        run=BlockRun.of(options, model),
        overwrite=overwrite,
        resume=resume,
        format=format,
    )
    pending = run.prepare()
    total, n_done = len(run.blocks), len(run.blocks) - len(pending)
    client = _default_client() if client is None else (client or None)
    log.info(
        "denoise_blocks %s: %d blocks (%d pending) on %s",
        run.out,
        total,
        len(pending),
        "dask" if client is not None else "this process",
    )

    def report(done: int, msg: str = "") -> None:
        if progress is not None:
            progress(done / total, f"{done}/{total} blocks{msg}")

    report(n_done)
    if client is None:
        for b in pending:
            _check_cancel(cancel)
            run.record(process_block(*run.task_args(b)))
            n_done += 1
            report(n_done)
    else:
        _run_on_client(client, run, pending, n_done, report, cancel, retries)
    path = run.finish()
    report(total, f", written {path}")
    return _open_output(path)


def _run_on_client(
    client: Any,
    run: FrameRun,
    pending: Sequence[Block],
    n_done: int,
    report: Callable[[int], None],
    cancel: threading.Event | None,
    retries: int,
) -> None:
    from distributed import as_completed

    resources = gpu_resources(client)
    tag = uuid.uuid4().hex[:8]
    futures = {}
    for b in pending:
        fut = client.submit(
            process_block,
            *run.task_args(b),
            key=f"insar-block-{b.key}-{tag}",
            pure=False,
            resources=resources,
            retries=retries,
        )
        futures[fut.key] = fut
    try:
        for fut in as_completed(list(futures.values()), loop=client.loop):
            _check_cancel(cancel)
            run.record(fut.result())
            del futures[fut.key]  # release the task (and its arguments) on the cluster
            n_done += 1
            report(n_done)
    except BaseException:
        client.cancel(list(futures.values()))
        raise


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        from insar_ae.errors import Cancelled

        raise Cancelled("denoise_blocks cancelled; finished blocks are kept for resume=True")


def _default_client() -> Any:
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def _open_output(path: Path) -> xr.Dataset:
    from insar_ae.io import open_frame

    return open_frame(path, format="zarr")
