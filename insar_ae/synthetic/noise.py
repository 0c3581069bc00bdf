"""Non-atmospheric noise: orbital ramps, pixel noise, decorrelation, unwrapping errors.

All outputs in mm of LOS displacement (same sign as ``displacement``) or bool masks (True =
valid). Shapes: ``batch`` is a tuple of leading dimensions, e.g. ``(n, T)`` or ``(T,)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from insar_ae.synthetic._backend import Random
from insar_ae.synthetic.fields import power_law_field

__all__ = [
    "HALF_WAVELENGTH_MM_C",
    "decorrelation_mask",
    "orbital_ramp",
    "pixel_noise",
    "ramp_basis",
    "ramp_coefficients",
    "unwrapping_errors",
]

#: Half of the Sentinel-1 C-band wavelength, mm: the size of a phase-unwrapping jump.
HALF_WAVELENGTH_MM_C = 0.5 * 55.46576


def _grid(rng: Random, ny: int, nx: int) -> tuple[Any, Any]:
    """Normalised pixel coordinates in [-0.5, 0.5]: (v down rows, u along columns)."""
    if rng.xp is np:
        v = np.linspace(-0.5, 0.5, ny)[:, None]
        u = np.linspace(-0.5, 0.5, nx)[None, :]
    else:
        v = rng.xp.linspace(-0.5, 0.5, ny, device=rng.device, dtype=rng.dtype)[:, None]
        u = rng.xp.linspace(-0.5, 0.5, nx, device=rng.device, dtype=rng.dtype)[None, :]
    return v, u


def ramp_basis(rng: Random, ny: int, nx: int) -> Any:
    """The 6 ramp basis images ``(6, ny, nx)``: 1, u, v, u^2 - 1/12, u v, v^2 - 1/12.

    ``u`` runs along columns and ``v`` down rows, both in [-0.5, 0.5].
    """
    v, u = _grid(rng, ny, nx)
    one = u * 0.0 + v * 0.0 + 1.0
    terms = [
        one,
        u + 0.0 * v,
        v + 0.0 * u,
        u * u - 1 / 12 + 0.0 * v,
        u * v,
        v * v - 1 / 12 + 0.0 * u,
    ]
    return np.stack(terms) if rng.xp is np else rng.xp.stack(terms)


def ramp_coefficients(
    rng: Random, batch: tuple[int, ...], *, amp_mm: Any, quad_fraction: Any = 0.3
) -> Any:
    """Random ramp coefficients ``(*batch, 6)`` for :func:`ramp_basis`, in mm.

    Normal with standard deviation ``amp_mm`` for the offset and linear terms and
    ``quad_fraction * amp_mm`` for the quadratic ones (``amp_mm``, ``quad_fraction`` broadcast
    against ``(*batch, 1)``).
    """
    c = rng.normal((*batch, 6))
    w = rng.asarray([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    return c * amp_mm * (w + (1.0 - w) * quad_fraction)


def orbital_ramp(
    rng: Random, batch: tuple[int, ...], ny: int, nx: int, *, amp_mm: Any, quad_fraction: Any = 0.3
) -> Any:
    """Planar plus quadratic orbital ramps ``(*batch, ny, nx)`` in mm.

    Coefficients from :func:`ramp_coefficients` (``amp_mm`` is about the change across the
    scene) applied to :func:`ramp_basis`.
    """
    coef = ramp_coefficients(rng, batch, amp_mm=amp_mm, quad_fraction=quad_fraction)
    basis = ramp_basis(rng, ny, nx).reshape(6, ny * nx)
    return (coef @ basis).reshape(*batch, ny, nx)


def pixel_noise(rng: Random, batch: tuple[int, ...], ny: int, nx: int, *, sigma_mm: Any) -> Any:
    """White noise ``(*batch, ny, nx)`` in mm with standard deviation ``sigma_mm``."""
    return sigma_mm * rng.normal((*batch, ny, nx))


def _ndtri(xp: Any, p: Any) -> Any:
    if xp is np:
        from scipy.special import ndtri

        return ndtri(p)
    return xp.special.ndtri(p)


def decorrelation_mask(
    rng: Random,
    batch: tuple[int, ...],
    ny: int,
    nx: int,
    *,
    hole_fraction: Any,
    scatter_fraction: Any,
    slope: float = 4.0,
) -> Any:
    """Valid-pixel mask ``(*batch, ny, nx)`` (True = valid).

    Holes are blobs where a smooth random field exceeds its ``1 - hole_fraction`` Gaussian
    quantile (vegetation, water, layover); ``scatter_fraction`` of pixels are dropped at random.
    Fractions broadcast as ``(*batch, 1, 1)``, in [0, 1).
    """
    xp = rng.xp
    blob = power_law_field(rng, batch, ny, nx, slope, k0=0.02, exact_std=False)
    hf = hole_fraction if rng.xp is np else rng.asarray(hole_fraction)
    hf = xp.clip(hf + 0.0 * blob[..., :1, :1], 1e-9, 1.0 - 1e-9)
    thr = -_ndtri(xp, hf)
    holes = blob > thr
    scatter = rng.uniform(0.0, 1.0, (*batch, ny, nx)) < scatter_fraction
    return ~(holes | scatter)


def unwrapping_errors(
    rng: Random,
    batch: tuple[int, ...],
    n_dates: int,
    ny: int,
    nx: int,
    *,
    patch_fraction: Any = 0.03,
    p_date: Any = 0.2,
    jump_mm: float = HALF_WAVELENGTH_MM_C,
) -> Any:
    """Unwrapping errors ``(*batch, n_dates, ny, nx)`` in mm: jumps of +-``jump_mm`` on patches.

    One patch (a thresholded smooth field covering about ``patch_fraction`` of the scene) per
    series; each later date is hit with probability ``p_date`` by +-1 (rarely +-2) jumps. The
    first date is never hit (series are relative to it).
    """
    xp = rng.xp
    blob = power_law_field(rng, batch, ny, nx, 3.5, k0=0.05, exact_std=False)
    thr = -_ndtri(xp, rng.asarray(patch_fraction) if xp is not np else np.asarray(patch_fraction))
    patch = (blob > thr) * 1.0
    hit = (rng.uniform(0.0, 1.0, (*batch, n_dates)) < p_date) * 1.0
    sign = xp.sign(rng.normal((*batch, n_dates)))
    mult = 1.0 + (rng.uniform(0.0, 1.0, (*batch, n_dates)) < 0.15) * 1.0
    k = hit * sign * mult
    k[..., 0] = 0.0
    return jump_mm * k[..., :, None, None] * patch[..., None, :, :]
