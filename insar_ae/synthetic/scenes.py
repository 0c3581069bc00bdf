"""``make_scene``: a full synthetic InSAR time series (canonical Dataset) from a named preset.

``displacement = deformation_true + turbulent + stratified + ramp + pixel noise`` (+ unwrapping
errors when enabled, stored as ``unwrapping``), all in mm of LOS, positive toward the satellite,
relative to the first date (whose frame is exactly 0 where valid), NaN where decorrelated.
Each noise component is an independent per-acquisition field differenced with the first date.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from insar_ae.datamodel import make_dataset, validate
from insar_ae.errors import ParameterError
from insar_ae.synthetic._backend import Random
from insar_ae.synthetic._checks import check_range
from insar_ae.synthetic.atmosphere import relative_to_first, stratified_delay, turbulent_delay
from insar_ae.synthetic.los import SENTINEL1_ASC, SENTINEL1_DESC, los_vector, project_los
from insar_ae.synthetic.mogi import mogi_core
from insar_ae.synthetic.noise import (
    HALF_WAVELENGTH_MM_C,
    decorrelation_mask,
    orbital_ramp,
    pixel_noise,
    unwrapping_errors,
)
from insar_ae.synthetic.okada import fault_displacement_core
from insar_ae.synthetic.presets import PRESET_DESCRIPTIONS, preset_params
from insar_ae.synthetic.timefuncs import acquisition_dates, days_since_first, evaluate
from insar_ae.synthetic.topography import check_dem, fractal_dem_core

__all__ = ["make_scene"]

_DEEP_EXTENT_M = 1.0e6  # length and width of the "infinite" deep-slip dislocation


def _rng(seed: int, stream: int, preset: str) -> np.random.Generator:
    """Independent stream per (seed, component, preset): presets do not share noise fields."""
    return np.random.default_rng([int(seed), stream, zlib.crc32(preset.encode())])


def _check_dates(dates: Any) -> pd.DatetimeIndex:
    try:
        t = pd.DatetimeIndex(pd.to_datetime(np.asarray(dates)))
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"dates must be parseable dates, got {dates!r}") from exc
    if len(t) < 2:
        raise ParameterError(f"dates must hold at least 2 acquisitions, got {len(t)}")
    steps = np.diff(t.asi8)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        raise ParameterError(
            f"dates must be strictly increasing; date {i + 1} ({t[i + 1].date()}) is not after "
            f"date {i} ({t[i].date()})"
        )
    return t


def _check_shape(shape: Any) -> tuple[int, int]:
    try:
        ny, nx = (int(v) for v in shape)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"shape must be (ny, nx) integers, got {shape!r}") from exc
    check_range("shape[0] (ny)", ny, 8, 20000)
    check_range("shape[1] (nx)", nx, 8, 20000)
    return ny, nx


def _fault(
    x0: float,
    y0: float,
    strike: float,
    top_m: float,
    width_m: float,
    length_m: float,
    rake: float,
    terms: list[dict[str, Any]],
    name: str,
) -> dict[str, Any]:
    s = math.radians(strike)
    half = 0.5 * length_m
    return {
        "kind": "fault",
        "name": name,
        "x0_m": x0,
        "y0_m": y0,
        "strike_deg": strike,
        "dip_deg": 90.0,
        "top_depth_m": top_m,
        "length_m": length_m,
        "width_m": width_m,
        "rake_deg": rake,
        "slip_unit": "mm",
        "time": terms,
        "trace_m": [
            [x0 - half * math.sin(s), y0 - half * math.cos(s)],
            [x0 + half * math.sin(s), y0 + half * math.cos(s)],
        ],
    }


def _fault_sources(
    p: dict[str, Any], xc: float, yc: float, t0: pd.Timestamp, t_end_days: float
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    strike, rake = float(p["strike_deg"]), float(p["rake_deg"])
    s = math.radians(strike)
    off = 1000.0 * float(p["fault_offset_km"])
    x0, y0 = xc - off * math.cos(s), yc + off * math.sin(s)  # offset to the left of strike
    length = 1000.0 * float(p["fault_length_km"])
    onset = (
        pd.Timestamp(p["sse_onset"])
        if p["sse_onset"] is not None
        else t0 + pd.Timedelta(days=round(0.55 * t_end_days))
    )
    onset_days = (onset - t0) / pd.Timedelta(days=1)
    sources = [
        _fault(
            x0,
            y0,
            strike,
            0.0,
            1000.0 * p["creep_depth_km"],
            length,
            rake,
            [{"type": "linear", "rate_per_yr": float(p["creep_rate_mm_yr"])}],
            "shallow creep",
        )
    ]
    if p["sse_slip_mm"] > 0:
        sources.append(
            _fault(
                x0,
                y0,
                strike,
                0.0,
                1000.0 * p["sse_depth_km"],
                length,
                rake,
                [
                    {
                        "type": "transient",
                        "onset_days": onset_days,
                        "onset": str(onset.date()),
                        "duration_days": float(p["sse_duration_days"]),
                        "amplitude": float(p["sse_slip_mm"]),
                    }
                ],
                "slow-slip event",
            )
        )
    if p["deep_slip_rate_mm_yr"] > 0:
        sources.append(
            _fault(
                x0,
                y0,
                strike,
                1000.0 * p["locking_depth_km"],
                _DEEP_EXTENT_M,
                _DEEP_EXTENT_M,
                rake,
                [{"type": "linear", "rate_per_yr": float(p["deep_slip_rate_mm_yr"])}],
                "deep interseismic slip",
            )
        )
    summary = {
        "fault_trace": sources[0]["trace_m"],
        "strike_deg": strike,
        "rake_deg": rake,
        "creep_rate_mm_yr": float(p["creep_rate_mm_yr"]),
        "creep_depth_km": float(p["creep_depth_km"]),
        "deep_slip_rate_mm_yr": float(p["deep_slip_rate_mm_yr"]),
        "locking_depth_km": float(p["locking_depth_km"]),
        "sse_onset": str(onset.date()),
        "sse_duration_days": float(p["sse_duration_days"]),
        "sse_amplitude_mm": float(p["sse_slip_mm"]),
        "sse_depth_km": float(p["sse_depth_km"]),
    }
    return sources, summary


def _reservoir_sources(
    p: dict[str, Any], xc: float, yc: float, nu: float
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    cx, cy = xc + 1000.0 * p["source_dx_km"], yc + 1000.0 * p["source_dy_km"]
    d = 1000.0 * p["source_depth_km"]
    if p["source_type"] == "mogi":
        per_unit = (1.0 - nu) / (math.pi * d * d)  # uz (m) at the centre per m^3
        src: dict[str, Any] = {
            "kind": "mogi",
            "x0_m": cx,
            "y0_m": cy,
            "depth_m": d,
            "amount_unit": "m3",
        }
    else:
        size = 1000.0 * p["sill_size_km"]
        src = {
            "kind": "sill",
            "x0_m": cx - 0.5 * size,
            "y0_m": cy,
            "strike_deg": 0.0,
            "dip_deg": 0.0,
            "top_depth_m": d,
            "length_m": size,
            "width_m": size,
            "center_m": [cx, cy],
            "amount_unit": "m (opening)",
        }
        per_unit = float(_unit_field(src, np.array([[cx]]), np.array([[cy]]), nu)[2][0, 0])
    rate = -1e-3 * float(p["max_subsidence_mm_yr"]) / per_unit
    amp = 1e-3 * float(p["seasonal_mm"]) / per_unit
    src["time"] = [
        {"type": "linear", "rate_per_yr": rate},
        {"type": "seasonal", "amplitude": amp, "phase_days": float(p["seasonal_phase_days"])},
    ]
    summary = {
        "source_type": p["source_type"],
        "source_x_m": cx,
        "source_y_m": cy,
        "source_depth_m": d,
        "max_subsidence_mm_yr": float(p["max_subsidence_mm_yr"]),
        "seasonal_mm": float(p["seasonal_mm"]),
        "amount_rate_per_yr": rate,
    }
    return [src], summary


def _unit_field(
    src: dict[str, Any], east: np.ndarray, north: np.ndarray, nu: float
) -> tuple[Any, Any, Any]:
    """(ue, un, uu) per unit of the source's time function (per m of slip/opening, per m^3)."""
    if src["kind"] == "mogi":
        return mogi_core(east, north, src["x0_m"], src["y0_m"], src["depth_m"], 1.0, nu)
    opening = 1.0 if src["kind"] == "sill" else 0.0
    slip = 0.0 if src["kind"] == "sill" else 1.0
    return fault_displacement_core(
        east,
        north,
        src["x0_m"],
        src["y0_m"],
        src["strike_deg"],
        src["dip_deg"],
        src["top_depth_m"],
        src["length_m"],
        src["width_m"],
        src.get("rake_deg", 0.0),
        slip,
        opening,
        nu,
    )


