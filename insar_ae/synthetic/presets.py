"""Named scene presets: physical parameters (with units in the names) and their checks.

Each preset is a flat dict of parameters; :func:`preset_params` merges user overrides (unknown
names and out-of-range values raise :class:`~insar_ae.errors.ParameterError`). Ranges like
``turb_rms_mm = (5, 15)`` are drawn uniformly per acquisition date.
"""

from __future__ import annotations

import math
from typing import Any

from insar_ae.errors import ParameterError
from insar_ae.synthetic._checks import check_range

__all__ = ["PRESETS", "PRESET_DESCRIPTIONS", "list_presets", "preset_params"]

_NOISE_S1: dict[str, Any] = {
    "turb_rms_mm": (5.0, 15.0),  # turbulent delay RMS per date, mm (uniform range)
    "turb_slope": (2.5, 3.7),  # spectral slope beta per date (8/3..11/3 Kolmogorov)
    "outer_scale_km": 60.0,  # turbulence outer scale, km
    "strat_mm_per_km": 6.0,  # std of the per-date linear height coefficient, mm/km
    "strat_quad_mm_per_km2": 2.0,  # std of the per-date quadratic coefficient, mm/km^2
    "ramp_mm": 4.0,  # std of orbital ramp coefficients across the scene, mm
    "ramp_quad_fraction": 0.3,  # quadratic-ramp share
    "pixel_noise_mm": 1.5,  # white noise per acquisition, mm
    "hole_fraction": 0.06,  # share of pixels in decorrelation blobs
    "scatter_fraction": 0.01,  # share of isolated decorrelated pixels
    "date_nan_fraction": 0.002,  # extra per-date missing pixels (not on the first date)
    "unwrapping_errors": False,  # add +-lambda/2 jumps on patches
    "unwrap_patch_fraction": 0.03,  # patch size (share of the scene)
    "unwrap_date_probability": 0.15,  # share of dates hit
}

PRESETS: dict[str, dict[str, Any]] = {
    "anatolia-slow-slip": {
        "pixel_m": 120.0,
        "n_dates": 60,
        "start": "2017-01-03",
        "orbit": "asc",
        "cadences_days": (6.0, 12.0),
        "p_cadence": (0.3, 0.7),
        "p_missing": 0.1,
        "crs": "EPSG:32636",
        "x_center_m": 550_000.0,
        "y_center_m": 4_524_000.0,
        "relief_m": 1200.0,
        "base_m": 700.0,
        "dem_slope": 3.6,
        "strike_deg": 80.0,
        "fault_length_km": 80.0,
        "fault_offset_km": 0.0,
        "creep_rate_mm_yr": 8.0,
        "creep_depth_km": 3.0,
        "deep_slip_rate_mm_yr": 20.0,
        "locking_depth_km": 15.0,
        "sse_slip_mm": 8.0,
        "sse_depth_km": 2.0,
        "sse_duration_days": 28.0,
        "sse_onset": None,  # ISO date; None = at 55 % of the series
        "rake_deg": 180.0,  # right-lateral (North Anatolian Fault)
        **_NOISE_S1,
    },
    "coso-deflation": {
        "pixel_m": 100.0,
        "n_dates": 60,
        "start": "2018-01-06",
        "orbit": "desc",
        "cadences_days": (12.0, 24.0),
        "p_cadence": (0.7, 0.3),
        "p_missing": 0.1,
        "crs": "EPSG:32611",
        "x_center_m": 428_000.0,
        "y_center_m": 3_985_000.0,
        "relief_m": 1500.0,
        "base_m": 1000.0,
        "dem_slope": 3.4,
        "source_type": "mogi",  # "mogi" or "sill" (closing horizontal crack)
        "source_dx_km": 0.0,
        "source_dy_km": 0.0,
        "source_depth_km": 2.5,
        "max_subsidence_mm_yr": 30.0,  # vertical rate above the source, mm/yr
        "seasonal_mm": 4.0,  # annual vertical amplitude above the source, mm
        "seasonal_phase_days": 60.0,
        "sill_size_km": 3.0,
        **_NOISE_S1,
        "strat_mm_per_km": 8.0,
        "strat_quad_mm_per_km2": 3.0,
    },
    "clean-fault": {
        "pixel_m": 100.0,
        "n_dates": 40,
        "start": "2019-01-05",
        "orbit": "asc",
        "cadences_days": (12.0,),
        "p_cadence": None,
        "p_missing": 0.05,
        "crs": "local",
        "x_center_m": 0.0,
        "y_center_m": 0.0,
        "relief_m": 500.0,
        "base_m": 200.0,
        "dem_slope": 3.5,
        "strike_deg": 30.0,
        "fault_length_km": 60.0,
        "fault_offset_km": 0.0,
        "creep_rate_mm_yr": 10.0,
        "creep_depth_km": 5.0,
        "deep_slip_rate_mm_yr": 0.0,
        "locking_depth_km": 15.0,
        "sse_slip_mm": 10.0,
        "sse_depth_km": 3.0,
        "sse_duration_days": 36.0,
        "sse_onset": None,
        "rake_deg": 0.0,  # left-lateral
        **_NOISE_S1,
        "turb_rms_mm": (0.3, 1.0),
        "strat_mm_per_km": 0.5,
        "strat_quad_mm_per_km2": 0.2,
        "ramp_mm": 0.5,
        "pixel_noise_mm": 0.3,
        "hole_fraction": 0.01,
        "scatter_fraction": 0.002,
        "date_nan_fraction": 0.0,
    },
    "noise-only": {
        "pixel_m": 120.0,
        "n_dates": 60,
        "start": "2017-01-03",
        "orbit": "asc",
        "cadences_days": (6.0, 12.0),
        "p_cadence": (0.3, 0.7),
        "p_missing": 0.1,
        "crs": "local",
        "x_center_m": 0.0,
        "y_center_m": 0.0,
        "relief_m": 1200.0,
        "base_m": 700.0,
        "dem_slope": 3.6,
        **_NOISE_S1,
    },
}

