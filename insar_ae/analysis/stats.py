"""Noise characterisation: RMS per date and the empirical covariance / structure function.

The covariance and structure function are computed like kite's (Isken et al.) spectral
estimators but exactly and NaN-aware, with zero-padded FFT correlations (no wrap-around):
for a map ``z`` (mean removed) with valid-pixel mask ``m``,

    C(h) = sum_p z(p) z(p+h) / N(h)                      (covariance, mm^2)
    S(h) = sum_p (z(p) - z(p+h))^2 / N(h)                (structure function, mm^2 = 2 (var - C))

averaged over all pixel pairs whose separation falls in each distance bin (pair-weighted).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr
from scipy import fft as sfft
from scipy.optimize import curve_fit

from insar_ae.analysis.geometry import coord_units, metric_scale, positive_length
from insar_ae.analysis.reference import cube_vars
from insar_ae.errors import ParameterError

__all__ = ["fit_covariance", "noise_summary", "rms_per_date", "structure_function"]


def rms_per_date(
    da: xr.DataArray | xr.Dataset, *, remove_mean: bool = False
) -> xr.DataArray | xr.Dataset:
    """NaN-aware root mean square over (y, x) at each date (mm).

    ``remove_mean=True`` gives the standard deviation about each date's spatial mean instead.
    A Dataset gives one variable per (time, y, x) mm cube.
    """
    if isinstance(da, xr.Dataset):
        return xr.Dataset({v: rms_per_date(da[v], remove_mean=remove_mean) for v in cube_vars(da)})
    if not {"y", "x"} <= set(da.dims):
        raise ParameterError(f"da must have dims (y, x) or (time, y, x), got {da.dims}")
    z = da.astype(np.float64)
    if remove_mean:
        z = z - z.mean(("y", "x"), skipna=True)
    out = np.sqrt((z**2).mean(("y", "x"), skipna=True)).astype(np.float32)
    out.attrs = {
        "units": da.attrs.get("units", "mm"),
        "long_name": f"RMS of {da.name or 'data'}",
        "remove_mean": int(remove_mean),
    }
    return out.rename(da.name)


def _lag_window(full: np.ndarray, lags: tuple[int, int]) -> np.ndarray:
    """Circular correlation -> the (2 Ly + 1, 2 Lx + 1) block of lags -L..L (lag 0 at centre)."""
    ly, lx = lags
    rows = np.r_[full.shape[0] - ly : full.shape[0], 0 : ly + 1]
    cols = np.r_[full.shape[1] - lx : full.shape[1], 0 : lx + 1]
    return full[np.ix_(rows, cols)]


def structure_function(
    da2d: xr.DataArray,
    *,
    max_distance: float | None = None,
    bin_size: float | None = None,
    remove_mean: bool = True,
) -> xr.Dataset:
    """Empirical isotropic covariance and structure function of one map (see module doc).

    Parameters
    ----------
    da2d
        (y, x) map in mm (select a date first; to use a noise-only area, slice it first).
    max_distance, bin_size
        In metres (default: half the smaller frame side; 2 pixels).
    remove_mean
        Remove the map's mean before the covariance (the structure function does not depend on it).

    Returns
    -------
    xr.Dataset over ``distance`` (bin centres, metres): ``covariance`` and ``structure`` (mm^2),
    ``n_pairs``; attrs ``variance_mm2`` (the pixel variance, ``C(0)``) and ``n_valid``.
    """
    if set(da2d.dims) != {"y", "x"}:
        raise ParameterError(f"da2d must be a (y, x) map (select one date), got dims {da2d.dims}")
    z = np.asarray(da2d.transpose("y", "x").values, dtype=np.float64)
    m = np.isfinite(z)
    n_valid = int(m.sum())
    if n_valid < 2:
        raise ParameterError(f"structure_function needs >= 2 valid pixels, got {n_valid}")
    if remove_mean:
        z = z - z[m].mean()
    z = np.where(m, z, 0.0)
    mf = m.astype(np.float64)
    ny, nx = z.shape
    scale = metric_scale(
        coord_units(da2d),
        float(np.mean(da2d["y"].values)) if coord_units(da2d).startswith("deg") else 0.0,
    )
    px = abs(float(np.median(np.diff(da2d["x"].values)))) * scale.sx if nx > 1 else 1.0
    py = abs(float(np.median(np.diff(da2d["y"].values)))) * scale.sy if ny > 1 else px
    dmax = (
        0.5 * min(ny * py, nx * px)
        if max_distance is None
        else positive_length(max_distance, "max_distance")
    )
    bs = 2.0 * math.sqrt(px * py) if bin_size is None else positive_length(bin_size, "bin_size")
    nb = max(1, math.ceil(dmax / bs))
    lags = (min(ny - 1, math.ceil(nb * bs / py)), min(nx - 1, math.ceil(nb * bs / px)))
    # zero padding to n + max lag is enough for exact (non-wrapped) lags up to the max lag
    shape = (sfft.next_fast_len(ny + lags[0]), sfft.next_fast_len(nx + lags[1]))
    fz, fm, fz2 = (sfft.rfft2(a, shape) for a in (z, mf, z * z))
    npairs = _lag_window(sfft.irfft2(fm * np.conj(fm), shape), lags)
    zz = _lag_window(sfft.irfft2(np.conj(fz) * fz, shape), lags)
    z2m = _lag_window(sfft.irfft2(np.conj(fz2) * fm, shape), lags)  # sum_p z(p)^2 m(p+h)
    m2z = z2m[::-1, ::-1]  # sum_p m(p) z(p+h)^2 = z2m(-h)
    hy = np.arange(-lags[0], lags[0] + 1) * py
    hx = np.arange(-lags[1], lags[1] + 1) * px
    r = np.hypot(hy[:, None], hx[None, :])
    valid = (npairs > 0.5) & (r > 0) & (r < nb * bs)  # lag 0 is the variance (attrs), not a bin
    b = (r[valid] / bs).astype(np.intp)
    w = np.bincount(b, weights=npairs[valid], minlength=nb)
    cov = np.bincount(b, weights=zz[valid], minlength=nb)
    sf = np.bincount(b, weights=(z2m + m2z - 2.0 * zz)[valid], minlength=nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov, sf = cov / w, sf / w
    var = float((z[m] ** 2).mean())
    return xr.Dataset(
        {
            "covariance": ("distance", cov, {"units": "mm2"}),
            "structure": ("distance", sf, {"units": "mm2"}),
            "n_pairs": ("distance", np.rint(w).astype(np.int64)),
        },
        coords={"distance": ("distance", (np.arange(nb) + 0.5) * bs, {"units": "m"})},
        attrs={"variance_mm2": var, "n_valid": n_valid, "bin_size_m": bs},
    )


def fit_covariance(sf: xr.Dataset) -> dict[str, float]:
    """Fit ``C(r) = variance * exp(-r / length)`` to a :func:`structure_function` result.

    Pair-weighted, bins with r > 0 only (a pixel-noise nugget shows as ``nugget_mm2`` =
    C(0) minus the fitted variance). Returns ``variance_mm2``, ``length_m``, ``nugget_mm2``.
    """
    r = np.asarray(sf["distance"].values, float)
    c = np.asarray(sf["covariance"].values, float)
    w = np.asarray(sf["n_pairs"].values, float)
    ok = np.isfinite(c) & (w > 0)
    if ok.sum() < 3:
        raise ParameterError("fit_covariance needs >= 3 valid distance bins")
    r, c, w = r[ok], c[ok], w[ok]
    c0 = max(float(c[0]), 1e-12)
    below = np.nonzero(c < c0 / math.e)[0]
    l0 = float(r[below[0]]) if below.size else float(r[-1])
    try:
        (v, ln), _ = curve_fit(
            lambda x, a, b: a * np.exp(-x / b),
            r,
            c,
            p0=(c0, max(l0, r[0])),
            sigma=1.0 / np.sqrt(w),
            bounds=((0.0, 1e-9), (np.inf, np.inf)),
        )
    except (RuntimeError, ValueError):
        v, ln = math.nan, math.nan
    return {
        "variance_mm2": float(v),
        "length_m": float(ln),
        "nugget_mm2": float(sf.attrs.get("variance_mm2", math.nan) - v),
    }


def noise_summary(
    ds: xr.Dataset,
    *,
    layers: Sequence[str] | None = None,
    date: object = -1,
    max_distance: float | None = None,
) -> pd.DataFrame:
    """Numbers to compare layers (raw, denoised, noise...): one row per layer.

    Columns: ``rms_median_mm`` (median over dates of the per-date RMS, first date excluded when
    it is the all-zero reference), ``std_at_date_mm``, ``cov_variance_mm2``, ``cov_length_km``
    and ``nugget_mm2`` (exponential fit of the covariance at ``date``), ``date``.
    """
    names = list(layers) if layers is not None else cube_vars(ds)
    if isinstance(date, (int, np.integer)):
        i = int(date)
    else:
        i = int(
            np.argmin(np.abs(pd.DatetimeIndex(ds["time"].values).asi8 - pd.Timestamp(date).value))
        )  # type: ignore[arg-type]
    rows = {}
    for v in names:
        if v not in ds:
            raise ParameterError(f"layer {v!r} not in dataset; available {cube_vars(ds)}")
        rms = np.asarray(rms_per_date(ds[v]).values, float)
        if rms.size > 1 and rms[0] == 0.0:
            rms = rms[1:]
        m = ds[v].isel(time=i)
        sf = structure_function(m, max_distance=max_distance)
        fit = fit_covariance(sf)
        rows[v] = {
            "rms_median_mm": float(np.nanmedian(rms)),
            "std_at_date_mm": float(np.sqrt(sf.attrs["variance_mm2"])),
            "cov_variance_mm2": fit["variance_mm2"],
            "cov_length_km": fit["length_m"] / 1000.0,
            "nugget_mm2": fit["nugget_mm2"],
            "date": str(pd.Timestamp(ds["time"].values[i]).date()),
        }
    return pd.DataFrame.from_dict(rows, orient="index")