def _deformation(
    sources: list[dict[str, Any]],
    east: np.ndarray,
    north: np.ndarray,
    t_days: np.ndarray,
    heading: float,
    incidence: float,
    nu: float,
) -> np.ndarray:
    total = np.zeros((len(t_days), north.shape[0], east.shape[1]))
    for src in sources:
        ue, un, uu = _unit_field(src, east, north, nu)
        los = project_los(ue, un, uu, heading, incidence)  # m per unit
        scale = 1.0 if src["kind"] == "fault" else 1000.0  # fault slip already in mm
        total += scale * los[None] * evaluate(src["time"], t_days)[:, None, None]
    return total


def make_scene(
    preset: str,
    seed: int = 0,
    *,
    shape: Sequence[int] = (256, 256),
    n_dates: int | None = None,
    dates: Any = None,
    pixel_m: float | None = None,
    dem: Any = None,
    nu: float = 0.25,
    **overrides: Any,
) -> xr.Dataset:
    """A synthetic InSAR time series with its truth and noise components.

    Parameters
    ----------
    preset
        One of :func:`~insar_ae.synthetic.list_presets`.
    seed
        Integer seed; the same seed and arguments give identical scenes.
    shape
        ``(ny, nx)`` pixels.
    n_dates, dates
        Number of irregular acquisitions to draw (preset default) or explicit, strictly
        increasing dates (then ``n_dates`` is ignored).
    pixel_m
        Pixel size in metres (preset default 100-120 m).
    dem
        Optional (ny, nx) heights in metres replacing the fractal DEM.
    nu
        Poisson's ratio.
    **overrides
        Preset parameters (see ``PRESETS`` / docs/synthetic.md), e.g. ``creep_rate_mm_yr=5``,
        ``turb_rms_mm=(1, 3)``, ``orbit="desc"``, ``unwrapping_errors=True``.

    Returns
    -------
    xarray.Dataset
        Canonical and validated; variables ``displacement``, ``height``, ``mask``,
        ``deformation_true``, ``turbulent``, ``stratified``, ``ramp`` (mm, relative to the first
        date); attrs ``preset``, ``seed``, ``pixel_m`` and ``truth_params`` (JSON).
    """
    if pixel_m is not None:
        overrides["pixel_m"] = pixel_m
    if n_dates is not None:
        overrides["n_dates"] = n_dates
    p = preset_params(preset, **overrides)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed must be a non-negative integer, got {seed!r}")
    check_range("nu", nu, -1.0, 0.5, low_open=True, high_open=True)
    ny, nx = _check_shape(shape)
    if dates is not None:
        t = _check_dates(dates)
    else:
        t = acquisition_dates(
            p["start"],
            int(p["n_dates"]),
            _rng(seed, 0, preset),
            cadences_days=p["cadences_days"],
            p_cadence=p["p_cadence"],
            p_missing=p["p_missing"],
        )
    t_days = days_since_first(t)
    n_t = len(t)
    px = float(p["pixel_m"])
    geom = SENTINEL1_ASC if p["orbit"] == "asc" else SENTINEL1_DESC
    heading, incidence = geom["heading_deg"], geom["incidence_deg"]
    xc, yc = float(p["x_center_m"]), float(p["y_center_m"])
    x = xc + (np.arange(nx) - 0.5 * (nx - 1)) * px
    y = yc - (np.arange(ny) - 0.5 * (ny - 1)) * px
    east, north = x[None, :], y[:, None]

    if dem is not None:
        height = check_dem(dem, (ny, nx))
    else:
        height = fractal_dem_core(
            Random(_rng(seed, 1, preset)),
            (),
            ny,
            nx,
            p["relief_m"],
            base_m=p["base_m"],
            slope=p["dem_slope"],
            peakiness=0.5,
        )

    if preset in ("anatolia-slow-slip", "clean-fault"):
        sources, summary = _fault_sources(p, xc, yc, t[0], float(t_days[-1]))
    elif preset == "coso-deflation":
        sources, summary = _reservoir_sources(p, xc, yc, nu)
    else:
        sources, summary = [], {}
    deformation = _deformation(sources, east, north, t_days, heading, incidence, nu)
    if "fault_trace" in summary:
        summary.update(_los_offsets(sources, heading, incidence, nu))

    r = Random(_rng(seed, 2, preset))
    lo, hi = _range(p["turb_rms_mm"])
    rms = r.uniform(lo, hi, (n_t, 1, 1))
    slo, shi = _range(p["turb_slope"])
    slope = r.uniform(slo, shi, (n_t, 1, 1))
    turb = relative_to_first(
        turbulent_delay(
            r, (n_t,), ny, nx, rms_mm=rms, slope=slope, k0=px / (1000.0 * p["outer_scale_km"])
        )
    )
    r = Random(_rng(seed, 3, preset))
    k1 = p["strat_mm_per_km"] * r.normal((n_t, 1, 1))
    k2 = p["strat_quad_mm_per_km2"] * r.normal((n_t, 1, 1))
    strat = relative_to_first(stratified_delay(height, k1, k2))
    r = Random(_rng(seed, 4, preset))
    ramp = relative_to_first(
        orbital_ramp(r, (n_t,), ny, nx, amp_mm=p["ramp_mm"], quad_fraction=p["ramp_quad_fraction"])
    )
    r = Random(_rng(seed, 5, preset))
    pix = relative_to_first(pixel_noise(r, (n_t,), ny, nx, sigma_mm=p["pixel_noise_mm"]))
    r = Random(_rng(seed, 6, preset))
    mask = decorrelation_mask(
        r, (), ny, nx, hole_fraction=p["hole_fraction"], scatter_fraction=p["scatter_fraction"]
    )
    date_nan = r.uniform(0.0, 1.0, (n_t, ny, nx)) < p["date_nan_fraction"]
    date_nan[0] = False
    extra = {"deformation_true": deformation, "turbulent": turb, "stratified": strat, "ramp": ramp}
    disp = deformation + turb + strat + ramp + pix
    if p["unwrapping_errors"]:
        unw = unwrapping_errors(
            Random(_rng(seed, 7, preset)),
            (),
            n_t,
            ny,
            nx,
            patch_fraction=p["unwrap_patch_fraction"],
            p_date=p["unwrap_date_probability"],
        )
        disp = disp + unw
        extra["unwrapping"] = unw
    disp = np.where(mask[None] & ~date_nan, disp, np.nan)

    truth = {
        "preset": preset,
        "seed": int(seed),
        "pixel_m": px,
        "crs": p["crs"],
        "orbit": p["orbit"],
        "heading_deg": heading,
        "incidence_deg": incidence,
        "los_vector_enu": list(los_vector(heading, incidence)),
        "nu": nu,
        "first_date": str(t[0].date()),
        **summary,
        "sources": sources,
        "noise": {
            "turb_rms_mm_per_date": rms.ravel().round(3).tolist(),
            "turb_slope_per_date": slope.ravel().round(3).tolist(),
            "strat_mm_per_km_per_date": k1.ravel().round(3).tolist(),
            "strat_quad_mm_per_km2_per_date": k2.ravel().round(3).tolist(),
            "pixel_noise_mm": p["pixel_noise_mm"],
            "unwrapping_errors": bool(p["unwrapping_errors"]),
            "unwrap_jump_mm": HALF_WAVELENGTH_MM_C,
        },
    }
    ds = make_dataset(
        disp,
        height,
        t,
        y,
        x,
        mask=mask,
        crs=p["crs"],
        xy_units="m",
        extra=extra,
        attrs={
            "title": f"synthetic scene {preset!r} (seed {seed})",
            "source": "insar_ae.synthetic.make_scene",
            "sensor": "Sentinel-1 (synthetic)",
            "description": PRESET_DESCRIPTIONS[preset],
            "wavelength_m": geom["wavelength_m"],
            "heading_deg": heading,
            "incidence_deg": incidence,
            "preset": preset,
            "seed": int(seed),
            "pixel_m": px,
            "truth_params": json.dumps(truth),
        },
    )
    return validate(ds)


def _range(v: Any) -> tuple[float, float]:
    return (float(v), float(v)) if isinstance(v, (int, float)) else (float(v[0]), float(v[1]))


def _los_offsets(
    sources: list[dict[str, Any]], heading: float, incidence: float, nu: float
) -> dict[str, float]:
    """LOS step across the trace centre (left of strike minus right), per unit of each source."""
    out: dict[str, float] = {}
    keys = {"shallow creep": "creep_los_offset_mm_yr", "slow-slip event": "sse_los_offset_mm"}
    for src in sources:
        key = keys.get(src.get("name", ""))
        if key is None:
            continue
        s = math.radians(src["strike_deg"])
        le, ln = -math.cos(s), math.sin(s)
        pts_e = np.array([[src["x0_m"] + le, src["x0_m"] - le]])
        pts_n = np.array([[src["y0_m"] + ln, src["y0_m"] - ln]])
        los = project_los(*_unit_field(src, pts_e, pts_n, nu), heading, incidence)
        amount = src["time"][0].get("rate_per_yr", src["time"][0].get("amplitude"))
        out[key] = float((los[0, 0] - los[0, 1]) * amount)
    return out