PRESET_DESCRIPTIONS: dict[str, str] = {
    "anatolia-slow-slip": "Creeping right-lateral strike-slip fault (N80E) with a slow-slip event, "
    "after the Ismetpasa segment of the North Anatolian Fault; Sentinel-1 "
    "ascending, 6-12 day sampling, 5-15 mm of atmosphere.",
    "coso-deflation": "Geothermal reservoir deflation (Mogi or sill) subsiding up to ~3 cm/yr with "
    "a seasonal term, after Coso (California); Sentinel-1 descending.",
    "clean-fault": "Teaching scene: a creeping fault with a slow-slip event and very little noise.",
    "noise-only": "No deformation: atmosphere, ramps, noise and decorrelation only (false alarms).",
}

_POSITIVE = (
    "pixel_m",
    "fault_length_km",
    "creep_depth_km",
    "sse_depth_km",
    "sse_duration_days",
    "source_depth_km",
    "sill_size_km",
    "outer_scale_km",
    "locking_depth_km",
)
_NONNEG = (
    "relief_m",
    "strat_mm_per_km",
    "strat_quad_mm_per_km2",
    "ramp_mm",
    "ramp_quad_fraction",
    "pixel_noise_mm",
    "sse_slip_mm",
)
_FRACTIONS = (
    "hole_fraction",
    "scatter_fraction",
    "date_nan_fraction",
    "p_missing",
    "unwrap_patch_fraction",
    "unwrap_date_probability",
)


def list_presets() -> list[str]:
    """Names of the scene presets."""
    return list(PRESETS)


def preset_params(name: str, **overrides: Any) -> dict[str, Any]:
    """The parameters of preset ``name`` with ``overrides`` applied and checked."""
    if name not in PRESETS:
        raise ParameterError(f"preset must be one of {list_presets()}, got {name!r}")
    params = dict(PRESETS[name])
    unknown = sorted(set(overrides) - set(params))
    if unknown:
        raise ParameterError(
            f"unknown parameter(s) {unknown} for preset {name!r}; valid: {sorted(params)}"
        )
    params.update(overrides)
    _check(params)
    return params


def _check(p: dict[str, Any]) -> None:
    for k in _POSITIVE:
        if k in p:
            check_range(k, p[k], 0.0, low_open=True)
    for k in _NONNEG:
        if k in p:
            check_range(k, p[k], 0.0)
    for k in _FRACTIONS:
        if k in p:
            check_range(k, p[k], 0.0, 1.0, high_open=True)
    for k in ("turb_rms_mm", "turb_slope"):
        lo, hi = _pair(k, p[k])
        check_range(
            k, (lo, hi), 0.0 if k == "turb_rms_mm" else 1.0, 6.0 if k == "turb_slope" else math.inf
        )
    if "strike_deg" in p:
        check_range("strike_deg", p["strike_deg"], -360.0, 360.0, unit="degrees")
    if "rake_deg" in p:
        check_range("rake_deg", p["rake_deg"], -180.0, 360.0, unit="degrees")
    if "orbit" in p and p["orbit"] not in ("asc", "desc"):
        raise ParameterError(f"orbit must be 'asc' or 'desc', got {p['orbit']!r}")
    if p.get("source_type", "mogi") not in ("mogi", "sill"):
        raise ParameterError(f"source_type must be 'mogi' or 'sill', got {p['source_type']!r}")
    if "sse_depth_km" in p and "creep_depth_km" in p and "locking_depth_km" in p:
        if p["deep_slip_rate_mm_yr"] and p["locking_depth_km"] < p["creep_depth_km"]:
            raise ParameterError(
                f"locking_depth_km must be >= creep_depth_km ({p['creep_depth_km']} km), "
                f"got {p['locking_depth_km']}"
            )
    check_range("n_dates", p["n_dates"], 2.0)


def _pair(name: str, v: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v), float(v)) if isinstance(v, (int, float)) else (float(v[0]), float(v[1]))
    except (TypeError, ValueError, IndexError) as exc:
        raise ParameterError(f"{name} must be a number or a (low, high) pair, got {v!r}") from exc
    if hi < lo:
        raise ParameterError(f"{name} must be (low, high) with low <= high, got {v!r}")
    return lo, hi
