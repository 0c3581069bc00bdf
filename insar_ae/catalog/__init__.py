"""The frame catalog: named synthetic and real frames for the app and notebooks.

Catalogs are intake (v1-style) YAML files opened with ``intake.open_catalog``; entries use the
drivers in :mod:`insar_ae.catalog.drivers`. The built-in catalog is
``insar_ae/catalog/catalog.yaml`` (:data:`DEFAULT_CATALOG`), shipped as package data, so the
built-in frames are found from any folder and from an installed wheel. A lab keeps its own catalog(s) and passes them with the ``catalog`` argument
or ``INSAR_AE_CATALOG`` (paths separated by ``os.pathsep``): their entries come first and win
over built-in entries of the same name; the built-in entries are still listed unless the lab
catalog's top-level metadata says ``insar_ae_include_default: false``.

**What a catalog may name.** File entries (``FrameFile``) may name files under the catalog's own
folder, or under a folder listed in the catalog's top-level ``metadata: insar_ae_data_roots``
(paths relative to the catalog's folder, or absolute). Paths, sidecars (``geometry``, ``mask``,
``height``, ``dem``) and ``path=`` parameters are resolved (``..`` and symbolic links followed)
and checked *before anything is opened or even looked at*; anything else, URLs included unless
a root is a URL prefix, is refused with a :class:`~insar_ae.errors.CatalogError`.

**Broken entries.** ``list_frames(errors="skip")`` (what the dashboard uses) skips an entry that
cannot be listed (bad date, refused driver, path outside the catalog's folder) and a catalog file
that is missing or malformed, logs a warning and lists the reasons in ``df.attrs["skipped"]``;
the default ``errors="raise"`` raises on the first one.

Each entry's ``metadata`` carries ``region``, ``sensor``, ``dates`` (``start``, ``end``,
``n_dates``), ``shape``, ``units``, ``has_truth`` and a default ``reference_point`` ("y,x" in
coordinate units); ``template: true`` marks "add your own file" examples.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import os
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from insar_ae.errors import CatalogError

__all__ = [
    "DEFAULT_CATALOG",
    "DEFAULT_FRAME",
    "DRIVERS",
    "catalog_paths",
    "list_frames",
    "open_catalog_frame",
]

log = logging.getLogger(__name__)

DEFAULT_FRAME = "anatolia-slow-slip"
#: The built-in catalog (package data; its real-data entries point at the checkout's ../shared).
DEFAULT_CATALOG = Path(__file__).resolve().parent / "catalog.yaml"
COLUMNS = (
    "description",
    "region",
    "sensor",
    "start",
    "end",
    "n_dates",
    "shape",
    "units",
    "has_truth",
    "reference_point",
    "kind",
    "format",
    "available",
    "catalog",
)

#: The only drivers a catalog entry may name (intake would import any class named in the YAML).
DRIVERS = (
    "insar_ae.catalog.drivers.SyntheticFrame",
    "insar_ae.catalog.drivers.FrameFile",
    "insar_ae_synthetic",
    "insar_ae_file",
)
ROOTS_KEY = "insar_ae_data_roots"

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


_yaml_lock = threading.Lock()


@contextlib.contextmanager
def _guarded_parse() -> Iterator[None]:
    """While intake parses a catalog: YAML dates stay plain strings (one bad date such as
    ``2019-13-45`` then fails its entry only, not the whole file), and a driver outside
    :data:`DRIVERS` is not imported (intake imports any class a YAML file names)."""
    import intake.catalog.local as local
    import yaml

    tag = "tag:yaml.org,2002:timestamp"
    loader = yaml.SafeLoader
    plugin_class = local.get_plugin_class

    def allowed(name: Any) -> Any:
        return plugin_class(name) if isinstance(name, str) and name in DRIVERS else None

    with _yaml_lock:
        before = loader.yaml_constructors.get(tag)
        loader.add_constructor(tag, yaml.constructor.SafeConstructor.construct_yaml_str)
        local.get_plugin_class = allowed
        try:
            yield
        finally:
            local.get_plugin_class = plugin_class
            if before is None:
                loader.yaml_constructors.pop(tag, None)
            else:
                loader.add_constructor(tag, before)


def _open(path: str) -> Any:
    import intake

    if "://" not in path and not Path(path).exists():
        raise FileNotFoundError(f"catalog file not found: {path}")
    try:
        with _guarded_parse():
            cat = intake.open_catalog(path)
            entries = {name: cat._entries[name] for name in list(cat)}
    except FileNotFoundError:
        raise
    except Exception as err:
        raise CatalogError(
            f"catalog {path} is malformed: {err}; expected an intake v1 YAML "
            "catalog with a 'sources:' mapping of entries"
        ) from None
    roots = _data_roots(cat, path)
    for entry in entries.values():  # the driver checks every path against these
        md = getattr(entry, "_metadata", None)
        if isinstance(md, dict):
            md[ROOTS_KEY] = roots
    return cat, entries


def _data_roots(cat: Any, path: str) -> list[str]:
    """The catalog's folder plus the ``insar_ae_data_roots`` its metadata lists (resolved)."""
    from insar_ae.catalog.drivers import resolve_path

    here = str(Path(path).resolve().parent) if "://" not in path else path.rsplit("/", 1)[0]
    extra = (cat.metadata or {}).get(ROOTS_KEY) or []
    if isinstance(extra, str):
        extra = [extra]
    if not isinstance(extra, list):
        raise CatalogError(
            f"catalog {path}: metadata {ROOTS_KEY} is {extra!r}; expected a list of folders"
        )
    roots = [here]
    for root in extra:
        full = resolve_path(str(root), here)
        roots.append(full if "://" in full else os.path.realpath(full))
    return roots


