"""Classical deformation estimators used as yardsticks for the model.

All take a canonical Dataset (``displacement`` mm, relative to the first date) and return a
DataArray (time, y, x) in mm, NaN where the input is NaN, referenced to the first date (the
estimate at the first date is subtracted, so every method shares the truth's convention).
Filters are NaN-aware Gaussian normalised convolutions (weights = finite pixels/dates).

Default parameters were picked by a small sweep on two separate validation scenes (seeds
9001-9002, ``bench/quality.py``; grids sigma_px 4-32, sigma_days 12-96, the ranges used in
practice; see ``bench/results/model.md``); the test set was never used. Under 5-15 mm of
atmosphere the sweep picks the strongest smoothing of each grid.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage

from insar_ae.datamodel import MM, validate
from insar_ae.errors import ParameterError

__all__ = [
    "DEFAULTS",
    "nan_gaussian_space",
    "nan_gaussian_time",
    "spatial_highpass",
    "spatiotemporal_filter",
    "temporal_smooth",
]

#: Tuned defaults (validation-scene sweep, see module docstring).
DEFAULTS: dict[str, dict[str, float]] = {
    "spatial_highpass": {"sigma_px": 4.0},
    "spatiotemporal_filter": {"sigma_days": 96.0, "sigma_px": 4.0},
    "temporal_smooth": {"sigma_days": 96.0},
}


def _positive(name: str, value: float) -> float:
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise ParameterError(f"{name}={value!r} must be a finite positive number")
    return v


def nan_gaussian_space(cube: np.ndarray, sigma_px: float) -> np.ndarray:
    """Per-date NaN-aware Gaussian low-pass of a (time, y, x) cube (reflect at edges)."""
    ok = np.isfinite(cube)
    num = ndimage.gaussian_filter(
        np.where(ok, cube, 0.0), sigma=(0, sigma_px, sigma_px), mode="reflect", truncate=3.0
    )
    den = ndimage.gaussian_filter(
        ok.astype(np.float64), sigma=(0, sigma_px, sigma_px), mode="reflect", truncate=3.0
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    return np.where(den > 1e-3, out, np.nan)


def nan_gaussian_time(cube: np.ndarray, days: np.ndarray, sigma_days: float) -> np.ndarray:
    """Per-pixel NaN-aware Gaussian smoothing along time with irregular dates (days)."""
    d = np.asarray(days, dtype=np.float64)
    k = np.exp(-0.5 * ((d[:, None] - d[None, :]) / sigma_days) ** 2)  # (out, in)
    ok = np.isfinite(cube)
    flat = np.where(ok, cube, 0.0).reshape(cube.shape[0], -1)
    num = k @ flat
    den = k @ ok.reshape(cube.shape[0], -1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (num / den).reshape(cube.shape)
    return out


def _cube(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    validate(ds)
    cube = np.asarray(ds["displacement"].values, dtype=np.float64)
    cube = np.where(np.isfinite(cube), cube, np.nan)
    t = ds["time"].values.astype("datetime64[s]").astype(np.int64) / 86400.0
    return cube, t - t[0]


def _finish(ds: xr.Dataset, est: np.ndarray, method: str, params: dict[str, float]) -> xr.DataArray:
    est = est - est[0:1]
    est = np.where(np.isfinite(ds["displacement"].values), est, np.nan).astype(np.float32)
    da = ds["displacement"]
    return xr.DataArray(
        est,
        dims=da.dims,
        coords=da.coords,
        name="deformation",
        attrs={"units": MM, "positive": "toward the satellite", "method": method, **params},
    )


def spatial_highpass(
    ds: xr.Dataset, sigma_px: float = DEFAULTS["spatial_highpass"]["sigma_px"]
) -> xr.DataArray:
    """Deformation = displacement minus its per-date Gaussian low-pass (sigma in pixels).

    Removes long-wavelength atmosphere and ramps, and with them any deformation broader than
    ~``sigma_px``.
    """
    s = _positive("sigma_px", sigma_px)
    cube, _ = _cube(ds)
    return _finish(ds, cube - nan_gaussian_space(cube, s), "spatial_highpass", {"sigma_px": s})


def spatiotemporal_filter(
    ds: xr.Dataset,
    sigma_days: float = DEFAULTS["spatiotemporal_filter"]["sigma_days"],
    sigma_px: float = DEFAULTS["spatiotemporal_filter"]["sigma_px"],
) -> xr.DataArray:
    """LiCSBAS-style filter: atmosphere = spatial low-pass of the temporal high-pass.

    ``hp = d - G_t(d)`` (Gaussian in time, ``sigma_days``), ``atmosphere = G_xy(hp)``
    (Gaussian in space, ``sigma_px``), deformation = ``d - atmosphere``.
    """
    st = _positive("sigma_days", sigma_days)
    sx = _positive("sigma_px", sigma_px)
    cube, days = _cube(ds)
    hp = cube - nan_gaussian_time(cube, days, st)
    atmo = nan_gaussian_space(hp, sx)
    return _finish(ds, cube - atmo, "spatiotemporal_filter", {"sigma_days": st, "sigma_px": sx})


def temporal_smooth(
    ds: xr.Dataset, sigma_days: float = DEFAULTS["temporal_smooth"]["sigma_days"]
) -> xr.DataArray:
    """Per-pixel Gaussian smoothing of the time series (``sigma_days``)."""
    st = _positive("sigma_days", sigma_days)
    cube, days = _cube(ds)
    return _finish(ds, nan_gaussian_time(cube, days, st), "temporal_smooth", {"sigma_days": st})
