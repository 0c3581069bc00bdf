"""The JSON-lines status log of a batch: one object per event, appended and fsync'ed."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["STATUS_FILE", "StatusLog", "now", "read_status"]

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
