"""Small helpers shared by the readers: laziness, units, grids, sensors, final checks."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from insar_ae.datamodel import validate
from insar_ae.errors import FormatError

__all__ = [
    "LAZY_THRESHOLD_BYTES",
    "UNKNOWN_GEOMETRY",
    "centre_coords",
    "centre_value",
    "check_claimed_size",
    "check_shape",
    "crs_units",
    "files_size",
    "finish",
    "format_point",
    "infinite_to_nan",
    "mm_per_unit",
    "mm_scale_problem",
    "nearest_index",
    "relative_to_first",
    "sensor_name",
    "want_lazy",
    "warn_if_not_mm",
]

log = logging.getLogger(__name__)

#: Files (or file sets) at least this large open as dask arrays unless ``lazy=`` says otherwise.
LAZY_THRESHOLD_BYTES: int = int(os.environ.get("INSAR_AE_LAZY_BYTES", 128 * 2**20))

#: Geometry attributes every reader sets (NaN when the file does not say).
UNKNOWN_GEOMETRY: dict[str, float] = {
    "wavelength_m": float("nan"),
    "heading_deg": float("nan"),
    "incidence_deg": float("nan"),
}

_MM_PER_UNIT = {
    "mm": 1.0,
    "millimetre": 1.0,
    "millimeter": 1.0,
    "millimetres": 1.0,
    "millimeters": 1.0,
    "cm": 10.0,
    "centimetre": 10.0,
    "centimeter": 10.0,
    "centimetres": 10.0,
    "centimeters": 10.0,
    "m": 1000.0,
    "metre": 1000.0,
    "meter": 1000.0,
    "metres": 1000.0,
    "meters": 1000.0,
}

# MintPy PLATFORM codes (and GAMMA/LiCSAR sensor prefixes) -> mission names.
_SENSORS = {
    "sen": "Sentinel-1",
    "s1": "Sentinel-1",
    "s1a": "Sentinel-1",
    "s1b": "Sentinel-1",
    "s1c": "Sentinel-1",
    "sentinel1": "Sentinel-1",
    "sentinel-1": "Sentinel-1",
    "env": "Envisat",
    "envisat": "Envisat",
    "asar": "Envisat",
    "ers": "ERS",
    "ers1": "ERS-1",
    "ers2": "ERS-2",
    "alos": "ALOS",
    "alos2": "ALOS-2",
    "alos-2": "ALOS-2",
    "palsar": "ALOS",
    "csk": "COSMO-SkyMed",
    "tsx": "TerraSAR-X",
    "tdx": "TanDEM-X",
    "rsat2": "RADARSAT-2",
    "rs2": "RADARSAT-2",
    "rcm": "RADARSAT Constellation",
    "ni": "NISAR",
    "nisar": "NISAR",
    "jers": "JERS-1",
    "uav": "UAVSAR",
}


def sensor_name(code: str | None) -> str:
    """Mission name for a MintPy ``PLATFORM`` code or GAMMA sensor string ("unknown" if empty)."""
    if not code:
        return "unknown"
    text = str(code).strip()
    first = text.split()[0].lower() if text.split() else ""
    return _SENSORS.get(text.lower(), _SENSORS.get(first, text))


def files_size(paths: Iterable[Path]) -> int:
    """Total size of files and directory trees (bytes)."""
    total = 0
    for p in paths:
        if p.is_dir():
            total += sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        elif p.exists():
            total += p.stat().st_size
    return total


def want_lazy(paths: Iterable[Path], lazy: bool | None, *, nbytes: int | None = None) -> bool:
    """``lazy`` if given, else True when the arrays (``nbytes``, their in-memory size) or the
    files total at least :data:`LAZY_THRESHOLD_BYTES` (a compressed file can hold an array far
    larger than itself: the array size decides)."""
    if lazy is not None:
        return bool(lazy)
    return max(files_size(paths), int(nbytes or 0)) >= LAZY_THRESHOLD_BYTES


#: A file may claim at most this many times its own size of array data (float32 InSAR data do
#: not compress by more than a few times; a header claiming 10^8 times its size is corrupt).
MAX_CLAIM_RATIO: int = 1000


def check_claimed_size(
    shape: tuple[int, ...], itemsize: int, stored_bytes: int, *, source: str, what: str
) -> None:
    """FormatError when an array claims far more data than the file stores.

    ``stored_bytes``: bytes the file actually holds for it (HDF5 storage size, file or store
    size). Refused when the claim exceeds :data:`LAZY_THRESHOLD_BYTES` and
    :data:`MAX_CLAIM_RATIO` times what is stored: such a header is corrupt (or the data were
    never written), and reading it would try to allocate the claimed size.
    """
    claimed = int(np.prod([int(n) for n in shape], dtype=np.float64)) * int(itemsize)
    if claimed >= LAZY_THRESHOLD_BYTES and claimed > MAX_CLAIM_RATIO * max(int(stored_bytes), 1):
        dims = " x ".join(str(int(n)) for n in shape)
        raise FormatError(
            f"{source}: {what} claims {dims} values ({_human(claimed)}) but the file holds only "
            f"{_human(stored_bytes)} of data; the header is corrupt or the data were never "
            "written — refusing to read it"
        )


def _human(n: float) -> str:
    n = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000.0
    return f"{n:.3g} TB"  # pragma: no cover


def mm_per_unit(units: str | None, *, source: str, what: str) -> float:
    """Millimetres per ``units`` (m -> 1000, cm -> 10, mm -> 1); FormatError if unknown."""
    key = str(units or "").strip().lower()
    if key in _MM_PER_UNIT:
        return _MM_PER_UNIT[key]
    got = "no units" if not key else f"units {units!r}"
    raise FormatError(
        f"{source}: {what} has {got}; cannot tell millimetres from metres — expected one of "
        "'mm', 'cm', 'm' (declare a 'units' attribute/tag or pass units='mm' or units='m')"
    )


def centre_coords(first: float, step: float, n: int) -> np.ndarray:
    """Pixel-centre coordinates ``first + (i + 0.5) * step`` from an outer-corner origin."""
    return float(first) + (np.arange(n, dtype=np.float64) + 0.5) * float(step)


def format_point(y: float, x: float) -> str:
    """``reference_point`` text: ``"y,x"`` in coordinate units, full precision."""
    return f"{float(y)!r},{float(x)!r}"


def relative_to_first(arr: Any, *, source: str, tol_mm: float = 1e-3) -> Any:
    """Make a (time, y, x) mm cube relative to its first date (probes only the first date).

    If the first date is already zero wherever it is finite, ``arr`` is returned unchanged;
    otherwise the first date is subtracted (lazily for dask arrays) and this is logged.
    """
    first = np.asarray(arr[0])
    finite = np.isfinite(first)
    if not finite.any() or float(np.nanmax(np.abs(first[finite]))) <= tol_mm:
        return arr
    log.info("%s: first date is not zero; re-referencing the series to the first date", source)
    return arr - arr[0:1]


def finish(ds: xr.Dataset, overrides: Mapping[str, Any] | None = None) -> xr.Dataset:
    """Apply user attribute ``overrides`` (e.g. ``{"incidence_deg": 39.7}``), turn +-inf into
    NaN (no data), validate, and warn when the values are implausible for millimetres."""
    if overrides:
        ds.attrs.update(dict(overrides))
    for key, value in UNKNOWN_GEOMETRY.items():
        ds.attrs.setdefault(key, value)
    ds = infinite_to_nan(ds, source=str(ds.attrs.get("source", "input")))
    validate(ds)
    warn_if_not_mm(ds)
    return ds


def infinite_to_nan(ds: xr.Dataset, *, source: str = "input") -> xr.Dataset:
    """``ds`` with +-inf in every floating (time, y, x) cube replaced by NaN (no data).

    In-memory cubes are fixed in place with a warning giving the count; dask-backed cubes get a
    lazy replacement (no count: nothing is read).
    """
    for name, var in ds.data_vars.items():
        if var.dims != ("time", "y", "x") or var.dtype.kind != "f":
            continue
        if var.chunks is not None:
            ds[name] = var.where(~np.isinf(var))
            ds[name].attrs = var.attrs
            continue
        bad = np.isinf(var.values)
        n = int(bad.sum())
        if n:
            ds[name] = var.copy(data=np.where(bad, np.array(np.nan, var.dtype), var.values))
            warnings.warn(
                f"{source}: {name} has {n} infinite values; written as NaN (no data)",
                RuntimeWarning,
                stacklevel=3,
            )
    return ds


#: Plausible range of the 99th percentile of |displacement| on the last date, mm (warning only).
MM_SCALE_RANGE: tuple[float, float] = (1.0, 1.0e5)


def mm_scale_problem(ds: xr.Dataset) -> str | None:
    """A sentence when ``displacement`` looks not to be in millimetres, else None.

    Probes the last date (cheap for lazy data): its 99th percentile of |value| below
    ``MM_SCALE_RANGE[0]`` (1 mm: InSAR noise alone exceeds that) suggests metres labelled mm,
    above ``MM_SCALE_RANGE[1]`` (100 m) micrometres or garbage.
    """
    da = ds["displacement"]
    if da.sizes.get("time", 0) < 2:
        return None
    last = np.asarray(da.isel(time=-1).values, dtype=np.float64)
    vals = np.abs(last[np.isfinite(last)])
    if vals.size == 0:
        return None
    p99 = float(np.percentile(vals, 99))
    lo, hi = MM_SCALE_RANGE
    src = ds.attrs.get("source", "input")
    if p99 < lo:
        return (
            f"{src}: displacement is implausibly small for millimetres (99th percentile "
            f"|value| on the last date = {p99:.3g} mm); if the file is in metres, declare it "
            "(CLI --units m, Python units='m')"
        )
    if p99 > hi:
        return (
            f"{src}: displacement is implausibly large for millimetres (99th percentile "
            f"|value| on the last date = {p99:.3g} mm); check the file's units (CLI --units)"
        )
    return None


def warn_if_not_mm(ds: xr.Dataset) -> None:
    """Warn (RuntimeWarning) with :func:`mm_scale_problem`'s sentence, if any."""
    problem = mm_scale_problem(ds)
    if problem:
        warnings.warn(problem, RuntimeWarning, stacklevel=3)


