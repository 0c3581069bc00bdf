"""Drive block-wise denoising, client side: one frame (:func:`denoise_blocks`) or many frames
sharing a cluster (:func:`run_batch`), both through :class:`FrameRun` (one frame's plan,
partial store and atomic finish) and one submit / ``as_completed`` loop (:class:`_Tasks`).

**One frame**, larger than memory, streamed to Zarr, on Dask or in-process. It is cut into
spatial blocks of about ``block`` x ``block`` pixels (:mod:`insar_ae.distributed.layout`).
Each block is read *with a halo* (by default the one that makes the result identical to
whole-frame denoising), denoised by the one and only implementation,
:func:`insar_ae.model.denoise` (its spatial tiling and temporal stitching run inside the
block, over all dates), cropped back to the block core and written into its region of the
output Zarr store as soon as it is done. Peak memory per worker is therefore set by
``(block + halos)^2 x n_dates``, not by the frame.

**Many frames** (``insar-ae batch CATALOG_OR_GLOB --out DIR``): every frame is cut into blocks
and all blocks of the frames in flight share the cluster. Each frame's output
``DIR/<frame>.zarr`` appears only when complete (temp store, then an atomic rename), so:

- a rerun skips frames whose output exists (and was made with the same parameters);
- a frame that failed or was interrupted is redone, resuming from its finished blocks;
- a killed run loses nothing that was done.

A JSON-lines status log (``DIR/status.jsonl``, appended, one object per event) records for each
frame ``frame``, ``status`` (``started``/``done``/``failed``/``skipped``), ``start``, ``end``
(ISO-8601 UTC), ``error`` (``null`` unless failed) plus ``output``, ``blocks``, ``seconds``
and the ``run`` id.

The pieces: :mod:`~insar_ae.distributed.layout` (blocks and halos),
:mod:`~insar_ae.distributed.task` (the block task and the worker process's state),
:mod:`~insar_ae.distributed.store` (the partial store and its atomic finish),
:mod:`~insar_ae.distributed.discover` (a batch's frames), :mod:`~insar_ae.distributed.monitor`
(the status log), :mod:`~insar_ae.distributed.cluster` (the client).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from insar_ae.distributed.cluster import gpu_resources, make_client, workers_info
from insar_ae.distributed.discover import FrameSpec, discover_frames
from insar_ae.distributed.layout import Block, effective_block, plan_blocks
from insar_ae.distributed.monitor import STATUS_FILE, StatusLog, now
from insar_ae.distributed.store import PartialStore, output_template
from insar_ae.distributed.task import BlockRun, DatasetSource, PathSource, is_lazy, process_block
from insar_ae.errors import ParameterError
from insar_ae.model.options import DenoiseOptions

__all__ = ["FrameRun", "denoise_blocks", "run_batch"]

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


# -- one frame's run: plan, partial store, finish --------------------------------------------------
class FrameRun:
    """Plan, run and finish the block-wise denoising of one frame into one Zarr store.

    Used by :func:`denoise_blocks` (one frame) and :func:`run_batch` (many frames sharing a
    cluster). Call :meth:`prepare`, run :func:`process_block` with :meth:`task_args` for each
    pending block (anywhere), feed results to :meth:`record`, then :meth:`finish`.
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


