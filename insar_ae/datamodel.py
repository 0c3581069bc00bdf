"""The canonical data model: one ``xarray.Dataset`` layout used everywhere.

Layout (dims ``(time, y, x)``)
------------------------------
``displacement``  float32 (time, y, x), millimetres, line of sight, **positive toward the
                  satellite** (uplift is positive in a vertical LOS; MintPy/LiCSBAS convention),
                  relative to the first date (first frame is 0 where valid); NaN = no data.
``height``        float32 (y, x), metres above the ellipsoid/geoid (DEM).
``mask``          optional bool (y, x), True = valid pixel.
``deformation``   model output, (time, y, x), mm, same convention as ``displacement``.
``noise``         model output, ``displacement - deformation``. The attributes of both
                  (units, long_name, ``positive``) are defined once, in :data:`OUTPUT_ATTRS`.
``deformation_true``, ``turbulent``, ``stratified``, ``ramp``
                  synthetic scenes only: the truth and each noise component, mm, same convention.

Coordinates: ``time`` datetime64[ns] strictly increasing; ``y`` and ``x`` 1-D, monotonic, in metres
of a projected CRS or in degrees (attrs ``units`` and ``crs`` on each).
Dataset attrs: ``title``, ``source``, ``sensor``, ``wavelength_m``, ``heading_deg``,
``incidence_deg``, ``reference_date`` and, where known, ``reference_point`` ("y,x" in coordinate
units) or ``reference_area``.

``validate(ds)`` checks all of it and raises :class:`~insar_ae.errors.DataModelError` listing every
violation. It is called once at each boundary (reader output, generator output, writer input,
``denoise`` in and out, in-memory frames handed to the dashboard); code between boundaries trusts
it: a catalog frame is checked by its reader only, not again by the catalog or the dashboard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from insar_ae.errors import DataModelError

__all__ = [
    "CUBE_VARS",
    "DIMS",
    "MM",
    "OUTPUT_ATTRS",
    "POSITIVE",
    "SYNTHETIC_VARS",
    "make_dataset",
    "output_attrs",
    "validate",
]

DIMS: tuple[str, str, str] = ("time", "y", "x")
MM = "mm"
#: Variables with dims (time, y, x) in millimetres, same sign convention as ``displacement``.
CUBE_VARS: tuple[str, ...] = (
    "displacement",
    "deformation",
    "noise",
    "deformation_true",
    "turbulent",
    "stratified",
    "ramp",
)
SYNTHETIC_VARS: tuple[str, ...] = ("deformation_true", "turbulent", "stratified", "ramp")
#: Sign convention of every LOS cube, as its ``positive`` attribute: motion toward the satellite
#: (uplift in a vertical LOS) is positive (MintPy/LiCSBAS convention).
POSITIVE = "toward the satellite"
#: The one definition of the attributes of the model's output cubes (time, y, x): ``units``
#: (mm), ``long_name`` and ``positive`` (same sign convention as ``displacement``). Used by
#: ``insar_ae.model.denoise`` (which adds run attributes: model, tiling, reference date), the
#: block-wise store of ``insar_ae.distributed`` and the dashboard's result cache. Read-only.
OUTPUT_ATTRS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "deformation": MappingProxyType(
            {"units": MM, "long_name": "deformation (auto-encoder estimate)", "positive": POSITIVE}
        ),
        "noise": MappingProxyType(
            {"units": MM, "long_name": "noise = displacement - deformation", "positive": POSITIVE}
        ),
    }
)
_XY_UNITS = {"m", "metre", "meter", "metres", "meters", "degrees", "degree", "deg", "pixel"}
_MM_ALIASES = {"mm", "millimetre", "millimeter", "millimetres", "millimeters"}


def output_attrs(name: str) -> dict[str, str]:
    """A fresh, mutable copy of :data:`OUTPUT_ATTRS` ``[name]`` (``"deformation"`` or ``"noise"``).

    Units mm; ``positive`` = :data:`POSITIVE` (toward the satellite), as ``displacement``.
    """
    return dict(OUTPUT_ATTRS[name])


def make_dataset(
    displacement: np.ndarray | Any,
    height: np.ndarray | Any,
    time: Sequence[Any] | np.ndarray | pd.DatetimeIndex,
    y: np.ndarray,
    x: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    crs: str = "local",
    xy_units: str = "m",
    extra: Mapping[str, np.ndarray | Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Build a canonical Dataset from arrays (no copies beyond dtype casts).

    Parameters
    ----------
    displacement
        (time, y, x) LOS displacement in **mm**, positive toward the satellite, relative to the
        first date. numpy or dask arrays.
    height
        (y, x) DEM in metres.
    time, y, x
        Coordinates: dates (anything ``pandas.to_datetime`` parses), and 1-D northing/easting (or
        latitude/longitude in degrees, then ``xy_units="degrees"``).
    mask
        Optional (y, x) bool, True = valid.
    crs
        CRS string ("EPSG:4326", "EPSG:32636", or "local" for synthetic metric grids).
    extra
        Further (time, y, x) cubes in mm (``deformation_true``, ``turbulent``...).
    attrs
        Dataset attributes (``title``, ``source``, ``sensor``, ``wavelength_m``...).
    """
    t = pd.DatetimeIndex(pd.to_datetime(np.asarray(time))).as_unit("ns")
    dims = DIMS
    data_vars: dict[str, Any] = {
        "displacement": (
            dims,
            _as_float32(displacement),
            {"units": MM, "long_name": "LOS displacement", "positive": POSITIVE},
        ),
        "height": (("y", "x"), _as_float32(height), {"units": "m", "long_name": "height"}),
    }
    if mask is not None:
        data_vars["mask"] = (("y", "x"), np.asarray(mask, dtype=bool), {"long_name": "valid pixel"})
    for name, arr in (extra or {}).items():
        data_vars[name] = (dims, _as_float32(arr), {"units": MM, "positive": POSITIVE})
    coord_attrs = {"units": xy_units, "crs": crs}
    ds = xr.Dataset(
        data_vars,
        coords={
            "time": ("time", t.values),
            "y": ("y", np.asarray(y, dtype=np.float64), dict(coord_attrs, long_name="y")),
            "x": ("x", np.asarray(x, dtype=np.float64), dict(coord_attrs, long_name="x")),
        },
        attrs=dict(attrs or {}),
    )
    ds.attrs.setdefault("crs", crs)
    ds.attrs.setdefault("reference_date", str(t[0].date()) if len(t) else "")
    return ds


