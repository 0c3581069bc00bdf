"""The frame catalog: named synthetic and real frames for the app and notebooks.

Catalogs are intake (v1-style) YAML files opened with ``intake.open_catalog``; entries use the
drivers in :mod:`insar_ae.catalog.drivers`. The built-in catalog is the top-level
``catalog.yaml``. A lab keeps its own catalog(s) and passes them with the ``catalog`` argument
or ``INSAR_AE_CATALOG`` (paths separated by ``os.pathsep``): their entries come first and win
over built-in entries of the same name; the built-in entries are still listed unless the lab
catalog's top-level metadata says ``insar_ae_include_default: false``.

Each entry's ``metadata`` carries ``region``, ``sensor``, ``dates`` (``start``, ``end``,
``n_dates``), ``shape``, ``units``, ``has_truth`` and a default ``reference_point`` ("y,x" in
coordinate units); ``template: true`` marks "add your own file" examples.
"""

from __future__ import annotations

import difflib
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from insar_ae.datamodel import validate
from insar_ae.errors import CatalogError

__all__ = ["DEFAULT_CATALOG", "DEFAULT_FRAME", "catalog_paths", "list_frames", "open_catalog_frame"]

DEFAULT_FRAME = "anatolia-slow-slip"
DEFAULT_CATALOG = Path(__file__).resolve().parents[2] / "catalog.yaml"
COLUMNS = ("description", "region", "sensor", "start", "end", "n_dates", "shape", "units",
           "has_truth", "reference_point", "kind", "format", "available", "catalog")

CatalogArg = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None


def catalog_paths(catalog: CatalogArg = None) -> list[str]:
    """Catalog files in lookup order: ``catalog`` (or ``$INSAR_AE_CATALOG``), then the default."""
    if catalog is None:
        env = os.environ.get("INSAR_AE_CATALOG", "")
        user = [p for p in env.split(os.pathsep) if p.strip()]
    elif isinstance(catalog, (str, os.PathLike)):
        user = [os.fspath(catalog)]
    else:
        user = [os.fspath(c) for c in catalog]
    out = [str(Path(p).expanduser()) if "://" not in p else p for p in user]
    if str(DEFAULT_CATALOG) not in out:
        out.append(str(DEFAULT_CATALOG))
    return out


_INTAKE_NOISE = "Shell command not executed"


def _open(path: str) -> Any:
    import intake

    if "://" not in path and not Path(path).exists():
        raise FileNotFoundError(f"catalog file not found: {path}")
    try:
        cat = intake.open_catalog(path)
        entries = {name: cat._entries[name] for name in list(cat)}
    except FileNotFoundError:
        raise
    except Exception as err:
        raise CatalogError(f"catalog {path} is malformed: {err}; expected an intake v1 YAML "
                           "catalog with a 'sources:' mapping of entries") from None
    return cat, entries


def _entries(catalog: CatalogArg) -> dict[str, tuple[Any, str]]:
    found: dict[str, tuple[Any, str]] = {}
    include_default = True
    for path in catalog_paths(catalog):
        is_default = path == str(DEFAULT_CATALOG)
        if is_default and not include_default:
            break
        cat, entries = _open(path)
        if not is_default and not (cat.metadata or {}).get("insar_ae_include_default", True):
            include_default = False
        for name, entry in entries.items():
            found.setdefault(name, (entry, path))
    return found