# -- block tasks on a Dask client: the one submit / as_completed loop ------------------------------
class _Tasks:
    """Block tasks on a Dask client and the one loop over them as they finish: the submit /
    ``as_completed`` loop of both :func:`denoise_blocks` and :func:`run_batch`.

    :meth:`submit` sends :func:`~insar_ae.distributed.task.process_block` (``pure=False``, with
    ``{"GPU": 1}`` where a worker offers a GPU, ``retries`` extra attempts of a task that
    raised), under ``group`` (a frame's name in a batch). :meth:`finished` yields
    ``(group, future)`` as tasks finish, failed or not (``future.result()`` raises a task's
    error), skipping the tasks of a :meth:`drop`-ped group; once ``cancel`` is set it raises
    ``insar_ae.errors.Cancelled`` at the next finished task. Leaving the ``with`` block on any
    exception (a task's error, ``Cancelled``, Ctrl-C) cancels every task still pending and the
    one being handled (releasing its result on the cluster).
    """

    def __init__(
        self, client: Any, *, retries: int = 0, cancel: threading.Event | None = None
    ) -> None:
        from distributed import as_completed

        self.client, self.retries, self.cancel = client, retries, cancel
        self.resources = gpu_resources(client)
        self._ac = as_completed([], loop=client.loop)
        self._groups: dict[str, dict[str, Any]] = {}  # group -> {future key: future}
        self._group_of: dict[str, str] = {}  # future key -> group
        self._current: Any = None  # the future being handled by the caller of finished()

    def __enter__(self) -> _Tasks:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:  # the task being handled too: its result is released
            pending = [f for futs in self._groups.values() for f in futs.values()]
            self.client.cancel([*pending, *([] if self._current is None else [self._current])])

    def submit(self, args: tuple[Any, ...], *, key: str, group: str = "") -> None:
        """Submit ``process_block(*args)`` as task ``key``."""
        fut = self.client.submit(
            process_block,
            *args,
            key=key,
            pure=False,
            resources=self.resources,
            retries=self.retries,
        )
        self._groups.setdefault(group, {})[fut.key] = fut
        self._group_of[fut.key] = group
        self._ac.add(fut)

    def pending(self, group: str = "") -> int:
        """Tasks of ``group`` not yet yielded by :meth:`finished`."""
        return len(self._groups.get(group, ()))

    def drop(self, group: str) -> None:
        """Cancel the pending tasks of ``group``; :meth:`finished` skips them."""
        futures = self._groups.pop(group, {})
        self.client.cancel(list(futures.values()))
        for key in futures:
            self._group_of.pop(key, None)

    def finished(self) -> Iterator[tuple[str, Any]]:
        """``(group, future)`` of each task as it finishes (dropped groups left out)."""
        for fut in self._ac:
            group = self._group_of.get(fut.key)
            if group is None:
                continue  # a cancelled task of a dropped group
            _check_cancel(self.cancel)
            del self._group_of[fut.key]
            futures = self._groups[group]
            del futures[fut.key]  # release the task (and its arguments) on the cluster
            if not futures:
                del self._groups[group]
            self._current = fut
            yield group, fut
            self._current = None


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        from insar_ae.errors import Cancelled

        raise Cancelled("denoise_blocks cancelled; finished blocks are kept for resume=True")


# -- one frame: denoise_blocks ---------------------------------------------------------------------
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
        tag = uuid.uuid4().hex[:8]
        with _Tasks(client, retries=retries, cancel=cancel) as tasks:
            for b in pending:
                tasks.submit(run.task_args(b), key=f"insar-block-{b.key}-{tag}")
            for _, fut in tasks.finished():
                run.record(fut.result())
                n_done += 1
                report(n_done)
    path = run.finish()
    report(total, f", written {path}")
    return _open_output(path)


def _default_client() -> Any:
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def _open_output(path: Path) -> xr.Dataset:
    from insar_ae.io import open_frame

    return open_frame(path, format="zarr")


# -- many frames: run_batch ------------------------------------------------------------------------
@dataclass
class _InFlight:
    spec: FrameSpec
    run: FrameRun
    start: str
    t0: float
    n_blocks: int


