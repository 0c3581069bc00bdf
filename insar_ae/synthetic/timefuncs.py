"""Source time functions and irregular acquisition dates.

Times are in **days** since the first acquisition (float arrays, numpy or torch); parameters
broadcast against them, so per-sample values of shape ``(n, 1)`` work on ``(n, T)`` times. All
functions return the source's cumulative amplitude at each time, in the unit of ``amplitude``
(or of ``rate`` times years), and are 0 at ``t = 0`` unless an event happens before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from insar_ae.errors import ParameterError
from insar_ae.synthetic._backend import Random, namespace
from insar_ae.synthetic._checks import check_range

__all__ = [
    "DAYS_PER_YEAR",
    "acquisition_dates",
    "acquisition_offsets",
    "days_since_first",
    "evaluate",
    "linear",
    "seasonal",
    "smooth_transient",
    "step",
]

DAYS_PER_YEAR = 365.25


def linear(t_days: Any, rate_per_yr: Any) -> Any:
    """Steady creep: ``rate_per_yr * t / 365.25``."""
    return rate_per_yr * t_days / DAYS_PER_YEAR


def smooth_transient(t_days: Any, onset_days: Any, duration_days: Any, amplitude: Any) -> Any:
    """Slow-slip transient: 0 before ``onset``, raised-cosine rise, ``amplitude`` after.

    ``duration_days`` (> 0) is the time from 0 % to 100 % of the amplitude (half of it is reached
    at ``onset + duration / 2``).
    """
    xp = namespace(t_days, onset_days, duration_days, amplitude)
    s = xp.clip((t_days - onset_days) / duration_days, 0.0, 1.0)
    return amplitude * 0.5 * (1.0 - xp.cos(math.pi * s))


def step(t_days: Any, t_step_days: Any, amplitude: Any) -> Any:
    """Instantaneous offset of ``amplitude`` at ``t_step_days`` (included from that date on)."""
    return amplitude * (t_days >= t_step_days)


def seasonal(t_days: Any, amplitude: Any, phase_days: Any = 0.0) -> Any:
    """Annual term ``amplitude * (sin(2 pi (t - phase) / yr) + sin(2 pi phase / yr))``, 0 at t=0.

    Written as ``2 amplitude cos(w (t/2 - phase)) sin(w t / 2)`` with ``w = 2 pi / 365.25``.
    """
    xp = namespace(t_days, amplitude, phase_days)
    w = 2.0 * math.pi / DAYS_PER_YEAR
    return 2.0 * amplitude * xp.cos(w * (0.5 * t_days - phase_days)) * xp.sin(0.5 * w * t_days)


def acquisition_offsets(
    rng: Random,
    shape: Sequence[int],
    n_dates: int,
    *,
    cadences_days: Sequence[float] = (6.0, 12.0, 24.0),
    p_cadence: Sequence[float] | None = None,
    p_missing: float = 0.1,
    max_missing: int = 3,
) -> Any:
    """Random acquisition times (days, first = 0), shape ``(*shape, n_dates)``.

    Each series draws one nominal revisit from ``cadences_days``; each gap is the revisit times
    ``1 + k`` where ``k`` missed acquisitions follow a geometric law with ``p_missing``
    (at most ``max_missing``).
    """
    check_range("n_dates", n_dates, 1.0)
    check_range("p_missing", p_missing, 0.0, 1.0, high_open=True)
    xp = rng.xp
    cad = rng.choice(cadences_days, (*shape, 1), p_cadence)
    u = rng.uniform(0.0, 1.0, (*shape, n_dates - 1))
    if p_missing > 0:
        k = xp.floor(xp.log(1.0 - u) / math.log(p_missing))
        k = xp.clip(k, 0.0, float(max_missing))
    else:
        k = u * 0.0
    gaps = cad * (1.0 + k)
    zero = rng.zeros((*shape, 1))
    return xp.cumsum(xp.concatenate([zero, gaps], -1) if xp is np else xp.cat([zero, gaps], -1), -1)


def acquisition_dates(
    start: str | pd.Timestamp,
    n_dates: int,
    rng: np.random.Generator,
    *,
    cadences_days: Sequence[float] = (12.0,),
    p_cadence: Sequence[float] | None = None,
    p_missing: float = 0.1,
) -> pd.DatetimeIndex:
    """Irregular acquisition dates (Sentinel-1-like 6/12/24-day revisits with missing passes)."""
    offs = acquisition_offsets(
        Random(rng),
        (),
        n_dates,
        cadences_days=cadences_days,
        p_cadence=p_cadence,
        p_missing=p_missing,
    )
    return pd.DatetimeIndex(pd.Timestamp(start) + pd.to_timedelta(np.round(offs), unit="D"))


def days_since_first(dates: Any) -> np.ndarray:
    """Float days since the first of ``dates`` (anything ``pandas.to_datetime`` parses)."""
    t = pd.DatetimeIndex(pd.to_datetime(np.asarray(dates)))
    return ((t - t[0]) / pd.Timedelta(days=1)).to_numpy(dtype=float)


def evaluate(terms: Sequence[dict[str, Any]], t_days: Any) -> Any:
    """Sum of time-function terms given as dicts (JSON-friendly), at ``t_days``.

    Term types: ``{"type": "linear", "rate_per_yr"}``, ``{"type": "transient", "onset_days",
    "duration_days", "amplitude"}``, ``{"type": "step", "t_step_days", "amplitude"}``,
    ``{"type": "seasonal", "amplitude", "phase_days"}``. Other keys (e.g. ISO dates) are ignored.
    """
    total: Any = 0.0 * t_days
    for term in terms:
        kind = term.get("type")
        if kind == "linear":
            total = total + linear(t_days, term["rate_per_yr"])
        elif kind == "transient":
            total = total + smooth_transient(
                t_days, term["onset_days"], term["duration_days"], term["amplitude"]
            )
        elif kind == "step":
            total = total + step(t_days, term["t_step_days"], term["amplitude"])
        elif kind == "seasonal":
            total = total + seasonal(t_days, term["amplitude"], term.get("phase_days", 0.0))
        else:
            raise ParameterError(
                f"time term type must be linear/transient/step/seasonal, got {kind!r}"
            )
    return total
