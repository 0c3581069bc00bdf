"""Catalog reads shared by the browser sessions of one server process (no panel import).

The catalog table and the frames read from it are *read-only data*: every session derives
new objects from them (re-referenced copies, date slices, denoised results) and never writes
to them, so one copy serves all sessions; session state lives in :mod:`app.state` only. The
numpy arrays of a shared frame are marked read-only, and :func:`lazy` wraps any in-memory
frame in dask *without copying it* (``dask.array.from_array`` copies numpy input, which gave
every browser session its own ~170 MB copy of the default frame). The cache is keyed by the
catalog files and their modification times, so an edited catalog is re-read.

A catalog entry that cannot be listed (a bad date, a driver that is refused, a path outside
the catalog's folder) or a catalog file named in ``INSAR_AE_CATALOG`` that is missing or
malformed is skipped: the other entries, built-in ones included, stay available, a warning is
logged and :func:`catalog_notices` gives the sentences the dashboard shows.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import uuid
from collections import OrderedDict

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from insar_ae.catalog import catalog_paths, list_frames, open_catalog_frame
from insar_ae.datamodel import validate

__all__ = [
    "EAGER_BYTES",
    "KEEP",
    "catalog_notices",
    "catalog_table",
    "lazy",
    "prepare",
    "read_frame",
]

log = logging.getLogger(__name__)

#: Variables the app keeps from a frame (synthetic noise components are dropped).
KEEP = ("displacement", "height", "mask", "deformation", "noise", "deformation_true")
#: Frames whose kept cubes total at most this many bytes are read into memory; larger ones
#: stay lazy (dask) and are read one date / one window at a time.
EAGER_BYTES = 1_000_000_000
_FRAMES_KEPT = 2  # frames kept in memory per process
_CHUNK_YX = 512  # lazy views: chunks of 512 x 512 pixels, all dates

_lock = threading.Lock()
_tables: dict[tuple, tuple[pd.DataFrame, tuple[str, ...]]] = {}
_frames: OrderedDict[tuple, xr.Dataset] = OrderedDict()


def _key(catalog: str | None) -> tuple:
    paths = catalog_paths(catalog)
    return tuple((p, os.path.getmtime(p) if os.path.exists(p) else None) for p in paths)


def _table(catalog: str | None) -> tuple[pd.DataFrame, tuple[str, ...]]:
    key = _key(catalog)
    with _lock:
        if key not in _tables:
            df = list_frames(catalog, errors="skip")
            notices = tuple(df.attrs.get("skipped", ()))
            for text in notices:
                log.warning("catalog: %s", text)
            df = df[df["available"].astype(bool)] if "available" in df else df
            _tables[key] = (df, notices)
        return _tables[key]


def catalog_table(catalog: str | None = None) -> pd.DataFrame:
    """``insar_ae.catalog.list_frames`` restricted to the entries available here (a copy);
    broken entries and unreadable catalog files are skipped (see :func:`catalog_notices`)."""
    return _table(catalog)[0].copy()


def catalog_notices(catalog: str | None = None) -> list[str]:
    """One sentence per catalog entry or catalog file skipped by :func:`catalog_table`."""
    return list(_table(catalog)[1])


def _keep(ds: xr.Dataset) -> xr.Dataset:
    """Keep the displayed variables; read small frames into memory (no check)."""
    ds = ds[[v for v in KEEP if v in ds]]
    cubes = sum(ds[v].nbytes for v in ds.data_vars if "time" in ds[v].dims)
    if cubes <= EAGER_BYTES and any(ds[v].chunks is not None for v in ds.data_vars):
        ds = ds.load()
    return ds


def prepare(ds: xr.Dataset) -> xr.Dataset:
    """An in-memory frame given to the app (``AppState(datasets=...)``), prepared as
    :func:`read_frame` prepares catalog frames: the displayed variables, small frames in
    memory, validated (this is where such a frame enters the app: a boundary)."""
    return validate(_keep(ds))


def _freeze(ds: xr.Dataset) -> xr.Dataset:
    """Mark the in-memory arrays of a shared frame read-only (a write raises, never leaks)."""
    for var in ds.variables.values():
        data = var.data
        if isinstance(data, np.ndarray):
            data.flags.writeable = False
    return ds


def read_frame(name: str, catalog: str | None = None) -> xr.Dataset:
    """Catalog entry ``name`` prepared for the app, shared read-only by the sessions.

    Read once per server process (the last ``_FRAMES_KEPT`` frames are kept): every session
    that shows the entry gets this same Dataset object; its numpy arrays are read-only. Not
    validated again: the catalog's reader did (one validation per boundary, decision 81)."""
    key = (_key(catalog), name)
    with _lock:
        if key in _frames:
            _frames.move_to_end(key)
            return _frames[key]
    ds = _freeze(_keep(open_catalog_frame(name, catalog=catalog)))
    with _lock:
        ds = _frames.setdefault(key, ds)  # a concurrent first read: keep one of the two
        _frames.move_to_end(key)
        while len(_frames) > _FRAMES_KEPT:
            _frames.popitem(last=False)
    return ds


def _no_copy(data: np.ndarray, chunks: tuple[tuple[int, ...], ...]) -> da.Array:
    """A dask array whose blocks are views of ``data`` (``da.from_array`` would copy it)."""
    name = f"insar-ae-view-{uuid.uuid4().hex}"
    starts = [np.cumsum((0, *c[:-1])) for c in chunks]
    dsk = {}
    for index in itertools.product(*(range(len(c)) for c in chunks)):
        sl = tuple(
            slice(int(s[i]), int(s[i]) + c[i])
            for s, c, i in zip(starts, chunks, index, strict=True)
        )
        dsk[(name, *index)] = data[sl]
    return da.Array(
        dsk, name, chunks, dtype=data.dtype, meta=np.empty((0,) * data.ndim, data.dtype)
    )


def lazy(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with every in-memory data variable wrapped in dask without a copy.

    Chunks: all dates, 512 x 512 pixels. Variables that are already dask stay as they are.
    Whole-cube uses (re-referencing, time series, offsets) then stay lazy and read only what
    they need, and sessions that show the same frame share its memory."""
    out = {}
    for name, var in ds.data_vars.items():
        if var.chunks is not None or not isinstance(var.data, np.ndarray):
            continue
        chunks = tuple(
            da.core.normalize_chunks(_CHUNK_YX if dim in ("y", "x") else -1, (n,))[0]
            for dim, n in zip(var.dims, var.shape, strict=True)
        )
        out[name] = var.copy(deep=False, data=_no_copy(var.data, chunks))
    return ds.assign(out) if out else ds
