"""Atomic, non-clobbering writes.

Every writer in :mod:`insar_ae.io` goes through this module:

- :func:`check_output` refuses to write onto a file the dataset was read from (even with
  ``overwrite=True``) and refuses to replace an existing output unless ``overwrite=True``;
- :func:`atomic_file` yields a temporary path in the destination's directory and moves it into
  place with :func:`os.replace` only when the body succeeded (readers never see half a file);
- :func:`atomic_dir` does the same for directory stores (Zarr): a temporary directory, then a
  rename (the previous directory, when overwriting, is moved aside first and deleted last).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import xarray as xr

from insar_ae.errors import ParameterError

__all__ = [
    "OutputExistsError",
    "atomic_dir",
    "atomic_file",
    "check_output",
    "input_paths",
]


class OutputExistsError(FileExistsError):
    """The output path exists and ``overwrite=True`` was not given."""


def input_paths(ds: xr.Dataset) -> set[Path]:
    """Resolved paths of the files ``ds`` was read from.

    Looks at every dataset attribute whose name ends in ``source`` (``source``,
    ``height_source``, ``mask_source``, ...; ``;``-separated lists allowed) and at the
    ``encoding["source"]`` xarray keeps for the dataset and each variable.
    """
    found: set[Path] = set()
    candidates: list[str] = []
    for key, value in ds.attrs.items():
        if str(key).endswith("source") and isinstance(value, str):
            candidates.extend(v.strip() for v in value.split(";"))
    for obj in (ds, *ds.variables.values()):
        src = getattr(obj, "encoding", {}).get("source")
        if isinstance(src, str):
            candidates.append(src)
    for cand in candidates:
        if not cand or "://" in cand or cand.startswith("insar_ae."):
            continue
        with contextlib.suppress(OSError, ValueError):
            found.add(Path(cand).expanduser().resolve())
    return found


def check_output(
    path: str | os.PathLike[str],
    *,
    overwrite: bool,
    inputs: Iterable[Path] = (),
    role: str = "output",
) -> Path:
    """Validate an output path and return it resolved.

    Raises
    ------
    ParameterError
        ``path`` is one of ``inputs`` (the files the data were read from); never allowed.
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.
    FileNotFoundError
        The parent directory does not exist.
    """
    out = Path(path).expanduser().resolve()
    if out in set(inputs):
        raise ParameterError(
            f"refusing to write the {role} to {out}: it is an input of this dataset "
            "(its 'source'); inputs are never modified — choose another path"
        )
    if not out.parent.is_dir():
        raise FileNotFoundError(f"cannot write {role} {out}: directory {out.parent} does not exist")
    if out.exists() and not overwrite:
        raise OutputExistsError(
            f"{role} {out} already exists; pass overwrite=True to replace it"
        )
    return out


def _tmp_name(target: Path) -> Path:
    # Keep the suffix last so format drivers that look at it still work.
    return target.with_name(f".{target.stem}.{uuid.uuid4().hex[:12]}.tmp{target.suffix}")


@contextlib.contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; ``os.replace`` it onto ``target`` on success."""
    tmp = _tmp_name(Path(target))
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary directory path beside ``target``; rename it to ``target`` on success.

    The yielded path does not exist yet (writers such as ``to_zarr`` create it). When
    ``target`` exists (overwrite), it is renamed aside first and removed after the swap.
    """
    target = Path(target)
    tmp = _tmp_name(target)
    old = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.old")
    try:
        yield tmp
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old.exists():
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