def _describe(name: str, entry: Any, path: str) -> dict[str, Any]:
    d = entry.describe()
    md = d.get("metadata") or {}
    if not isinstance(md, dict):
        raise CatalogError(f"catalog {path}: entry {name!r} has metadata {md!r}; expected a mapping")
    if d.get("container") is None:
        raise CatalogError(f"catalog {path}: entry {name!r} has driver {d.get('driver')!r} that cannot "
                           "be imported; expected e.g. insar_ae.catalog.drivers.SyntheticFrame")
    dates = md.get("dates") or {}
    if not isinstance(dates, dict):
        raise CatalogError(f"catalog {path}: entry {name!r} metadata 'dates' is {dates!r}; expected "
                           "a mapping with start, end, n_dates")
    args = d.get("args") or {}
    from insar_ae.catalog.drivers import SyntheticFrame, resolve_path

    drivers = d.get("driver")
    synthetic = SyntheticFrame.name in (drivers if isinstance(drivers, list) else [drivers])
    if synthetic:
        available = True
    else:
        target = str(args.get("path") or "")
        if not target or "{{" in target:
            target = next((str(p["default"]) for p in d.get("user_parameters", [])
                           if p["name"] == "path" and p.get("default")), "")
        full = resolve_path(target, entry._catalog_dir) if target else ""
        available = bool(full) and ("://" in full or Path(full).exists())
    shape = md.get("shape") or args.get("shape")
    return {
        "description": d.get("description") or md.get("description", ""),
        "region": md.get("region", ""), "sensor": md.get("sensor", ""),
        "start": pd.Timestamp(dates["start"]) if dates.get("start") else pd.NaT,
        "end": pd.Timestamp(dates["end"]) if dates.get("end") else pd.NaT,
        "n_dates": int(dates["n_dates"]) if dates.get("n_dates") else np.nan,
        "shape": tuple(int(v) for v in shape) if shape else None,
        "units": md.get("units", ""), "has_truth": bool(md.get("has_truth", False)),
        "reference_point": md.get("reference_point", ""),
        "kind": "template" if md.get("template") else ("synthetic" if synthetic else "file"),
        "format": "synthetic" if synthetic else (args.get("format") or "auto"),
        "available": available, "catalog": path,
    }


def list_frames(catalog: CatalogArg = None, *, include_templates: bool = False) -> pd.DataFrame:
    """The catalog entries as a table, from metadata only (no frame is generated or read).

    Index: entry name. Columns: description, region, sensor, start, end, n_dates, shape
    (ny, nx), units, has_truth, reference_point, plus kind ("synthetic", "file", "template"),
    format, available (the file exists / can be generated) and catalog (the YAML it came from).
    ``include_templates`` adds the "add your own file" example entries.
    """
    rows = {}
    for name, (entry, path) in _entries(catalog).items():
        row = _describe(name, entry, path)
        if row["kind"] == "template" and not include_templates:
            continue
        rows[name] = row
    df = pd.DataFrame.from_dict(rows, orient="index", columns=list(COLUMNS))
    df.index.name = "name"
    df["n_dates"] = df["n_dates"].astype("Int64")
    return df


def open_catalog_frame(name: str, catalog: CatalogArg = None, **params: Any) -> xr.Dataset:
    """Open catalog entry ``name`` as a validated canonical Dataset.

    ``params`` set the entry's parameters or driver arguments, e.g. ``seed=1``,
    ``shape=(128, 128)``, ``n_dates=30`` for synthetic frames or ``path="my/timeseries.h5"``
    (relative to the catalog's directory) for file entries. When the data carry no
    ``reference_point`` the entry's default is set if it lies on the grid.
    """
    entries = _entries(catalog)
    if name not in entries:
        close = difflib.get_close_matches(str(name), list(entries), n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise CatalogError(f"no catalog entry {name!r} in {catalog_paths(catalog)}; available: "
                           f"{sorted(entries)}.{hint}")
    entry, path = entries[name]
    _describe(name, entry, path)  # raises CatalogError on a broken entry
    if "shape" in params and params["shape"] is not None:
        params["shape"] = list(params["shape"])
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_INTAKE_NOISE)
            source = entry.get(**params)
    except (TypeError, ValueError) as err:
        raise CatalogError(f"catalog {path}: cannot open entry {name!r} with parameters {params}: {err}") from None
    ds = source.read()
    md = entry.describe().get("metadata") or {}
    ref = md.get("reference_point")
    if ref and "reference_point" not in ds.attrs and _on_grid(ds, str(ref)):
        ds.attrs["reference_point"] = str(ref)
    ds.attrs["catalog_entry"] = name
    return validate(ds)


def _on_grid(ds: xr.Dataset, ref: str) -> bool:
    try:
        y, x = (float(v) for v in ref.split(","))
    except ValueError:
        return False
    ok = True
    for dim, v in (("y", y), ("x", x)):
        c = np.asarray(ds[dim].values, dtype=float)
        half = abs(c[1] - c[0]) / 2 if c.size > 1 else 0.5
        ok &= bool(c.min() - half <= v <= c.max() + half)
    return ok