def _as_float32(a: Any) -> Any:
    if hasattr(a, "dask") or type(a).__module__.startswith("dask"):
        return a.astype(np.float32)
    return np.asarray(a, dtype=np.float32)


def validate(ds: xr.Dataset, *, require_valid_data: bool = True) -> xr.Dataset:
    """Check ``ds`` against the canonical data model; return it unchanged if it conforms.

    Raises
    ------
    DataModelError
        One message listing every violation found (missing variable, wrong dims, non-increasing
        time, wrong units, height shape mismatch, all-NaN displacement, ...).
    """
    if not isinstance(ds, xr.Dataset):
        raise DataModelError(f"expected an xarray.Dataset, got {type(ds).__name__}")
    problems: list[str] = []
    if "displacement" not in ds:
        problems.append("missing variable 'displacement' (time, y, x) in mm")
    if "height" not in ds:
        problems.append("missing variable 'height' (y, x) in metres")
    for name in CUBE_VARS:
        if name in ds:
            _check_cube(ds, name, problems)
    if "height" in ds:
        h = ds["height"]
        if h.dims != ("y", "x"):
            problems.append(f"'height' must have dims ('y', 'x'), got {h.dims}")
        elif "displacement" in ds and ds["displacement"].dims == DIMS:
            want = (ds.sizes["y"], ds.sizes["x"])
            if h.shape != want:
                problems.append(f"height shape {h.shape} does not match displacement (y, x) {want}")
        units = str(h.attrs.get("units", "")).lower()
        if units not in {"m", "metre", "meter", "metres", "meters"}:
            problems.append(f"'height' units must be 'm', got {units!r}")
    if "mask" in ds:
        m = ds["mask"]
        if m.dims != ("y", "x"):
            problems.append(f"'mask' must have dims ('y', 'x'), got {m.dims}")
        if m.dtype != bool:
            problems.append(f"'mask' must be bool (True = valid), got dtype {m.dtype}")
    _check_coords(ds, problems)
    if require_valid_data and "displacement" in ds and not problems:
        _check_not_all_nan(ds, problems)
    if problems:
        raise DataModelError("invalid insar_ae Dataset: " + "; ".join(problems))
    return ds


def _check_cube(ds: xr.Dataset, name: str, problems: list[str]) -> None:
    da = ds[name]
    if da.dims != DIMS:
        problems.append(f"{name!r} must have dims {DIMS}, got {da.dims}")
    units = str(da.attrs.get("units", "")).lower()
    if units not in _MM_ALIASES:
        problems.append(f"{name!r} units must be 'mm' (millimetres), got {units!r}")
    if not np.issubdtype(da.dtype, np.floating):
        problems.append(f"{name!r} must be floating point, got dtype {da.dtype}")


def _check_coords(ds: xr.Dataset, problems: list[str]) -> None:
    for dim in DIMS:
        if dim not in ds.coords:
            problems.append(f"missing coordinate {dim!r}")
    if "time" in ds.coords:
        t = ds["time"].values
        if not np.issubdtype(t.dtype, np.datetime64):
            problems.append(f"'time' must be datetime64, got {t.dtype}")
        elif t.size > 1 and not np.all(np.diff(t.astype("datetime64[ns]").astype(np.int64)) > 0):
            problems.append("'time' must be strictly increasing")
        if t.size == 0:
            problems.append("'time' is empty")
    for dim in ("y", "x"):
        if dim in ds.coords:
            c = ds[dim]
            if c.ndim != 1:
                problems.append(f"coordinate {dim!r} must be 1-D")
                continue
            units = str(c.attrs.get("units", "")).lower()
            if units not in _XY_UNITS:
                problems.append(
                    f"coordinate {dim!r} units must be metres or degrees, got {units!r}"
                )
            v = np.asarray(c.values, dtype=float)
            if v.size > 1:
                d = np.diff(v)
                if not (np.all(d > 0) or np.all(d < 0)):
                    problems.append(f"coordinate {dim!r} must be strictly monotonic")


def _check_not_all_nan(ds: xr.Dataset, problems: list[str]) -> None:
    da = ds["displacement"]
    if da.ndim != 3:
        return
    # Cheap for lazy arrays: probe the last date only (a cube that is all-NaN is all-NaN there too
    # unless only the last date is empty, which the per-date check of denoise catches).
    probe = da.isel(time=-1) if da.chunks is not None else da
    if not bool(np.isfinite(np.asarray(probe.values)).any()):
        problems.append("'displacement' is all NaN (no valid data)")
