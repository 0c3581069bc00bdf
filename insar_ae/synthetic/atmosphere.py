"""Tropospheric delays per SAR acquisition: turbulent (power-law field) and stratified (height).

Each acquisition date gets an independent delay; the displacement time series relative to the
first date contains ``atmo(t) - atmo(t0)`` (see :func:`relative_to_first`). Delays are in mm of
LOS displacement, same sign convention as ``displacement``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from insar_ae.synthetic._backend import Random, namespace
from insar_ae.synthetic.fields import mean, power_law_field

__all__ = ["relative_to_first", "stratified_basis", "stratified_delay", "turbulent_delay"]


def turbulent_delay(
    rng: Random,
    batch: tuple[int, ...],
    ny: int,
    nx: int,
    *,
    rms_mm: Any,
    slope: Any,
    k0: Any = 0.0,
    exact_std: bool = True,
    pad: float = 1.125,
    white_mm: Any = None,
) -> Any:
    """Turbulent delay ``(*batch, ny, nx)`` in mm with RMS ``rms_mm`` per field.

    ``rms_mm`` and ``slope`` (spectral slope beta; Kolmogorov 8/3-11/3) broadcast against
    ``(*batch, 1, 1)``, so each date can draw its own. ``k0`` = pixel size / outer scale.
    ``exact_std=False`` makes ``rms_mm`` the expected RMS (faster); ``pad`` is the FFT grid
    padding factor (1 = periodic field, fastest). ``white_mm``: add independent white (pixel)
    noise of that standard deviation in the same FFT (``exact_std=False`` only). See
    ``fields.power_law_field``.
    """
    return power_law_field(
        rng,
        batch,
        ny,
        nx,
        slope,
        k0=k0,
        exact_std=exact_std,
        pad=pad,
        scale=rms_mm,
        white_std=white_mm,
    )


def stratified_basis(height_m: Any) -> Any:
    """Height basis ``(..., 2, ny, nx)``: ``dh`` and ``dh^2 - mean(dh^2)``, ``dh`` in km.

    ``dh`` is the height minus the scene mean, so the stratified delay has no constant part.
    """
    xp = namespace(height_m)
    dh = (height_m - mean(xp, height_m)) / 1000.0
    dh2 = dh * dh
    dh2 = dh2 - mean(xp, dh2)
    return np.stack([dh, dh2], -3) if xp is np else xp.stack([dh, dh2], -3)


def stratified_delay(height_m: Any, coef_mm_per_km: Any, quad_mm_per_km2: Any = 0.0) -> Any:
    """Height-correlated delay ``K1 dh + K2 (dh^2 - mean)`` in mm (``dh`` km from the mean).

    ``height_m`` has shape ``(..., ny, nx)``; the coefficients broadcast as ``(..., T, 1, 1)``
    against it; returns ``(..., T, ny, nx)``. ``K1`` (mm/km) changes sign between dates; ``K2``
    (mm/km^2) makes the delay non-linear in height.
    """
    b = stratified_basis(height_m)[..., None, :, :, :]
    return coef_mm_per_km * b[..., 0, :, :] + quad_mm_per_km2 * b[..., 1, :, :]


def relative_to_first(cube: Any) -> Any:
    """``cube - cube[..., :1, :, :]``: a per-date field as a series relative to the first date."""
    return cube - cube[..., :1, :, :]
