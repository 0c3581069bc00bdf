"""Re-referencing in space (a point, an area) and in time (another date).

Every (time, y, x) millimetre cube of a Dataset (``displacement``, ``deformation``,
``deformation_true``, ``noise``, ``turbulent``...) is re-referenced; ``height`` and ``mask`` are left
alone. The result is new data (inputs are never modified; dask arrays stay lazy apart from the
small reference window) and the reference is recorded in attrs (on the Dataset and on each
re-referenced variable): ``reference_point`` = "y,x" (coordinate units) of the pixel used,
``reference_area`` = JSON {x, y, radius | box, units, stat, n_pixels}, ``reference_date`` =
"YYYY-MM-DD".

Area references use the NaN-aware **median** over the area at each date. To keep the model
identity ``noise = displacement - deformation`` exact, ``noise`` is shifted by
``ref(displacement) - ref(deformation)`` rather than by its own median.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import xarray as xr

from insar_ae.analysis.geometry import area_selection, coord_units
from insar_ae.datamodel import CUBE_VARS
from insar_ae.errors import ParameterError

__all__ = ["cube_vars", "reference_to_area", "reference_to_date", "reference_to_point"]

_MM = {"mm", "millimetre", "millimeter", "millimetres", "millimeters"}


def cube_vars(ds: xr.Dataset) -> list[str]:
    """Names of the (time, y, x) millimetre cubes of ``ds`` (the layers re-referenced)."""
    out = []
    for name, v in ds.data_vars.items():
        if set(v.dims) == {"time", "y", "x"} and (
            name in CUBE_VARS or str(v.attrs.get("units", "")).lower() in _MM
        ):
            out.append(str(name))
    return out


def _targets(obj: xr.Dataset | xr.DataArray) -> list[str]:
    if isinstance(obj, xr.DataArray):
        if not {"y", "x"} <= set(obj.dims):
            raise ParameterError(f"obj must have dims (y, x) or (time, y, x), got {obj.dims}")
        return []
    names = cube_vars(obj)
    if not names:
        raise ParameterError(
            f"no (time, y, x) mm variable to re-reference in {list(obj.data_vars)}"
        )
    return names


def _window_reference(
    da: xr.DataArray, ys: slice, xs: slice, mask: np.ndarray, what: str
) -> xr.DataArray:
    """NaN-aware median of ``da`` over the window pixels where ``mask``, per date (float32)."""
    sub = np.asarray(da.isel(y=ys, x=xs).transpose(..., "y", "x").values, dtype=np.float64)
    vals = sub[..., mask]
    finite = np.isfinite(vals)
    n_ok = finite.sum(axis=-1)
    if not n_ok.any():
        raise ParameterError(
            f"reference {what} has no valid (finite) pixel of {da.name or 'the data'!r} at any date; "
            "choose another point/area or enlarge the area"
        )
    ref = np.full(vals.shape[:-1], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref[n_ok > 0] = np.nanmedian(vals[n_ok > 0], axis=-1)
    lead = [d for d in da.transpose(..., "y", "x").dims[:-2]]
    if (n_ok == 0).any() and "time" in lead:
        bad = pd.DatetimeIndex(np.asarray(da["time"].values)[np.atleast_1d(n_ok == 0)])
        warnings.warn(
            f"reference {what} has no valid pixel of {da.name or 'the data'!r} at {len(bad)} date(s) "
            f"({', '.join(str(d.date()) for d in bad[:5])}{'...' if len(bad) > 5 else ''}); "
            "those dates become NaN",
            RuntimeWarning,
            stacklevel=3,
        )
    coords = {d: da[d].values for d in lead if d in da.coords}
    return xr.DataArray(ref.astype(np.float32), dims=lead, coords=coords)


def _apply(
    obj: xr.Dataset | xr.DataArray,
    refs: dict[str, xr.DataArray],
    attrs: dict[str, str],
    drop: tuple[str, ...],
) -> xr.Dataset | xr.DataArray:
    def shifted(da: xr.DataArray, r: xr.DataArray) -> xr.DataArray:
        out = (da - r).astype(da.dtype)
        out.attrs = {k: v for k, v in da.attrs.items() if k not in drop} | attrs
        out.encoding = dict(da.encoding)
        return out.transpose(*da.dims)

    if isinstance(obj, xr.DataArray):
        return shifted(obj, refs[""])
    out = obj.copy(deep=False)
    for name, r in refs.items():
        out[name] = shifted(obj[name], r)
    out.attrs = {k: v for k, v in obj.attrs.items() if k not in drop} | attrs
    return out


def _spatial(
    obj: xr.Dataset | xr.DataArray,
    ys: slice,
    xs: slice,
    mask: np.ndarray,
    what: str,
    attrs: dict[str, str],
    drop: tuple[str, ...],
) -> xr.Dataset | xr.DataArray:
    names = _targets(obj)
    if isinstance(obj, xr.DataArray):
        return _apply(obj, {"": _window_reference(obj, ys, xs, mask, what)}, attrs, drop)
    refs: dict[str, xr.DataArray] = {}
    linked = "noise" in names and "displacement" in names and "deformation" in names
    for name in names:
        if name == "noise" and linked:
            continue
        refs[name] = _window_reference(obj[name], ys, xs, mask, what)
    if linked:
        refs["noise"] = refs["displacement"] - refs["deformation"]
    return _apply(obj, refs, attrs, drop)


def reference_to_point(
    obj: xr.Dataset | xr.DataArray, *, x: float, y: float
) -> xr.Dataset | xr.DataArray:
    """Subtract, at each date, the value of the pixel nearest to map point (x, y).

    Returns new data (all mm cubes of a Dataset, see module doc) with ``reference_point`` =
    "y,x" of the pixel used. Raises ``ParameterError`` if the point is outside the frame or the
    pixel is NaN at every date (dates where only it is NaN become NaN, with a warning).
    """
    ys, xs, mask, _ = area_selection(obj, x=x, y=y)
    py, px = float(obj["y"].values[ys.start]), float(obj["x"].values[xs.start])
    what = f"point x={x}, y={y} (pixel x={px}, y={py})"
    attrs = {"reference_point": f"{py},{px}"}
    return _spatial(obj, ys, xs, mask, what, attrs, drop=("reference_area",))


def reference_to_area(
    obj: xr.Dataset | xr.DataArray,
    *,
    x: float,
    y: float,
    radius: float | None = None,
    box: float | tuple[float, float] | None = None,
) -> xr.Dataset | xr.DataArray:
    """Subtract, at each date, the NaN-aware median over a circle or box around (x, y).

    Parameters
    ----------
    x, y
        Centre in map coordinates.
    radius
        Circle radius in the dataset's units (metres; arc degrees for a degree dataset).
    box
        Box half sides, scalar or (half_x, half_y), same units. Give exactly one of the two.

    Raises ``ParameterError`` when neither/both are given, the centre is outside the frame, the
    area holds no pixel centre, or the area is all NaN at every date.
    """
    if radius is None and box is None:
        raise ParameterError("reference_to_area needs radius= or box= (in the dataset's x/y units)")
    if radius is not None and not float(radius) > 0:
        raise ParameterError(f"radius must be > 0 (dataset x/y units), got {radius!r}")
    ys, xs, mask, _ = area_selection(obj, x=x, y=y, radius=radius, box=box)
    spec: dict[str, object] = {
        "x": float(x),
        "y": float(y),
        "units": coord_units(obj),
        "stat": "median",
        "n_pixels": int(mask.sum()),
    }
    if box is not None:
        spec["box"] = [float(v) for v in np.broadcast_to(np.asarray(box, float), (2,))]
    else:
        spec["radius"] = float(radius)  # type: ignore[arg-type]
    what = f"area {json.dumps(spec)}"
    return _spatial(
        obj, ys, xs, mask, what, {"reference_area": json.dumps(spec)}, drop=("reference_point",)
    )


def _date_index(times: np.ndarray, date: object) -> int:
    n = len(times)
    if isinstance(date, (int, np.integer)) and not isinstance(date, bool):
        if not -n <= int(date) < n:
            raise ParameterError(f"date index must be in [{-n}, {n - 1}], got {date}")
        return int(date) % n
    try:
        t = pd.Timestamp(date)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"date must be a date (e.g. '2021-06-01') or an index, got {date!r}"
        ) from exc
    tt = pd.DatetimeIndex(times)
    spacing = pd.Timedelta(np.median(np.diff(tt.asi8))) if n > 1 else pd.Timedelta(days=1)
    if t < tt[0] - spacing or t > tt[-1] + spacing:
        raise ParameterError(
            f"date {t.date()} is outside the time span [{tt[0].date()}, {tt[-1].date()}]"
        )
    i = int(np.argmin(np.abs(tt.asi8 - t.value)))
    if tt[i].normalize() != t.normalize():
        warnings.warn(
            f"date {t.date()} is not an acquisition date; using the nearest, {tt[i].date()}",
            UserWarning,
            stacklevel=3,
        )
    return i


def reference_to_date(obj: xr.Dataset | xr.DataArray, date: object) -> xr.Dataset | xr.DataArray:
    """Re-reference in time: subtract each pixel's value at ``date`` from every date.

    ``date`` is a date-like (the nearest acquisition is used, with a warning if not exact) or an
    integer index. The result is 0 at that date (NaN where the pixel is NaN then) and
    ``reference_date`` records the acquisition date used.
    """
    if "time" not in obj.dims:
        raise ParameterError(
            f"obj has no 'time' dim to re-reference in time (dims {tuple(obj.dims)})"
        )
    names = _targets(obj)
    i = _date_index(np.asarray(obj["time"].values), date)
    day = str(pd.Timestamp(obj["time"].values[i]).date())
    attrs = {"reference_date": day}
    if isinstance(obj, xr.DataArray):
        return _apply(obj, {"": obj.isel(time=i, drop=True)}, attrs, drop=())
    refs = {name: obj[name].isel(time=i, drop=True) for name in names if "time" in obj[name].dims}
    return _apply(obj, refs, attrs, drop=())
