"""The one write path of insar_ae: atomic, non-clobbering writes of final paths.

Every final path the package writes (frames in :mod:`insar_ae.io`, the block-wise store of
:mod:`insar_ae.distributed` and its state files, weights and registry, training checkpoints,
figures, the dashboard's cached results and exports) goes through this module:

- :func:`check_output` is the one "may this path be written?" check: the output may not *be*
  an input (after resolving symlinks, or the same file through a hard link), nor *contain* one
  (a directory output such as Zarr would be replaced with everything inside it), even with
  ``overwrite=True``; an existing output is refused (:class:`~insar_ae.errors.OutputExistsError`)
  unless ``overwrite=True``; a missing output folder is reported;
- :func:`atomic_path` yields a hidden temporary path beside the target (a file or a directory:
  the body creates it) and moves it onto the target only when the body succeeded, so readers
  never see half a file; :func:`move_into_place` does that last step for a file or directory
  built elsewhere on the same file system (the block-wise store);
- :func:`write_text` / :func:`write_bytes` write small files (JSON, weights) the same way.

Temporary names are ``.<stem>.<host>.<pid>.<hex>.tmp<suffix>`` (``.old`` for a directory moved
aside while it is replaced): an interrupted write (``KeyboardInterrupt``, SIGTERM through the
CLI's handler) removes its own temporary; one left by a killed process (SIGKILL, power loss) is
removed by :func:`sweep_stale_temps` at the next write to the same target from this host, once
its process is gone. Standard library only, so any module may import it.
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
from typing import TYPE_CHECKING

from insar_ae.errors import OutputDirMissingError, OutputExistsError, ParameterError

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "OutputDirMissingError",
    "OutputExistsError",
    "atomic_path",
    "check_not_input",
    "check_output",
    "input_paths",
    "move_into_place",
    "sweep_stale_temps",
    "write_bytes",
    "write_text",
]

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


# -- may this path be written? ----------------------------------------------------------------
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


def check_not_input(path: PathLike, inputs: Iterable[PathLike], *, role: str = "output") -> Path:
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
            raise ParameterError(
                f"refusing to write the {role} to {out}: {why}; inputs are "
                "never modified or deleted — choose another path"
            )
    return out


def _refuse_existing(target: Path, *, overwrite: bool, role: str, why: str) -> None:
    """Raise OutputExistsError when ``target`` exists and ``overwrite`` is false."""
    if not overwrite and target.exists():
        raise OutputExistsError(
            f"{role} {target} {why}; pass overwrite=True (CLI: --overwrite) to replace it"
        )


def check_output(
    path: PathLike,
    *,
    overwrite: bool,
    inputs: Iterable[PathLike] = (),
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
            f"cannot write {role} {out}: directory {out.parent} does not exist (create it first)"
        )
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise ParameterError(f"cannot write {role} {out}: directory {out.parent} is not writable")
    _refuse_existing(out, overwrite=overwrite, role=role, why="already exists")
    return out


# -- temporary names and their sweeping -------------------------------------------------------
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:32] or "host"


def _tmp_name(target: Path, kind: str = "tmp") -> Path:
    """A hidden name beside ``target``, unique to this write; the suffix is kept last so that
    format drivers (matplotlib, rasterio, ...) that look at it still work."""
    return target.with_name(
        f".{target.stem}.{_HOST}.{os.getpid()}.{uuid.uuid4().hex[:12]}.{kind}{target.suffix}"
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _remove(path: Path) -> None:
    """Delete a file, link or directory tree if it is there (never raises)."""
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink()


def sweep_stale_temps(target: PathLike) -> list[Path]:
    """Remove temporary files/folders of writes to ``target`` left by dead processes.

    Only names made by :func:`_tmp_name` for this target, on this host, whose process no longer
    runs, are removed (a concurrent writer's temporary file is left alone). Returns what was
    removed.
    """
    target = Path(target)
    pattern = re.compile(
        rf"^\.{re.escape(target.stem)}\.{re.escape(_HOST)}\.(\d+)\.[0-9a-f]{{12}}"
        rf"\.(tmp|old){re.escape(target.suffix)}$"
    )
    removed: list[Path] = []
    if not target.parent.is_dir():
        return removed
    for p in target.parent.iterdir():
        m = pattern.match(p.name)
        if m is None or _pid_alive(int(m.group(1))):
            continue
        _remove(p)
        if not (p.exists() or p.is_symlink()):
            removed.append(p)
            log.warning("removed stale temporary file %s (left by a killed process)", p)
    return removed


# -- moving into place ------------------------------------------------------------------------
def move_into_place(
    src: PathLike, target: PathLike, *, overwrite: bool, role: str = "output"
) -> Path:
    """Rename ``src`` (a file or directory on the same file system) onto ``target``.

    A file replaces a file in one :func:`os.replace`. When a directory is involved, an
    existing ``target`` is first renamed aside (a hidden ``.old`` name), put back if the
    second rename fails, and deleted last. Raises OutputExistsError ("appeared during the
    run") when ``target`` exists and ``overwrite`` is false. Returns ``target``.
    """
    src, target = Path(src), Path(target)
    _refuse_existing(target, overwrite=overwrite, role=role, why="appeared during the run")
    present = target.exists() or target.is_symlink()
    target_is_dir = target.is_dir() and not target.is_symlink()
    if not present or not (src.is_dir() or target_is_dir):
        os.replace(src, target)
        return target
    old = _tmp_name(target, "old")
    os.replace(target, old)
    try:
        os.replace(src, target)
    except BaseException:
        os.replace(old, target)
        raise
    _remove(old)
    return target


@contextlib.contextmanager
def atomic_path(
    target: PathLike, *, overwrite: bool = False, role: str = "output"
) -> Iterator[Path]:
    """Yield a hidden temporary path beside ``target``; move it onto ``target`` on success.

    The body creates a file or a directory at the yielded path (it does not exist yet). An
    existing ``target`` is refused with OutputExistsError unless ``overwrite`` (checked on
    entry by :func:`check_output` and again before the rename). The temporary is removed on
    any exception, ``KeyboardInterrupt`` included; stale ones of dead writers are swept first.
    """
    target = Path(target)
    check_output(target, overwrite=overwrite, role=role)
    sweep_stale_temps(target)
    tmp = _tmp_name(target)
    try:
        yield tmp
        move_into_place(tmp, target, overwrite=overwrite, role=role)
    finally:
        _remove(tmp)


def write_bytes(path: PathLike, data: bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename); mode 0644."""
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
    return path


def write_text(path: PathLike, text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`write_bytes`)."""
    return write_bytes(path, text.encode("utf-8"), overwrite=overwrite)
