"""Per-pixel linear rate maps (the ``velocity.h5`` of MintPy's ``timeseries2velocity``).

Each pixel's series is fitted by weighted least squares on the dates where it is finite:
``d(t) = c + v t [+ a sin(2 pi t) + b cos(2 pi t)]`` with ``t`` in years since the first date.
All pixels are solved at once (one small normal-equation system per pixel), so a 2000 x 2000
map takes seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from insar_ae.analysis._lsq import scatter_covariance
from insar_ae.errors import ParameterError

__all__ = ["RateFit", "fit_rate", "velocity"]

_DAYS_PER_YEAR = 365.25


def velocity(da: xr.DataArray, *, annual: bool = False, min_valid: float = 0.8) -> xr.DataArray:
    """Linear rate (mm/yr) of every pixel of a (time, y, x) cube in mm.

    Parameters
    ----------
    da
        (time, y, x) DataArray, mm (LOS positive toward the satellite, so a positive rate is
        motion toward the satellite, e.g. uplift).
    annual
        Also fit an annual sine and cosine (recommended where seasonal signals are strong).
    min_valid
        Least share of the dates (0-1] a pixel must have finite to get a rate; NaN otherwise.

    Returns
    -------
    DataArray (y, x), mm/yr, named ``velocity``, with attrs ``units``, ``model`` and ``t0``.
    """
    if set(da.dims) != {"time", "y", "x"}:
        raise ParameterError(f"velocity needs a (time, y, x) cube, got dims {da.dims}")
    if not 0.0 < float(min_valid) <= 1.0:
        raise ParameterError(f"min_valid={min_valid!r} must be in (0, 1]")
    da = da.transpose("time", "y", "x")
    dates = pd.DatetimeIndex(da["time"].values)
    t = ((dates - dates[0]).days / _DAYS_PER_YEAR).to_numpy(dtype=float)
    cols = [np.ones_like(t), t] + ([np.sin(2 * np.pi * t), np.cos(2 * np.pi * t)] if annual else [])
    design = np.column_stack(cols)
    if len(t) < design.shape[1] + 1:
        raise ParameterError(
            f"{len(t)} dates are too few to fit {design.shape[1]} terms and "
            "estimate a rate; need at least one more date"
        )
    y = np.asarray(da.values, dtype=float).reshape(len(t), -1)
    w = np.isfinite(y).astype(float)
    gram = np.einsum("ti,tj,tp->pij", design, design, w)  # A^T W A per pixel
    rhs = np.einsum("ti,tp->pi", design, np.where(w > 0, y, 0.0))  # A^T W y per pixel
    ok = w.mean(axis=0) >= float(min_valid)
    ok[ok] = np.abs(np.linalg.det(gram[ok])) > 1e-12  # e.g. valid dates too close together
    rate = np.full(y.shape[1], np.nan)
    if ok.any():
        rate[ok] = np.linalg.solve(gram[ok], rhs[ok][..., None])[:, 1, 0]
    model = "offset + rate" + (" + annual sine/cosine" if annual else "")
    return xr.DataArray(
        rate.reshape(da.shape[1:]).astype(np.float32),
        dims=("y", "x"),
        coords={"y": da["y"], "x": da["x"]},
        name="velocity",
        attrs={
            "units": "mm/yr",
            "model": model,
            "t0": str(dates[0].date()),
            "positive": "toward the satellite",
        },
    )


@dataclass(frozen=True)
class RateFit:
    """Linear (+ annual) fit of one time series: rate and annual amplitude with 1-sigma
    (residual scatter, independent residuals assumed, so a lower bound where the noise is
    correlated in time). ``rate_mm_yr`` positive = toward the satellite."""

    rate_mm_yr: float
    rate_sigma_mm_yr: float
    offset_mm: float
    annual_amplitude_mm: float
    annual_amplitude_sigma_mm: float
    residual_rms_mm: float
    n: int
    annual: bool
    t0: str

    def curve(self, dates: object) -> np.ndarray:
        """The fitted model (mm) at ``dates``."""
        t = _years(pd.DatetimeIndex(dates), pd.Timestamp(self.t0))
        return (
            self.offset_mm
            + self.rate_mm_yr * t
            + (
                self._sin * np.sin(2 * np.pi * t) + self._cos * np.cos(2 * np.pi * t)
                if self.annual
                else 0.0
            )
        )

    _sin: float = 0.0
    _cos: float = 0.0


def _years(dates: pd.DatetimeIndex, t0: pd.Timestamp) -> np.ndarray:
    return ((dates - t0).days / _DAYS_PER_YEAR).to_numpy(dtype=float)


def fit_rate(dates: object, values: object, *, annual: bool = True) -> RateFit:
    """Fit ``c + v t [+ a sin 2 pi t + b cos 2 pi t]`` (t in years since the first date) to one
    series (mm; NaN dates ignored): rate ``v`` (mm/yr) and annual amplitude ``hypot(a, b)`` (mm)
    with 1-sigma from the residual scatter."""
    t_all = pd.DatetimeIndex(dates)
    y = np.asarray(values, dtype=float).ravel()
    if y.size != len(t_all):
        raise ParameterError(f"fit_rate: {len(t_all)} dates but {y.size} values")
    ok = np.isfinite(y)
    t = _years(t_all, t_all[0])[ok]
    y = y[ok]
    cols = [np.ones_like(t), t] + ([np.sin(2 * np.pi * t), np.cos(2 * np.pi * t)] if annual else [])
    A = np.column_stack(cols)
    if y.size < A.shape[1] + 1 or np.ptp(t) <= 0:
        raise ParameterError(f"fit_rate: {y.size} valid dates are too few for {A.shape[1]} terms")
    beta, *_ = np.linalg.lstsq(A, y, rcond=None)
    r = y - A @ beta
    rss = float(r @ r)
    cov = scatter_covariance(A, rss, y.size, A.shape[1])
    amp, amp_sig = 0.0, 0.0
    if annual:
        a, b = float(beta[2]), float(beta[3])
        amp = math.hypot(a, b)
        g = np.array([a, b]) / amp if amp > 0 else np.array([1.0, 0.0])
        amp_sig = float(math.sqrt(max(g @ cov[2:4, 2:4] @ g, 0.0)))
    return RateFit(
        float(beta[1]),
        float(math.sqrt(max(cov[1, 1], 0.0))),
        float(beta[0]),
        amp,
        amp_sig,
        float(math.sqrt(rss / y.size)),
        int(y.size),
        bool(annual),
        str(t_all[0].date()),
        _sin=float(beta[2]) if annual else 0.0,
        _cos=float(beta[3]) if annual else 0.0,
    )
