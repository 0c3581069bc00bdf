"""Former home of the atomic writes, kept so that old imports keep working.

The one write path is :mod:`insar_ae.atomic` (and the errors are in :mod:`insar_ae.errors`);
nothing in the package imports this module any more. The old names ``atomic_file`` /
``atomic_dir`` / ``atomic_write_text`` / ``atomic_write_bytes`` replace an existing target,
as they always did (callers checked it with :func:`check_output` first).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from insar_ae.atomic import _HOST as _HOST  # re-exported (tests build stale temp names)
from insar_ae.atomic import (
    PathLike,
    atomic_path,
    check_not_input,
    check_output,
    input_paths,
    sweep_stale_temps,
    write_bytes,
    write_text,
)
from insar_ae.errors import OutputDirMissingError, OutputExistsError

__all__ = [
    "OutputDirMissingError",
    "OutputExistsError",
    "atomic_dir",
    "atomic_file",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_not_input",
    "check_output",
    "input_paths",
    "sweep_stale_temps",
]


@contextlib.contextmanager
def atomic_file(target: PathLike) -> Iterator[Path]:
    """:func:`insar_ae.atomic.atomic_path` with ``overwrite=True`` (files and directories)."""
    with atomic_path(target, overwrite=True) as tmp:
        yield tmp


atomic_dir = atomic_file


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    """:func:`insar_ae.atomic.write_bytes` with ``overwrite=True``."""
    return write_bytes(path, data, overwrite=True)


def atomic_write_text(path: PathLike, text: str) -> Path:
    """:func:`insar_ae.atomic.write_text` with ``overwrite=True``."""
    return write_text(path, text, overwrite=True)