def _entries(catalog: CatalogArg, skipped: list[str] | None = None) -> dict[str, tuple[Any, str]]:
    """Entries by name (first catalog wins); with ``skipped``, unreadable catalogs are
    noted there instead of raising."""
    found: dict[str, tuple[Any, str]] = {}
    include_default = True
    for path in catalog_paths(catalog):
        is_default = path == str(DEFAULT_CATALOG)
        if is_default and not include_default:
            break
        try:
            cat, entries = _open(path)
        except (FileNotFoundError, CatalogError) as err:
            if skipped is None:
                raise
            _skip(skipped, f"catalog file {path} skipped: {err}")
            continue
        if not is_default and not (cat.metadata or {}).get("insar_ae_include_default", True):
            include_default = False
        for name, entry in entries.items():
            found.setdefault(name, (entry, path))
    return found


def _skip(skipped: list[str], text: str) -> None:
    log.warning("%s", text)
    skipped.append(text)


def _driver_names(entry: Any) -> list[str]:
    """The driver names an entry gives in its YAML (not the classes intake found)."""
    drivers = getattr(entry, "_driver", None)
    if isinstance(drivers, dict):
        return [str(v.get("class") if isinstance(v, dict) else v) for v in drivers.values()]
    return [str(x) for x in (drivers if isinstance(drivers, list) else [drivers])]


def _describe(name: str, entry: Any, path: str) -> dict[str, Any]:
    d = entry.describe()
    md = d.get("metadata") or {}
    if not isinstance(md, dict):
        raise CatalogError(
            f"catalog {path}: entry {name!r} has metadata {md!r}; expected a mapping"
        )
    refused = [drv for drv in _driver_names(entry) if drv not in DRIVERS]
    if refused:
        raise CatalogError(
            f"catalog {path}: entry {name!r} names driver {refused[0]!r}, which is "
            f"refused; a catalog entry may only use {list(DRIVERS[:2])}"
        )
    if d.get("container") is None:
        raise CatalogError(
            f"catalog {path}: entry {name!r} has driver {d.get('driver')!r} that cannot "
            "be imported; expected e.g. insar_ae.catalog.drivers.SyntheticFrame"
        )
    dates = md.get("dates") or {}
    if not isinstance(dates, dict):
        raise CatalogError(
            f"catalog {path}: entry {name!r} metadata 'dates' is {dates!r}; expected "
            "a mapping with start, end, n_dates"
        )
    args = d.get("args") or {}
    from insar_ae.catalog.drivers import SyntheticFrame, resolve_path

    drivers = d.get("driver")
    synthetic = SyntheticFrame.name in (drivers if isinstance(drivers, list) else [drivers])
    if synthetic:
        available = True
    else:
        target = str(args.get("path") or "")
        if not target or "{{" in target:
            target = next(
                (
                    str(p["default"])
                    for p in d.get("user_parameters", [])
                    if p["name"] == "path" and p.get("default")
                ),
                "",
            )
        # resolved and checked against the catalog's folder before the file is looked at
        full = (
            resolve_path(
                target,
                entry._catalog_dir,
                roots=md.get(ROOTS_KEY) or [],
                what=f"catalog {path}: entry {name!r}",
            )
            if target
            else ""
        )
        available = bool(full) and ("://" in full or Path(full).exists())
    shape = md.get("shape") or args.get("shape")
    try:
        start, end = (pd.Timestamp(dates[k]) if dates.get(k) else pd.NaT for k in ("start", "end"))
        n_dates = int(dates["n_dates"]) if dates.get("n_dates") else np.nan
        shape = tuple(int(v) for v in shape) if shape else None
    except (TypeError, ValueError) as err:
        raise CatalogError(
            f"catalog {path}: entry {name!r} has bad metadata dates/shape "
            f"({err}); expected dates {{start: YYYY-MM-DD, end: YYYY-MM-DD, "
            "n_dates: N}} and shape [ny, nx]"
        ) from None
    return {
        "description": d.get("description") or md.get("description", ""),
        "region": md.get("region", ""),
        "sensor": md.get("sensor", ""),
        "start": start,
        "end": end,
        "n_dates": n_dates,
        "shape": shape,
        "units": md.get("units", ""),
        "has_truth": bool(md.get("has_truth", False)),
        "reference_point": md.get("reference_point", ""),
        "kind": "template" if md.get("template") else ("synthetic" if synthetic else "file"),
        "format": "synthetic" if synthetic else (args.get("format") or "auto"),
        "available": available,
        "catalog": path,
    }


