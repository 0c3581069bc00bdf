"""Range checks for physical parameters (scalars, numpy arrays or torch tensors)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from insar_ae.errors import ParameterError

__all__ = ["check_range"]


def _minmax(value: Any) -> tuple[float, float, bool]:
    if type(value).__module__.startswith("torch"):
        v = value.detach()
        finite = bool(v.isfinite().all()) if v.numel() else True
        if v.numel() == 0:
            return math.inf, -math.inf, finite
        return float(v.min()), float(v.max()), finite
    a = np.asarray(value, dtype=float)
    if a.size == 0:
        return math.inf, -math.inf, True
    return float(np.min(a)), float(np.max(a)), bool(np.all(np.isfinite(a)))


def check_range(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
    unit: str = "",
) -> None:
    """Raise :class:`ParameterError` unless every element of ``value`` lies in the range.

    ``low_open``/``high_open`` make the bound exclusive. The message names the parameter, the
    offending value and the valid range (with ``unit``).
    """
    lo, hi, finite = _minmax(value)
    bad = not finite
    bad |= lo < low or (low_open and lo <= low)
    bad |= hi > high or (high_open and hi >= high)
    if bad:
        lb = "(" if low_open else "["
        hb = ")" if high_open else "]"
        shown = value if np.ndim(np.asarray(lo)) == 0 and lo == hi else f"min {lo:g}, max {hi:g}"
        if isinstance(shown, (int, float)):
            shown = f"{shown:g}"
        u = f" {unit}" if unit else ""
        raise ParameterError(f"{name} must be in {lb}{low:g}, {high:g}{hb}{u}, got {shown}{u}")