def run_batch(
    frames: str | Sequence[FrameSpec],
    out_dir: str | os.PathLike[str],
    options: DenoiseOptions | None = None,
    *,
    model: Any = None,
    client: Any = None,
    scheduler: str = "local",
    workers: int | None = None,
    threads_per_worker: int = 1,
    memory_limit: str | int | None = "auto",
    block: int = 512,
    halo: int | str = "auto",
    retries: int = 0,
    overwrite: bool = False,
    select: str | None = None,
    max_frames_in_flight: int | None = None,
    progress: bool | Callable[[float, str], None] = True,
    status_file: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Denoise many frames on a Dask cluster into ``out_dir/<frame>.zarr``.

    Parameters
    ----------
    frames
        A catalog/glob spec (see :func:`discover_frames`) or a list of :class:`FrameSpec`.
    out_dir
        Output directory (shared by client and workers); holds ``status.jsonl``.
    options, model
        :class:`insar_ae.model.DenoiseOptions` and an optional loaded model, as
        :func:`insar_ae.distributed.denoise_blocks`.
    client
        A ``distributed.Client``; ``None`` connects per ``scheduler`` (``"local"`` starts a
        LocalCluster of ``workers`` processes, closed at the end; an address connects to it).
    block, halo, retries
        As :func:`insar_ae.distributed.denoise_blocks`.
    overwrite
        Redo frames whose output exists (default: skip them).
    max_frames_in_flight
        Frames opened and submitted at once (default 2 x workers): bounds client memory.
    progress
        ``True`` for a tqdm bar on stderr, ``False`` for none, or ``progress(fraction, msg)``.
    status_file
        Status log path (default ``out_dir/status.jsonl``).

    Returns
    -------
    pandas.DataFrame
        One row per frame of this run (index ``frame``): status, start, end, error, output.
    """
    specs = discover_frames(frames, select=select) if isinstance(frames, str) else list(frames)
    out_dir = Path(out_dir).absolute()
    out_dir.mkdir(parents=True, exist_ok=True)
    status = StatusLog(
        Path(status_file) if status_file else out_dir / STATUS_FILE, uuid.uuid4().hex[:12]
    )
    run = BlockRun.of(options, model)
    own_client = client is None
    cluster = None
    if own_client:
        client, cluster = make_client(
            scheduler,
            workers=workers,
            threads_per_worker=threads_per_worker,
            memory_limit=memory_limit,
        )
    try:
        return _Batch(
            client,
            specs,
            out_dir,
            status,
            run,
            block=block,
            halo=halo,
            retries=retries,
            overwrite=overwrite,
            progress=progress,
            max_in_flight=max_frames_in_flight,
        ).run()
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()


class _Batch:
    """The scheduling loop of :func:`run_batch` (client side)."""

    def __init__(
        self,
        client: Any,
        specs: list[FrameSpec],
        out_dir: Path,
        status: StatusLog,
        run: BlockRun,
        *,
        block: int,
        halo: int,
        retries: int,
        overwrite: bool,
        progress: bool | Callable[[float, str], None],
        max_in_flight: int | None,
    ) -> None:
        self.client, self.specs, self.out_dir, self.status = client, specs, out_dir, status
        self.block_run, self.block, self.halo = run, block, halo
        self.retries, self.overwrite = retries, overwrite
        n_workers = max(1, len(workers_info(client)))
        self.max_in_flight = max_in_flight or max(2, 2 * n_workers)
        self.results: dict[str, dict[str, Any]] = {}
        self.flight: dict[str, _InFlight] = {}
        self.tasks: _Tasks  # set by run()
        self.bar = None
        self.callback = progress if callable(progress) else None
        if progress is True:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=len(specs), desc="frames", unit="frame")

    def run(self) -> pd.DataFrame:
        queue = list(self.specs)
        with _Tasks(self.client, retries=self.retries) as self.tasks:
            self._fill(queue)
            for name, fut in self.tasks.finished():  # a failed frame's blocks are skipped
                fl = self.flight.get(name)
                if fl is None:
                    continue
                if fut.status == "finished":
                    fl.run.record(fut.result())
                    if not self.tasks.pending(name):
                        self._finish(fl)
                else:
                    self._fail(fl, _describe(fut))
                self._fill(queue)
        if self.bar is not None:
            self.bar.close()
        rows = [self.results[s.name] for s in self.specs]
        columns = ["frame", "status", "start", "end", "error", "output"]
        return pd.DataFrame(rows, columns=None if rows else columns).set_index("frame")

    def _fill(self, queue: list[FrameSpec]) -> None:
        while queue and len(self.flight) < self.max_in_flight:
            spec = queue.pop(0)
            out = self.out_dir / f"{spec.name}.zarr"
            if out.exists() and not self.overwrite:
                self._skip(spec, out)
                continue
            start, t0 = now(), time.perf_counter()
            try:
                run = FrameRun(
                    spec.data(),
                    out,
                    block=self.block,
                    halo=self.halo,
                    run=self.block_run,
                    overwrite=self.overwrite,
                )
                pending = run.prepare()
            except Exception as exc:  # a bad frame fails alone, the batch goes on
                log.warning("frame %s failed to open: %s", spec.name, exc)
                self._record(
                    spec.name,
                    "failed",
                    start,
                    error=f"{type(exc).__name__}: {exc}",
                    output=os.fspath(out),
                )
                continue
            fl = _InFlight(spec, run, start, t0, len(run.blocks))
            self.flight[spec.name] = fl
            self.status.write(
                frame=spec.name,
                status="started",
                start=start,
                output=os.fspath(out),
                blocks=len(run.blocks),
                blocks_pending=len(pending),
            )
            for b in pending:
                self.tasks.submit(
                    run.task_args(b),
                    key=f"insar-block-{spec.name}-{b.key}-{uuid.uuid4().hex[:6]}",
                    group=spec.name,
                )
            if not pending:  # everything was done by an interrupted run
                self._finish(fl)

    def _finish(self, fl: _InFlight) -> None:
        try:
            path = fl.run.finish()
        except Exception as exc:
            self._fail(fl, f"{type(exc).__name__}: {exc}")
            return
        self.flight.pop(fl.spec.name, None)
        self._record(
            fl.spec.name,
            "done",
            fl.start,
            output=os.fspath(path),
            blocks=fl.n_blocks,
            seconds=round(time.perf_counter() - fl.t0, 3),
        )

    def _fail(self, fl: _InFlight, error: str) -> None:
        self.tasks.drop(fl.spec.name)
        self.flight.pop(fl.spec.name, None)
        log.warning("frame %s failed: %s", fl.spec.name, error)
        self._record(
            fl.spec.name,
            "failed",
            fl.start,
            error=error,
            output=os.fspath(fl.run.out),
            blocks=fl.n_blocks,
            seconds=round(time.perf_counter() - fl.t0, 3),
        )

    def _skip(self, spec: FrameSpec, out: Path) -> None:
        stamp = now()
        previous = _output_options(out)
        if previous is not None and previous != self.block_run.identity():
            self._record(
                spec.name,
                "failed",
                stamp,
                error=(
                    f"output {out} exists but was made with other parameters {previous}; "
                    "rerun with --overwrite to redo it"
                ),
                output=os.fspath(out),
            )
            return
        self._record(
            spec.name, "skipped", stamp, output=os.fspath(out), reason="output exists (complete)"
        )

    def _record(self, name: str, status: str, start: str, **extra: Any) -> None:
        rec = {
            "frame": name,
            "status": status,
            "start": start,
            "end": now(),
            "error": extra.pop("error", None),
            **extra,
        }
        self.status.write(**rec)
        self.results[name] = rec
        n = len(self.results)
        if self.bar is not None:
            self.bar.update(1)
            failed = sum(r["status"] == "failed" for r in self.results.values())
            self.bar.set_postfix(failed=failed)
        if self.callback is not None:
            self.callback(n / max(1, len(self.specs)), f"{name}: {status}")


def _output_options(out: Path) -> dict[str, Any] | None:
    """The denoise options recorded in an existing output (``None`` if not recorded)."""
    try:
        import zarr

        raw = zarr.open_group(os.fspath(out), mode="r").attrs.get("insar_ae_denoise")
        return json.loads(raw) if raw else None
    except Exception:  # unreadable output: treat as unknown provenance
        return None


def _describe(fut: Any) -> str:
    if fut.status == "cancelled":
        return "CancelledError: block task cancelled"
    try:
        exc = fut.exception()
    except Exception as e:  # pragma: no cover - defensive
        exc = e
    return f"{type(exc).__name__}: {exc}"