def list_frames(
    catalog: CatalogArg = None, *, include_templates: bool = False, errors: str = "raise"
) -> pd.DataFrame:
    """The catalog entries as a table, from metadata only (no frame is generated or read).

    Index: entry name. Columns: description, region, sensor, start, end, n_dates, shape
    (ny, nx), units, has_truth, reference_point, plus kind ("synthetic", "file", "template"),
    format, available (the file exists / can be generated) and catalog (the YAML it came from).
    ``include_templates`` adds the "add your own file" example entries. ``errors="skip"``
    leaves out broken entries and unreadable catalog files (logged; one sentence each in
    ``df.attrs["skipped"]``) instead of raising :class:`~insar_ae.errors.CatalogError` or
    ``FileNotFoundError``.
    """
    if errors not in ("raise", "skip"):
        raise ValueError(f"errors={errors!r}; expected 'raise' or 'skip'")
    skipped: list[str] | None = [] if errors == "skip" else None
    rows = {}
    for name, (entry, path) in _entries(catalog, skipped).items():
        try:
            row = _describe(name, entry, path)
        except (CatalogError, ValueError, TypeError, KeyError, AttributeError) as err:
            if skipped is None:
                raise
            text = (
                str(err)
                if isinstance(err, CatalogError)
                else f"catalog {path}: entry {name!r}: {err}"
            )
            _skip(skipped, f"{text} (entry skipped)")
            continue
        if row["kind"] == "template" and not include_templates:
            continue
        rows[name] = row
    df = pd.DataFrame.from_dict(rows, orient="index", columns=list(COLUMNS))
    df.index.name = "name"
    df["n_dates"] = df["n_dates"].astype("Int64")
    df.attrs["skipped"] = list(skipped or [])
    return df


def open_catalog_frame(name: str, catalog: CatalogArg = None, **params: Any) -> xr.Dataset:
    """Open catalog entry ``name`` as a validated canonical Dataset (validated once, by the
    reader behind the entry's driver; the attributes set here do not touch the data model).

    ``params`` set the entry's parameters or driver arguments, e.g. ``seed=1``,
    ``shape=(128, 128)``, ``n_dates=30`` for synthetic frames or ``path="my/timeseries.h5"``
    (relative to the catalog's directory) for file entries. When the data carry no
    ``reference_point`` the entry's default is set if it lies on the grid. A catalog file that
    cannot be read does not stop the entries of the others (the error for a name that is not
    found says which files were not read).
    """
    skipped: list[str] = []  # another catalog file missing or malformed does not stop this one
    entries = _entries(catalog, skipped)
    if name not in entries:
        close = difflib.get_close_matches(str(name), list(entries), n=3)
        hint = f" Did you mean {close}?" if close else ""
        unread = f" Not read: {'; '.join(skipped)}." if skipped else ""
        raise CatalogError(
            f"no catalog entry {name!r} in {catalog_paths(catalog)}; available: "
            f"{sorted(entries)}.{hint}{unread}"
        )
    entry, path = entries[name]
    _describe(name, entry, path)  # raises CatalogError on a broken entry
    if "shape" in params and params["shape"] is not None:
        params["shape"] = list(params["shape"])
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_INTAKE_NOISE)
            source = entry.get(**params)
    except CatalogError:
        raise
    except (TypeError, ValueError) as err:
        raise CatalogError(
            f"catalog {path}: cannot open entry {name!r} with parameters {params}: {err}"
        ) from None
    ds = source.read()
    md = entry.describe().get("metadata") or {}
    ref = md.get("reference_point")
    if ref and "reference_point" not in ds.attrs and _on_grid(ds, str(ref)):
        ds.attrs["reference_point"] = str(ref)
    ds.attrs["catalog_entry"] = name
    return ds


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
