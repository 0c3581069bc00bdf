"""Atomic, non-clobbering writes.

Every writer in :mod:`insar_ae.io` (and the block-wise store of :mod:`insar_ae.distributed`)
goes through this module:

- :func:`check_output` refuses to write onto a file the dataset was read from (even with
  ``overwrite=True``): the output may not *be* an input (after resolving symlinks, or the same
  file through a hard link), nor *contain* one (a directory output such as Zarr would be
  replaced with everything inside it); it refuses to replace an existing output unless
  ``overwrite=True`` and reports a missing output folder;
- :func:`atomic_file` yields a temporary path in the destination's directory and moves it into
  place with :func:`os.replace` only when the body succeeded (readers never see half a file);
- :func:`atomic_dir` does the same for directory stores (Zarr): a temporary directory, then a
  rename (the previous directory, when overwriting, is moved aside first and deleted last);
- :func:`atomic_write_text` / :func:`atomic_write_bytes` write small state files (JSON)
  the same way.

Temporary names are ``.<stem>.<host>.<pid>.<hex>.tmp<suffix>``: an interrupted write
(``KeyboardInterrupt``, SIGTERM through the CLI's handler) removes its own temporary file; one
left by a killed process (SIGKILL, power loss) is removed by :func:`sweep_stale_temps` at the
next write to the same target from this host, once its process is gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import socket
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import xarray as xr

from insar_ae.errors import ParameterError

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

log = logging.getLogger(__name__)


class OutputExistsError(FileExistsError):
    """The output path exists and ``overwrite=True`` was not given."""


class OutputDirMissingError(ParameterError, FileNotFoundError):
    """The output's parent folder does not exist (nothing is created implicitly)."""


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


def check_not_input(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]], *,
                    role: str = "output") -> Path:
    """Raise ParameterError when writing ``path`` could modify one of ``inputs``.

    Refused: ``path`` is an input (symlinks resolved), is the same file as one (hard link), or
    is a folder holding one (replacing a directory store deletes what is inside). Returns
    ``path`` resolved.
    """
    out = Path(path).expanduser().resolve()
    for src in inputs:
        src_p = Path(src).expanduser()
        try:
            src_r = src_p.resolve()
        except (OSError, ValueError):
            continue
        why = None
        if src_r == out:
            why = "it is an input of this dataset"
        elif out in src_r.parents:
            why = f"it contains the input {src_r}"
        elif out.exists() and src_r.exists():
            with contextlib.suppress(OSError):
                if os.path.samefile(out, src_r):
                    why = f"it is the same file as the input {src_r} (hard link)"
        if why:
            raise ParameterError(f"refusing to write the {role} to {out}: {why}; inputs are "
                                 "never modified or deleted — choose another path")
    return out


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
        Writing ``path`` would modify one of ``inputs`` (see :func:`check_not_input`).
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.
    OutputDirMissingError
        The parent directory does not exist (a ``FileNotFoundError`` and a ``ParameterError``).
    """
    out = check_not_input(path, inputs, role=role)
    if not out.parent.is_dir():
        raise OutputDirMissingError(
            f"cannot write {role} {out}: directory {out.parent} does not exist (create it first)")
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise ParameterError(f"cannot write {role} {out}: directory {out.parent} is not writable")
    if out.exists() and not overwrite:
        raise OutputExistsError(
            f"{role} {out} already exists; pass overwrite=True (CLI: --overwrite) to replace it"
        )
    return out


# -- temporary names and their sweeping -------------------------------------------------------
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:32] or "host"


def _tmp_name(target: Path, kind: str = "tmp") -> Path:
    # Keep the suffix last so format drivers that look at it still work.
    return target.with_name(f".{target.stem}.{_HOST}.{os.getpid()}.{uuid.uuid4().hex[:12]}"
                            f".{kind}{target.suffix}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def sweep_stale_temps(target: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary files/folders of writes to ``target`` left by dead processes.

    Only names made by :func:`_tmp_name` for this target, on this host, whose process no longer
    runs, are removed (a concurrent writer's temporary file is left alone). Returns what was
    removed.
    """
    target = Path(target)
    pattern = re.compile(rf"^\.{re.escape(target.stem)}\.{re.escape(_HOST)}\.(\d+)\.[0-9a-f]{{12}}"
                         rf"\.(tmp|old){re.escape(target.suffix)}$")
    removed: list[Path] = []
    if not target.parent.is_dir():
        return removed
    for p in target.parent.iterdir():
        m = pattern.match(p.name)
        if m is None or _pid_alive(int(m.group(1))):
            continue
        with contextlib.suppress(OSError):
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            removed.append(p)
            log.warning("removed stale temporary file %s (left by a killed process)", p)
    return removed


@contextlib.contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; ``os.replace`` it onto ``target`` on success.

    The temporary file is removed on any exception, ``KeyboardInterrupt`` included.
    """
    target = Path(target)
    sweep_stale_temps(target)
    tmp = _tmp_name(target)
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
    sweep_stale_temps(target)
    tmp = _tmp_name(target)
    old = _tmp_name(target, "old")
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


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename); mode 0644."""
    path = Path(path)
    with atomic_file(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))
