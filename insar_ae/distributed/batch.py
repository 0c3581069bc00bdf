"""Denoise many frames on a Dask cluster (``insar-ae batch CATALOG_OR_GLOB --out DIR``).

Every frame is cut into blocks (:mod:`insar_ae.distributed.blocks`) and all blocks of the
frames in flight share the cluster. Each frame's output ``DIR/<frame>.zarr`` appears only when
complete (temp store, then an atomic rename), so:

- a rerun skips frames whose output exists (and was made with the same parameters);
- a frame that failed or was interrupted is redone, resuming from its finished blocks;
- a killed run loses nothing that was done.

A JSON-lines status log (``DIR/status.jsonl``, appended, one object per event) records for each
frame ``frame``, ``status`` (``started``/``done``/``failed``/``skipped``), ``start``, ``end``
(ISO-8601 UTC), ``error`` (``null`` unless failed) plus ``output``, ``blocks``, ``seconds``
and the ``run`` id.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from insar_ae.distributed.cluster import gpu_resources, make_client, workers_info
from insar_ae.distributed.discover import FrameSpec, discover_frames
from insar_ae.distributed.frame import FrameRun
from insar_ae.distributed.monitor import STATUS_FILE, StatusLog, now
from insar_ae.distributed.task import BlockRun, process_block
from insar_ae.model.options import DenoiseOptions

__all__ = ["run_batch"]

log = logging.getLogger(__name__)


# -- the run ------------------------------------------------------------------------------------
@dataclass
class _InFlight:
    spec: FrameSpec
    run: FrameRun
    start: str
    t0: float
    futures: dict[str, Any]
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
        self.resources = gpu_resources(client)
        self.results: dict[str, dict[str, Any]] = {}
        self.flight: dict[str, _InFlight] = {}
        self.owner: dict[str, str] = {}  # future key -> frame name
        self.bar = None
        self.callback = progress if callable(progress) else None
        if progress is True:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=len(specs), desc="frames", unit="frame")

    def run(self) -> pd.DataFrame:
        from distributed import as_completed

        queue = list(self.specs)
        ac = as_completed([], loop=self.client.loop)
        self._fill(queue, ac)
        for fut in ac:
            name = self.owner.pop(fut.key, None)
            if name is None or name not in self.flight:
                continue  # a cancelled block of a frame that already failed
            fl = self.flight[name]
            fl.futures.pop(fut.key, None)
            if fut.status == "finished":
                fl.run.record(fut.result())
                if not fl.futures:
                    self._finish(fl)
            else:
                self._fail(fl, _describe(fut))
            self._fill(queue, ac)
        if self.bar is not None:
            self.bar.close()
        rows = [self.results[s.name] for s in self.specs]
        columns = ["frame", "status", "start", "end", "error", "output"]
        return pd.DataFrame(rows, columns=None if rows else columns).set_index("frame")

    def _fill(self, queue: list[FrameSpec], ac: Any) -> None:
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
            fl = _InFlight(spec, run, start, t0, {}, len(run.blocks))
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
                fut = self.client.submit(
                    process_block,
                    *run.task_args(b),
                    pure=False,
                    key=f"insar-block-{spec.name}-{b.key}-{uuid.uuid4().hex[:6]}",
                    resources=self.resources,
                    retries=self.retries,
                )
                fl.futures[fut.key] = fut
                self.owner[fut.key] = spec.name
                ac.add(fut)
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
        self.client.cancel(list(fl.futures.values()))
        for key in fl.futures:
            self.owner.pop(key, None)
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
