"""Catalog reads shared by the browser sessions of one server process (no panel import).

The catalog table and the frames read from it are *read-only data*: every session derives
new objects from them (re-referenced copies, date slices, denoised results) and never writes
to them, so one copy serves all sessions; session state lives in :mod:`app.state` only. The
cache is keyed by the catalog files and their modification times, so an edited catalog is
re-read.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

import pandas as pd
import xarray as xr

from insar_ae.catalog import catalog_paths, list_frames, open_catalog_frame
from insar_ae.datamodel import validate

__all__ = ["EAGER_BYTES", "KEEP", "catalog_table", "read_frame"]

#: Variables the app keeps from a frame (synthetic noise components are dropped).
KEEP = ("displacement", "height", "mask", "deformation", "noise", "deformation_true")
#: Frames whose kept cubes total at most this many bytes are read into memory; larger ones
#: stay lazy (dask) and are read one date / one window at a time.
EAGER_BYTES = 1_000_000_000
_FRAMES_KEPT = 2  # frames kept in memory per process

_lock = threading.Lock()
_tables: dict[tuple, pd.DataFrame] = {}
_frames: OrderedDict[tuple, xr.Dataset] = OrderedDict()


def _key(catalog: str | None) -> tuple:
    paths = catalog_paths(catalog)
    return tuple((p, os.path.getmtime(p) if os.path.exists(p) else None) for p in paths)


def catalog_table(catalog: str | None = None) -> pd.DataFrame:
    """``insar_ae.catalog.list_frames`` restricted to the entries available here (a copy)."""
    key = _key(catalog)
    with _lock:
        if key not in _tables:
            df = list_frames(catalog)
            _tables[key] = df[df["available"].astype(bool)] if "available" in df else df
        return _tables[key].copy()


def prepare(ds: xr.Dataset) -> xr.Dataset:
    """Keep the displayed variables; read small frames into memory (validated)."""
    ds = ds[[v for v in KEEP if v in ds]]
    cubes = sum(ds[v].nbytes for v in ds.data_vars if "time" in ds[v].dims)
    if cubes <= EAGER_BYTES and any(ds[v].chunks is not None for v in ds.data_vars):
        ds = ds.load()
    return validate(ds)


def read_frame(name: str, catalog: str | None = None) -> xr.Dataset:
    """Catalog entry ``name`` prepared for the app, shared read-only by the sessions."""
    key = (_key(catalog), name)
    with _lock:
        if key in _frames:
            _frames.move_to_end(key)
            return _frames[key]
    ds = prepare(open_catalog_frame(name, catalog=catalog))
    with _lock:
        _frames[key] = ds
        while len(_frames) > _FRAMES_KEPT:
            _frames.popitem(last=False)
    return ds
