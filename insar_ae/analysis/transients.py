"""Background rate and transient (slow-slip event) detection on an offset time series.

Model (times ``t`` in years since the first date, values in mm)::

    u(t) = c + v t + A * R((t - t0) / T)

``v`` is the background rate (mm/yr), ``A`` the transient amplitude (mm), ``t0`` its onset and
``T`` its duration (0 % to 100 % of ``A``). ``R`` is 0 before, 1 after, and in between a raised
cosine ``(1 - cos(pi s)) / 2`` (``shape="cosine"``, default; half of A at t0 + T/2) or a linear
ramp (``shape="ramp"``). The best (t0, T) comes from a grid search (linear in c, v, A) refined
by bounded least squares; 1-sigma uncertainties from the residual scatter ``s^2 (J^T J)^-1``,
with the onset/duration sigma floored by ``gap / sqrt(12)`` where acquisitions leave the event
unresolved. A transient is reported when ``|A| / sigma_A >= min_snr`` and the BIC improves by
more than ``min_delta_bic`` over the linear model (3 extra parameters).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from scipy.optimize import least_squares

from insar_ae.analysis._lsq import batched_linear_rss, clean_xy, linear_fit, scatter_covariance
from insar_ae.errors import ParameterError

__all__ = ["Transient", "background_rate", "detect_transient", "transient_curve"]

DAYS_PER_YEAR = 365.25
_SHAPES = ("cosine", "ramp")


@dataclass(frozen=True)
class Transient:
    """A detected transient with 1-sigma uncertainties (mm, days, mm/yr)."""

    onset: pd.Timestamp
    onset_sigma_days: float
    duration_days: float
    duration_sigma_days: float
    amplitude_mm: float
    amplitude_sigma_mm: float
    rate_mm_per_yr: float
    rate_sigma_mm_per_yr: float
    snr: float
    delta_bic: float
    residual_rms_mm: float
    shape: str
    first_date: pd.Timestamp
    params: dict[str, float] = field(default_factory=dict)

    @property
    def end(self) -> pd.Timestamp:
        """Onset + duration."""
        return self.onset + pd.Timedelta(days=self.duration_days)

    def curve(self, times: object) -> np.ndarray:
        """Fitted model u(t) (mm) at ``times`` (dates)."""
        t = _years(pd.DatetimeIndex(pd.to_datetime(np.asarray(times))), self.first_date)
        p = self.params
        return transient_curve(
            t,
            c=p["c"],
            rate=p["v"],
            amplitude=p["A"],
            onset=p["t0"],
            duration=p["T"],
            shape=self.shape,
        )


def _years(t: pd.DatetimeIndex, t_first: pd.Timestamp) -> np.ndarray:
    return ((t - t_first) / pd.Timedelta(days=1)).to_numpy(dtype=float) / DAYS_PER_YEAR


def _rise(s: np.ndarray, shape: str) -> np.ndarray:
    s = np.clip(s, 0.0, 1.0)
    return 0.5 * (1.0 - np.cos(math.pi * s)) if shape == "cosine" else s


def transient_curve(
    t: np.ndarray,
    *,
    c: float,
    rate: float,
    amplitude: float,
    onset: float,
    duration: float,
    shape: str = "cosine",
) -> np.ndarray:
    """``c + rate t + amplitude R((t - onset) / duration)`` (t, onset, duration in years)."""
    t = np.asarray(t, dtype=float)
    return c + rate * t + amplitude * _rise((t - onset) / duration, shape)


def _series(
    series: xr.Dataset | xr.DataArray, layer: str | None
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    da = series["offset"] if isinstance(series, xr.Dataset) else series
    if "layer" in da.dims:
        names = [str(v) for v in da["layer"].values]
        pick = layer or ("deformation" if "deformation" in names else None)
        if pick not in names:
            raise ParameterError(
                f"series has layers {names}: pass layer= one of them (got {layer!r})"
            )
        da = da.sel(layer=pick)
    if da.dims != ("time",):
        raise ParameterError(
            f"series must be 1-D over 'time' (or have a 'layer' dim), got dims {da.dims}"
        )
    return pd.DatetimeIndex(da["time"].values), np.asarray(da.values, dtype=float)


def background_rate(
    series: xr.Dataset | xr.DataArray,
    *,
    layer: str | None = None,
    exclude: tuple[object, object] | None = None,
) -> tuple[float, float]:
    """Linear rate (mm/yr) and its 1-sigma (residual scatter) of an offset series.

    ``exclude`` = (start, end) dates left out (e.g. a transient).
    """
    times, y = _series(series, layer)
    t = _years(times, times[0])
    if exclude is not None:
        lo, hi = pd.Timestamp(exclude[0]), pd.Timestamp(exclude[1])  # type: ignore[arg-type]
        keep = (times < lo) | (times > hi)
        t, y = t[keep], y[keep]
    t, y = clean_xy(t, y, min_n=3, what="background_rate")
    A = np.column_stack((np.ones_like(t), t))
    beta, _, rss = linear_fit(A, y)
    cov = scatter_covariance(A, rss, t.size, 2)
    return float(beta[1]), float(math.sqrt(cov[1, 1]))


def _gap_at(t: np.ndarray, when: float) -> float:
    i = int(np.clip(np.searchsorted(t, when), 1, t.size - 1))
    return float(t[i] - t[i - 1])


def detect_transient(
    series: xr.Dataset | xr.DataArray,
    *,
    layer: str | None = None,
    shape: str = "cosine",
    min_snr: float = 5.0,
    min_delta_bic: float = 10.0,
    min_duration_days: float | None = None,
    max_duration_days: float | None = None,
) -> Transient | None:
    """Detect and characterise the largest transient of an offset series, or return None.

    Parameters
    ----------
    series
        :func:`~insar_ae.analysis.offset_series` output (its ``offset``) or a DataArray (time) in
        mm; with a ``layer`` dim, ``layer`` picks one (default ``deformation``).
    shape
        ``"cosine"`` (raised cosine) or ``"ramp"`` (linear); see module doc.
    min_snr, min_delta_bic
        Detection thresholds (amplitude over its sigma; BIC gain over the linear model).
    min_duration_days, max_duration_days
        Duration search range (default: half the median sampling interval to half the span).
    """
    if shape not in _SHAPES:
        raise ParameterError(f"shape must be one of {_SHAPES}, got {shape!r}")
    times, y_all = _series(series, layer)
    t_all = _years(times, times[0])
    t, y = clean_xy(t_all, y_all, min_n=8, what="detect_transient")
    n, span = t.size, float(t[-1] - t[0])
    dt = float(np.median(np.diff(t)))
    dmin = 0.5 * dt if min_duration_days is None else float(min_duration_days) / DAYS_PER_YEAR
    dmax = 0.5 * span if max_duration_days is None else float(max_duration_days) / DAYS_PER_YEAR
    if not (0 < dmin <= dmax):
        raise ParameterError(
            f"duration range must satisfy 0 < min <= max, got {dmin * DAYS_PER_YEAR} "
            f"to {dmax * DAYS_PER_YEAR} days"
        )
    T0, DD = np.meshgrid(
        np.linspace(t[0], t[-1] - dmin, 240), np.geomspace(dmin, dmax, 40), indexing="ij"
    )
    T0, DD = T0.ravel(), DD.ravel()
    ok = T0 + DD <= t[-1] + 1e-12
    T0, DD = T0[ok], DD[ok]
    tn = t / max(span, 1e-12)
    R = _rise((t[None, :] - T0[:, None]) / DD[:, None], shape)
    A = np.stack((np.ones_like(R), np.broadcast_to(tn, R.shape), R), axis=-1)
    rss, beta = batched_linear_rss(A, y)
    g = int(np.argmin(rss))
    if not np.isfinite(rss[g]):
        return None
    p0 = np.array([beta[g, 0], beta[g, 1] / span, beta[g, 2], T0[g], DD[g]])

    def resid(p: np.ndarray) -> np.ndarray:
        return (
            transient_curve(
                t, c=p[0], rate=p[1], amplitude=p[2], onset=p[3], duration=p[4], shape=shape
            )
            - y
        )

    lo = np.array([-np.inf, -np.inf, -np.inf, t[0] - dmax, dmin])
    hi = np.array([np.inf, np.inf, np.inf, t[-1] - dmin, max(dmax, dmin * (1 + 1e-9))])
    sol = least_squares(resid, np.clip(p0, lo, hi), bounds=(lo, hi), method="trf", x_scale="jac")
    p = sol.x
    r = resid(p)
    rss1 = float(r @ r)
    cov = scatter_covariance(sol.jac, rss1, n, 5)
    sig = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    A0 = np.column_stack((np.ones_like(t), t))
    _, _, rss0 = linear_fit(A0, y)
    tiny = 1e-12 * max(float(y @ y), 1e-30)
    delta_bic = n * math.log((rss0 + tiny) / (rss1 + tiny)) - 3.0 * math.log(n)
    snr = abs(p[2]) / sig[2] if sig[2] > 0 else math.inf
    if snr < min_snr or delta_bic < min_delta_bic:
        return None
    floor_on = _gap_at(t, p[3]) / math.sqrt(12.0)
    floor_du = max(floor_on, _gap_at(t, p[3] + p[4]) / math.sqrt(12.0))
    # an event falling between acquisitions leaves t0/T unresolved by the Jacobian: the gap bounds them
    s_on = sig[3] if np.isfinite(sig[3]) else 0.0
    s_du = sig[4] if np.isfinite(sig[4]) else 0.0
    on_sig = math.hypot(s_on, floor_on) * DAYS_PER_YEAR
    du_sig = math.hypot(s_du, floor_du) * DAYS_PER_YEAR
    return Transient(
        onset=times[0] + pd.Timedelta(days=float(p[3] * DAYS_PER_YEAR)),
        onset_sigma_days=on_sig,
        duration_days=float(p[4] * DAYS_PER_YEAR),
        duration_sigma_days=du_sig,
        amplitude_mm=float(p[2]),
        amplitude_sigma_mm=float(sig[2]),
        rate_mm_per_yr=float(p[1]),
        rate_sigma_mm_per_yr=float(sig[1]),
        snr=float(snr),
        delta_bic=float(delta_bic),
        residual_rms_mm=float(math.sqrt(rss1 / n)),
        shape=shape,
        first_date=times[0],
        params={
            "c": float(p[0]),
            "v": float(p[1]),
            "A": float(p[2]),
            "t0": float(p[3]),
            "T": float(p[4]),
        },
    )
