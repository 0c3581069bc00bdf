"""Which frames a batch denoises: a catalog file, the default catalog, or a glob of files."""

from __future__ import annotations

import fnmatch
import glob
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from insar_ae.errors import CatalogError, ParameterError

__all__ = ["FrameSpec", "discover_frames"]

log = logging.getLogger(__name__)

_CATALOG_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class FrameSpec:
    """One frame of a batch: a file/directory, or an entry of an intake catalog."""

    name: str
    path: str | None = None
    entry: str | None = None
    catalog: str | None = None

    def data(self) -> Any:
        """What :class:`FrameRun` reads: the path, or the catalog entry opened (lazily)."""
        if self.path is not None:
            return self.path
        from insar_ae.catalog import open_catalog_frame

        return open_catalog_frame(self.entry, catalog=self.catalog)


def discover_frames(spec: str, *, select: str | None = None) -> list[FrameSpec]:
    """Frames named by ``spec``: a catalog file (``*.yaml``), ``"catalog"`` (the default
    catalog) or a glob of frame files/directories (``"data/*.zarr"``, ``"*/timeseries.h5"``).

    ``select`` (a shell pattern) keeps only frames whose name matches it.
    """
    if spec in ("catalog", "default") or spec.lower().endswith(_CATALOG_SUFFIXES):
        from insar_ae.catalog import list_frames

        catalog = None if spec in ("catalog", "default") else os.fspath(Path(spec).absolute())
        if catalog is not None and not Path(catalog).is_file():
            raise CatalogError(f"catalog file {spec!r} does not exist")
        table = list_frames(catalog)
        if catalog is not None:  # only this file's entries, not the built-in ones it extends
            table = table[table["catalog"] == catalog]
        else:  # the built-in catalog lists real-data entries that may not be on this machine
            missing = table.index[~table["available"].astype(bool)].tolist()
            if missing:
                log.warning("catalog entries not available here, left out: %s", missing)
            table = table[table["available"].astype(bool)]
        frames = [FrameSpec(_safe_name(str(n)), entry=str(n), catalog=catalog) for n in table.index]
        if not frames:
            raise CatalogError(f"catalog {spec!r} has no frame entries")
    else:
        paths = sorted(glob.glob(os.path.expanduser(spec), recursive=True))
        if not paths:
            raise ParameterError(
                f"CATALOG_OR_GLOB {spec!r} matches no file and is not a catalog "
                "(*.yaml); expected e.g. 'frames/*.zarr' or 'catalog.yaml'"
            )
        names = _names_for(paths)
        frames = [
            FrameSpec(n, path=os.fspath(Path(p).absolute()))
            for n, p in zip(names, paths, strict=True)
        ]
    if select:
        frames = [f for f in frames if fnmatch.fnmatchcase(f.name, select)]
        if not frames:
            raise ParameterError(f"select={select!r} matches none of the frames of {spec!r}")
    return frames


def _names_for(paths: Sequence[str]) -> list[str]:
    """File stems, or parent-qualified paths when stems collide (``a/timeseries.h5``...)."""
    stems = [Path(p).name.split(".")[0] or Path(p).name for p in paths]
    if len(set(stems)) == len(stems):
        return [_safe_name(s) for s in stems]
    common = os.path.commonpath([os.path.abspath(p) for p in paths]) if len(paths) > 1 else ""
    rel = [os.path.relpath(os.path.abspath(p), common) if common else p for p in paths]
    return [_safe_name(r.rsplit(".", 1)[0].replace(os.sep, "__")) for r in rel]


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "frame"
