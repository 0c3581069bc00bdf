"""Watching runs: the JSON-lines status log of a batch (one object per event, appended and
fsync'ed; written by ``run_batch``, read back by :func:`read_status`), and the peak resident
memory and CPU time of the worker processes of a local Dask cluster (psutil sampling)."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["STATUS_FILE", "StatusLog", "WorkerMemory", "now", "read_status"]


# -- the status log of a batch -------------------------------------------------------------------
STATUS_FILE = "status.jsonl"


def now() -> str:
    """Current UTC time, ISO-8601 to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class StatusLog:
    """Append-only writer of ``path`` (one JSON object per line, flushed and fsync'ed)."""

    def __init__(self, path: Path, run_id: str) -> None:
        self.path, self.run_id = path, run_id
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, **record: Any) -> None:
        record = {
            "frame": None,
            "status": None,
            "start": None,
            "end": None,
            "error": None,
            **record,
            "run": self.run_id,
        }
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())


def read_status(path: str | os.PathLike[str], *, latest: bool = True) -> pd.DataFrame:
    """The status log as a table (the last record of each frame when ``latest``).

    A torn last line (a run killed while writing) is ignored.
    """
    rows = []
    p = Path(path)
    if p.is_dir():
        p = p / STATUS_FILE
    if p.is_file():
        for line in p.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    df = pd.DataFrame(rows, columns=None if rows else ["frame", "status", "start", "end", "error"])
    if latest and len(df):
        df = df.groupby("frame", sort=False).tail(1).set_index("frame")
    return df


# -- memory and CPU of the workers ---------------------------------------------------------------
class WorkerMemory:
    """Sample the RSS of every worker process of ``client`` (same machine) in a thread.

    Use as a context manager; afterwards ``peak`` maps worker pid -> peak RSS (bytes),
    ``baseline`` pid -> RSS when sampling started, ``cpu_seconds`` pid -> CPU time (user +
    system) used while sampling. Workers started later (e.g. restarted after a crash) are
    picked up at each ``refresh_s``.
    """

    def __init__(self, client: Any, *, interval_s: float = 0.05, refresh_s: float = 1.0) -> None:
        self.client, self.interval_s, self.refresh_s = client, interval_s, refresh_s
        self.peak: dict[int, int] = {}
        self.baseline: dict[int, int] = {}
        self.cpu_seconds: dict[int, float] = {}
        self._cpu0: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pids: list[int] = []

    def _worker_pids(self) -> list[int]:
        try:
            return list(self.client.run(os.getpid).values())
        except Exception:  # workers restarting: keep the last known set
            return self._pids

    def _rss(self, pid: int) -> int | None:
        import psutil

        try:
            return int(psutil.Process(pid).memory_info().rss)
        except psutil.Error:
            return None

    def _cpu(self, pid: int) -> float | None:
        import psutil

        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.Error:
            return None
        return float(t.user + t.system)

    def __enter__(self) -> WorkerMemory:
        self._pids = self._worker_pids()
        for pid in self._pids:
            rss, cpu = self._rss(pid), self._cpu(pid)
            if rss is not None:
                self.baseline[pid] = self.peak[pid] = rss
            if cpu is not None:
                self._cpu0[pid] = cpu
        self._thread = threading.Thread(target=self._run, name="insar-ae-rss", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        last_refresh = time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() - last_refresh > self.refresh_s:
                self._pids = self._worker_pids()
                last_refresh = time.monotonic()
            for pid in self._pids:
                rss, cpu = self._rss(pid), self._cpu(pid)
                if rss is not None:
                    self.peak[pid] = max(self.peak.get(pid, 0), rss)
                    self.baseline.setdefault(pid, rss)
                if cpu is not None:
                    self._cpu0.setdefault(pid, cpu)
                    self.cpu_seconds[pid] = cpu - self._cpu0[pid]
            self._stop.wait(self.interval_s)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def total_cpu_seconds(self) -> float:
        """CPU time used by all the workers while sampling (s)."""
        return float(sum(self.cpu_seconds.values()))

    @property
    def max_peak(self) -> int:
        """Largest peak RSS of any worker (bytes)."""
        return max(self.peak.values(), default=0)

    @property
    def max_growth(self) -> int:
        """Largest peak minus start RSS of any worker (bytes)."""
        return max((p - self.baseline.get(pid, p) for pid, p in self.peak.items()), default=0)
