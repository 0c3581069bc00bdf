"""Shared by the bench scripts: append a measured section to bench/results/<topic>.md atomically;
name the machine's CPU."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def append_section(topic: str, text: str, title: str) -> Path:
    """Append ``text`` to ``results/<topic>.md`` (created with ``title`` if new); temp file + rename."""
    out = RESULTS / f"{topic}.md"
    prev = out.read_text() if out.exists() else f"# {title}\n\n"
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(prev.rstrip() + "\n\n" + text + "\n")
    os.replace(tmp, out)
    return out


def cpu_model() -> str:
    """The CPU's model name (``lscpu``), for the machine line of a results section."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(
            ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Model name")
        )
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or "unknown"
