"""Fractal topography by spectral synthesis, or a user DEM checked against the scene grid."""

from __future__ import annotations

from typing import Any

import numpy as np

from insar_ae.errors import ParameterError
from insar_ae.synthetic._backend import Random
from insar_ae.synthetic._checks import check_range
from insar_ae.synthetic.fields import amax, amin, power_law_field

__all__ = ["check_dem", "fractal_dem", "fractal_dem_core"]


def fractal_dem_core(
    rng: Random,
    batch: tuple[int, ...],
    ny: int,
    nx: int,
    relief_m: Any,
    *,
    base_m: Any = 0.0,
    slope: Any = 3.5,
    peakiness: Any = 0.0,
) -> Any:
    """Fractal DEMs ``(*batch, ny, nx)`` in metres spanning ``[base_m, base_m + relief_m]``.

    ``slope`` is the spectral slope beta (power ~ k^-beta; 3-4 for natural relief).
    ``peakiness`` >= 0 skews heights (``exp(peakiness * z)``): broad valleys, sharp ridges.
    """
    xp = rng.xp
    z = power_law_field(rng, batch, ny, nx, slope, pad=1.25, exact_std=False)
    z = xp.exp(peakiness * z) if not (isinstance(peakiness, float) and peakiness == 0.0) else z
    lo, hi = amin(xp, z), amax(xp, z)
    span = hi - lo
    return base_m + relief_m * (z - lo) / xp.where(span > 0, span, 1.0)


def fractal_dem(
    shape: tuple[int, int],
    *,
    relief_m: float = 1000.0,
    base_m: float = 0.0,
    slope: float = 3.5,
    seed: int | np.random.Generator = 0,
) -> np.ndarray:
    """A fractal DEM (numpy float64, metres) of ``shape`` with heights in ``[base, base+relief]``.

    Parameters
    ----------
    shape
        ``(ny, nx)``.
    relief_m
        Height range (max - min), metres, >= 0.
    base_m
        Lowest height, metres.
    slope
        Spectral slope of the height power spectrum, in [1, 6].
    seed
        Integer seed or ``numpy.random.Generator``.
    """
    check_range("relief_m", relief_m, 0.0, 20000.0, unit="m")
    check_range("slope", slope, 1.0, 6.0)
    ny, nx = shape
    rng = Random(np.random.default_rng(seed))
    return fractal_dem_core(rng, (), int(ny), int(nx), relief_m, base_m=base_m, slope=slope)


def check_dem(dem: Any, shape: tuple[int, int]) -> np.ndarray:
    """A user DEM as float64 metres; :class:`ParameterError` unless it is finite and ``shape``."""
    a = np.asarray(dem, dtype=float)
    if a.shape != tuple(shape):
        raise ParameterError(
            f"dem must have the scene shape (y, x) = {tuple(shape)}, got {a.shape}"
        )
    if not np.all(np.isfinite(a)):
        raise ParameterError("dem must be finite everywhere (metres), got NaN/inf values")
    return a
