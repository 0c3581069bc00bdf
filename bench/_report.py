"""Shared by the bench scripts: append a measured section to bench/results/<topic>.md atomically."""

from __future__ import annotations

import os
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
