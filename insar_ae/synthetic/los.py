"""Line-of-sight geometry: unit vector ground -> satellite and projection (right-looking SAR).

Convention (the data model's): LOS displacement is **positive toward the satellite**, so an
uplift ``uu`` gives ``cos(incidence) * uu > 0``. ``heading_deg`` is the azimuth of the flight
direction, degrees clockwise from north (Sentinel-1 ascending about -12, descending about -168
= 192); the radar looks to the right, i.e. towards azimuth ``heading + 90``, so the satellite is
seen from the ground towards azimuth ``heading - 90``. ``incidence_deg`` is measured from the
vertical at the ground.
"""

from __future__ import annotations

import math
from typing import Any

from insar_ae.synthetic._backend import as_like, is_torch, namespace
from insar_ae.synthetic._checks import check_range

__all__ = ["SENTINEL1_ASC", "SENTINEL1_DESC", "los_vector", "project_los"]

C_BAND_WAVELENGTH_M = 0.05546576
SENTINEL1_ASC: dict[str, float] = {
    "heading_deg": -12.0,
    "incidence_deg": 39.0,
    "wavelength_m": C_BAND_WAVELENGTH_M,
}
SENTINEL1_DESC: dict[str, float] = {
    "heading_deg": -168.0,
    "incidence_deg": 39.0,
    "wavelength_m": C_BAND_WAVELENGTH_M,
}


def los_vector(heading_deg: Any, incidence_deg: Any) -> tuple[Any, Any, Any]:
    """Unit vector ``(e, n, u)`` pointing from the ground to a right-looking satellite.

    ``e = -sin(inc) cos(heading)``, ``n = sin(inc) sin(heading)``, ``u = cos(inc)``.
    Accepts floats (returns floats), numpy arrays or torch tensors.
    """
    check_range("incidence_deg", incidence_deg, 0.0, 90.0, high_open=True, unit="degrees")
    check_range("heading_deg", heading_deg, -360.0, 360.0, unit="degrees")
    return los_vector_core(heading_deg, incidence_deg)


def los_vector_core(heading_deg: Any, incidence_deg: Any) -> tuple[Any, Any, Any]:
    """:func:`los_vector` without input checks."""
    if not (is_torch(heading_deg) or is_torch(incidence_deg)) and all(
        isinstance(v, (int, float)) for v in (heading_deg, incidence_deg)
    ):
        h, i = math.radians(heading_deg), math.radians(incidence_deg)
        return -math.sin(i) * math.cos(h), math.sin(i) * math.sin(h), math.cos(i)
    xp = namespace(heading_deg, incidence_deg)
    like = next((a for a in (heading_deg, incidence_deg) if is_torch(a)), 0.0)
    h = as_like(xp, heading_deg, like) * (math.pi / 180.0)
    i = as_like(xp, incidence_deg, like) * (math.pi / 180.0)
    return -xp.sin(i) * xp.cos(h), xp.sin(i) * xp.sin(h), xp.cos(i)


def project_los(ue: Any, un: Any, uu: Any, heading_deg: Any, incidence_deg: Any) -> Any:
    """LOS displacement (same unit as the input), positive toward the satellite."""
    e, n, u = los_vector(heading_deg, incidence_deg)
    return ue * e + un * n + uu * u