def check_shape(shape: tuple[int, ...], want: tuple[int, ...], *, source: str, what: str) -> None:
    """FormatError when a 2-D auxiliary grid (DEM, mask) does not match the data grid."""
    if tuple(shape) != tuple(want):
        raise FormatError(
            f"{source}: {what} has shape {tuple(shape)} but the displacement grid is "
            f"{tuple(want)} (rows, columns); expected the same grid"
        )


def crs_units(crs: str) -> str:
    """Coordinate units for a CRS string: "degrees" for geographic CRSs, else "m"."""
    if crs.upper() in {"EPSG:4326", "OGC:CRS84"}:
        return "degrees"
    if not crs.upper().startswith(("EPSG:", "PROJ", "+PROJ", "GEOGCS", "PROJCS")):
        return "m"
    from pyproj import CRS

    try:
        return "degrees" if CRS.from_user_input(crs).is_geographic else "m"
    except Exception:
        return "m"


def centre_value(a: np.ndarray) -> float:
    """Value at the scene centre (NaN/<=0 treated as missing), else the median of valid values."""
    a = np.asarray(a, dtype=np.float64)
    valid = np.isfinite(a) & (a > 0)
    if not valid.any():
        return float("nan")
    cy, cx = a.shape[0] // 2, a.shape[1] // 2
    if valid[cy, cx]:
        return float(a[cy, cx])
    return float(np.median(a[valid]))


def nearest_index(coord: np.ndarray, value: float) -> int | None:
    """Index of the pixel whose centre is nearest ``value`` (None if outside the grid)."""
    coord = np.asarray(coord, dtype=np.float64)
    i = int(np.argmin(np.abs(coord - value)))
    step = abs(coord[1] - coord[0]) if coord.size > 1 else np.inf
    return i if abs(coord[i] - value) <= 0.5 * step + 1e-9 * max(1.0, abs(value)) else None
