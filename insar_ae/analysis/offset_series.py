"""Fault offset through time: the step/creep fit of a swath profile at every date."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr

from insar_ae.analysis.offsets import OFFSET_MODELS, fit_offset, locate_fault
from insar_ae.errors import ParameterError

__all__ = ["offset_series"]


def _distance_m(profile: xr.Dataset) -> tuple[np.ndarray, float]:
    if "distance" not in profile.coords:
        raise ParameterError("profile_ds must come from swath_profile (no 'distance' coordinate)")
    unit_m = float(profile.attrs.get("metres_per_unit", 1.0))
    if "distance_m" in profile.coords:
        return np.asarray(profile["distance_m"].values, float), unit_m
    return np.asarray(profile["distance"].values, float) * unit_m, unit_m


def _pick_layer(profile: xr.Dataset, layer: str | None) -> str | None:
    if "layer" not in profile.dims:
        if layer is not None:
            raise ParameterError(f"locate_layer={layer!r} given but the profile has no 'layer' dim")
        return None
    names = [str(v) for v in profile["layer"].values]
    if layer is None:
        return "deformation" if "deformation" in names else names[0]
    if layer not in names:
        raise ParameterError(f"locate_layer must be one of {names}, got {layer!r}")
    return layer


def offset_series(
    profile_ds: xr.Dataset,
    *,
    model: str = "step",
    x0: float | None = None,
    kind: str = "shallow",
    stat: str = "median",
    window: float | None = None,
    depth_km: float | None = None,
    free_depth: bool = False,
    locate_layer: str | None = None,
    locate_date: object = -1,
    bootstrap: int = 0,
    seed: int | None = None,
) -> xr.Dataset:
    """Fit the fault offset at every date of a swath profile (see :mod:`.offsets`).

    Parameters
    ----------
    profile_ds
        Output of :func:`~insar_ae.analysis.swath_profile` with a ``time`` dim (and optionally
        ``layer``: every layer gets its series).
    model
        ``"step"`` or ``"creep"`` (``kind`` ``"shallow"``/``"deep"``).
    x0
        Crossing distance in the profile's distance units. If None it is located once, on
        ``locate_layer`` (default ``deformation``, the denoised layer, if present) at
        ``locate_date`` (index or date; default the last date, the largest signal): steepest
        gradient for ``step``, full creep fit for ``creep``; then kept for all dates and layers.
    stat
        Profile statistic fitted (``median`` or ``mean``).
    window
        Fit only bins within ``window`` (profile distance units) of x0.
    depth_km, free_depth
        ``creep``: fixed depth (km). Default: the depth fitted at the locating date, kept for
        all dates (linear fits, stable when the early signal is small); ``free_depth=True``
        fits D at every date.

    Returns
    -------
    xr.Dataset with dims ([layer,] time): ``offset`` and ``offset_sigma`` (mm, far side minus
    near side), ``residual_rms`` (mm), ``n_bins``; for ``creep`` also ``depth_km`` and
    ``depth_sigma_km``. Dates with too few valid bins give NaN. attrs: ``model``, ``kind``,
    ``x0`` (profile units), ``x0_m``, ``depth_km`` (if fixed), ``stat``, ``window``,
    ``locate_layer``, ``locate_date``.
    """
    if model not in OFFSET_MODELS:
        raise ParameterError(f"model must be one of {OFFSET_MODELS}, got {model!r}")
    if stat not in ("median", "mean"):
        raise ParameterError(f"stat must be 'median' or 'mean', got {stat!r}")
    if "time" not in profile_ds.dims:
        raise ParameterError(
            "profile_ds has no 'time' dim: profile all dates (a (time, y, x) input)"
        )
    dist_m, unit_m = _distance_m(profile_ds)
    da = profile_ds[stat]
    layer = _pick_layer(profile_ds, locate_layer)
    win_m = None if window is None else float(window) * unit_m
    times = pd.DatetimeIndex(profile_ds["time"].values)
    if isinstance(locate_date, (int, np.integer)):
        it = int(locate_date) % len(times)
    else:
        it = int(np.argmin(np.abs(times.asi8 - pd.Timestamp(locate_date).value)))  # type: ignore[arg-type]
    loc = da.sel(layer=layer) if layer is not None else da
    y_loc = np.asarray(loc.isel(time=it).values, float)
    fixed_depth = depth_km
    if x0 is None:
        if model == "step":
            x0_m = locate_fault(dist_m, y_loc)
        else:
            f0 = fit_offset(
                dist_m, y_loc, model="creep", kind=kind, window=win_m, depth_km=depth_km
            )
            x0_m = f0.x0
            fixed_depth = depth_km if (depth_km is not None or free_depth) else f0.depth_km
    else:
        x0_m = float(x0) * unit_m
        if model == "creep" and depth_km is None and not free_depth:
            fixed_depth = fit_offset(
                dist_m, y_loc, model="creep", x0=x0_m, kind=kind, window=win_m
            ).depth_km

    arr = da.transpose(..., "time", "distance")
    lead = arr.dims[:-1]
    vals = np.asarray(arr.values, float).reshape(-1, arr.sizes["distance"])
    names = ["offset", "offset_sigma", "residual_rms", "n_bins"] + (
        ["depth_km", "depth_sigma_km"] if model == "creep" else []
    )
    out = {k: np.full(vals.shape[0], np.nan) for k in names}
    for i, row in enumerate(vals):
        try:
            f = fit_offset(
                dist_m,
                row,
                model=model,
                x0=x0_m,
                kind=kind,
                depth_km=fixed_depth if model == "creep" else None,
                window=win_m,
                bootstrap=bootstrap,
                seed=None if seed is None else seed + i,
            )
        except (ParameterError, np.linalg.LinAlgError):
            out["n_bins"][i] = np.isfinite(row).sum()
            continue
        out["offset"][i], out["offset_sigma"][i] = f.offset_mm, f.offset_sigma_mm
        out["residual_rms"][i], out["n_bins"][i] = f.residual_rms_mm, f.n
        if model == "creep":
            out["depth_km"][i] = f.depth_km if f.depth_km is not None else math.nan
            out["depth_sigma_km"][i] = (
                f.depth_sigma_km if f.depth_sigma_km is not None else math.nan
            )
    shape = tuple(arr.sizes[d] for d in lead)
    units = {
        "offset": "mm",
        "offset_sigma": "mm",
        "residual_rms": "mm",
        "n_bins": "1",
        "depth_km": "km",
        "depth_sigma_km": "km",
    }
    coords = {d: arr[d].values for d in lead if d in arr.coords}
    data = {k: (lead, v.reshape(shape), {"units": units[k]}) for k, v in out.items()}
    attrs = {
        "model": model,
        "kind": kind if model == "creep" else "",
        "x0": x0_m / unit_m,
        "x0_m": x0_m,
        "stat": stat,
        "window": float(window) if window is not None else math.nan,
        "locate_layer": layer or "",
        "locate_date": str(times[it].date()),
        "sign": "offset = far side (larger distance) minus near side, mm",
    }
    if model == "creep" and fixed_depth is not None:
        attrs["depth_km"] = float(fixed_depth)
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    ds["n_bins"] = ds["n_bins"].fillna(0).astype(np.int32)
    return ds
