"""Mogi (1958) point pressure source in an elastic half-space: surface displacement.

Positive ``dvolume_m3`` is inflation (uplift), negative is deflation (subsidence). With
``R = sqrt(r^2 + d^2)`` and ``C = (1 - nu) dV / pi``::

    ue = C (x - x0) / R^3,  un = C (y - y0) / R^3,  uu = C d / R^3

so ``uu(0) = (1 - nu) dV / (pi d^2)``, ``ur / uu = r / d`` and the horizontal displacement peaks at
``r = d / sqrt(2)``. ``dV`` is the volume change of the cavity; the pressure form is
``dV = pi a^3 dP / mu`` (:func:`mogi_dvolume_from_pressure`).
"""

from __future__ import annotations

import math
from typing import Any

from insar_ae.synthetic._backend import as_like, errstate, is_torch, namespace
from insar_ae.synthetic._checks import check_range

__all__ = ["mogi", "mogi_core", "mogi_dvolume_from_pressure"]


def mogi_core(
    east_m: Any, north_m: Any, x0_m: Any, y0_m: Any, depth_m: Any, dvolume_m3: Any, nu: Any = 0.25
) -> tuple[Any, Any, Any]:
    """:func:`mogi` without input checks (parameters broadcast, e.g. ``(n, 1, 1)``)."""
    args = (east_m, north_m, x0_m, y0_m, depth_m, dvolume_m3, nu)
    xp = namespace(*args)
    like = next((a for a in args if is_torch(a)), 0.0)
    e, n, x0, y0, d, dv, nu_ = (as_like(xp, a, like) for a in args)
    with errstate(xp):
        dx, dy = e - x0, n - y0
        r2 = dx * dx + dy * dy + d * d
        c = (1.0 - nu_) * dv / math.pi / (r2 * xp.sqrt(r2))
        return c * dx, c * dy, c * d


def mogi(
    east_m: Any,
    north_m: Any,
    *,
    x0_m: float,
    y0_m: float,
    depth_m: float,
    dvolume_m3: float,
    nu: float = 0.25,
) -> tuple[Any, Any, Any]:
    """Surface displacement (east, north, up) in metres of a Mogi point source.

    Parameters
    ----------
    east_m, north_m
        Observation points, metres (numpy or torch, broadcasting).
    x0_m, y0_m
        Horizontal source position, metres.
    depth_m
        Source depth, metres, > 0.
    dvolume_m3
        Cavity volume change, m^3 (> 0 inflation / uplift, < 0 deflation / subsidence).
    nu
        Poisson's ratio, (-1, 0.5).
    """
    check_range("depth_m", depth_m, 0.0, low_open=True, unit="m")
    check_range("nu", nu, -1.0, 0.5, low_open=True, high_open=True)
    return mogi_core(east_m, north_m, x0_m, y0_m, depth_m, dvolume_m3, nu)


def mogi_dvolume_from_pressure(
    radius_m: float, dpressure_pa: float, shear_modulus_pa: float = 30e9
) -> float:
    """Cavity volume change ``pi a^3 dP / mu`` (m^3) of a Mogi source of radius ``a``."""
    check_range("radius_m", radius_m, 0.0, low_open=True, unit="m")
    check_range("shear_modulus_pa", shear_modulus_pa, 0.0, low_open=True, unit="Pa")
    return math.pi * radius_m**3 * dpressure_pa / shear_modulus_pa
