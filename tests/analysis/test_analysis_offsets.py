"""Fault-offset fits: known arctan/step answers, calibrated 1-sigma intervals, offset series."""

from __future__ import annotations

import numpy as np
import pytest
from analysis_helpers import fault_dataset

from insar_ae.analysis import (
    creep_curve,
    crossing_line,
    fit_creep,
    fit_step,
    locate_fault,
    offset_series,
    swath_profile,
)
from insar_ae.errors import ParameterError

X = np.linspace(-20_000.0, 20_000.0, 161)  # metres, 250 m bins


@pytest.mark.parametrize("kind", ["shallow", "deep"])
def test_creep_fit_recovers_s_and_depth_with_calibrated_one_sigma(kind: str) -> None:
    """200 seeded repeats: the 1-sigma intervals of s and D cover the truth 60-76 % of the time."""
    s_true, d_true, x0_true = 10.0, 2000.0, 370.0
    clean = creep_curve(X, s=s_true, depth=d_true, x0=x0_true, a=1.5, b=1e-4, kind=kind)
    hits_s = hits_d = 0
    err = []
    for seed in range(200):
        y = clean + np.random.default_rng(seed).normal(0.0, 0.7, X.size)
        f = fit_creep(X, y, kind=kind)
        hits_s += abs(f.offset_mm - s_true) <= f.offset_sigma_mm
        hits_d += abs(f.depth_km - d_true / 1000) <= f.depth_sigma_km
        err.append(f.offset_mm - s_true)
    assert 0.60 <= hits_s / 200 <= 0.76
    assert 0.60 <= hits_d / 200 <= 0.76
    assert abs(np.mean(err)) < 0.15  # unbiased
    assert f.model == "creep" and f.kind == kind
    np.testing.assert_allclose(
        f.curve(X),
        creep_curve(
            X,
            s=f.params["s"],
            depth=f.params["D"],
            x0=f.params["x0"],
            a=f.params["a"],
            b=f.params["b"],
            kind=kind,
        ),
    )


def test_creep_fit_depth_units_and_fixed_depth() -> None:
    xk = X / 1000.0  # distances in km
    y = creep_curve(xk, s=6.0, depth=3.0, x0=0.0, kind="shallow")
    f = fit_creep(xk, y, distance_unit_m=1000.0)
    assert abs(f.depth_km - 3.0) < 1e-3 and abs(f.offset_mm - 6.0) < 1e-3
    g = fit_creep(X, y, depth_km=3.0, x0=0.0)
    assert abs(g.offset_mm - 6.0) < 1e-6 and np.isnan(g.depth_sigma_km)


@pytest.mark.parametrize("step_mm", [1.0, 2.5, 5.0, 10.0])
def test_step_fit_recovers_offsets_1_to_10_mm_under_noise(step_mm: float) -> None:
    hits = 0
    for seed in range(100):
        rng = np.random.default_rng(seed)
        y = np.where(X >= 1000.0, step_mm, 0.0) + 2e-4 * X + rng.normal(0.0, 1.0, X.size)
        f = fit_step(X, y, x0=1000.0)
        hits += abs(f.offset_mm - step_mm) <= f.offset_sigma_mm
        assert abs(f.offset_mm - step_mm) < 4.5 * f.offset_sigma_mm
    assert 0.60 <= hits / 100 <= 0.80
    assert 0.15 < f.offset_sigma_mm < 0.5  # ~ 1 mm * sqrt(4 / 80)


def test_step_location_found_from_the_largest_gradient() -> None:
    rng = np.random.default_rng(0)
    y = np.where(X >= 2125.0, 5.0, 0.0) + rng.normal(0.0, 0.3, X.size)
    f = fit_step(X, y)
    assert abs(f.x0 - 2125.0) <= 250.0
    assert abs(f.offset_mm - 5.0) < 3 * f.offset_sigma_mm
    assert abs(locate_fault(X, np.where(X >= 2125.0, 5.0, 0.0)) - 2125.0) <= 250.0


def test_bootstrap_sigma_agrees_with_residual_scatter_for_white_noise() -> None:
    rng = np.random.default_rng(11)
    y = np.where(X >= 0.0, 4.0, 0.0) + rng.normal(0.0, 1.0, X.size)
    a = fit_step(X, y, x0=0.0)
    b = fit_step(X, y, x0=0.0, bootstrap=300, seed=3)
    assert b.method.startswith("bootstrap") and b.offset_mm == a.offset_mm
    assert 0.75 < b.offset_sigma_mm / a.offset_sigma_mm < 1.3
    c = fit_creep(
        X,
        creep_curve(X, s=8.0, depth=1500.0, x0=0.0) + rng.normal(0, 0.5, X.size),
        bootstrap=40,
        seed=1,
    )
    assert 0.1 < c.offset_sigma_mm < 1.0 and np.isfinite(c.depth_sigma_km)


def test_offset_fits_ignore_nan_bins_and_reject_bad_input() -> None:
    y = np.where(X >= 0.0, 3.0, 0.0)
    y[10:40] = np.nan
    assert abs(fit_step(X, y, x0=0.0).offset_mm - 3.0) < 1e-9
    with pytest.raises(ParameterError, match="each side"):
        fit_step(X, np.where(X < -15_000, 1.0, np.nan), x0=0.0)
    with pytest.raises(ParameterError, match="kind"):
        fit_creep(X, y, kind="buried")
    with pytest.raises(ParameterError, match="same length"):
        fit_step(X, y[:-1])


def test_unresolved_depth_reports_infinite_sigma_not_a_small_one() -> None:
    y = np.where(X >= 0.0, 3.0, 0.0) + 1e-4 * X + np.random.default_rng(2).normal(0, 0.2, X.size)
    f = fit_creep(X[X > -2000], y[X > -2000], kind="deep")  # a sharp step: D -> 0 or unresolved
    assert f.depth_km < 0.5 or not np.isfinite(f.depth_sigma_km)


def test_offset_series_from_a_swath_profile_tracks_creep_through_time() -> None:
    ds, trace = fault_dataset(0, nt=8, slip_per_date=2.0, depth_m=500.0)
    line = crossing_line(trace, length=5000.0)
    prof = swath_profile(
        ds, line, half_width=1500.0, bin_size=100.0, layers=["displacement", "deformation"]
    )
    for model in ("creep", "step"):
        ser = offset_series(prof, model=model, window=2000.0 if model == "step" else None)
        assert ser["offset"].dims == ("layer", "time")
        assert ser.attrs["locate_layer"] == "deformation"
        assert abs(ser.attrs["x0"] - 2500.0) < 150.0
        den = ser["offset"].sel(layer="deformation").values
        want = 2.0 * np.arange(8)  # left of the trace minus right = +s (line runs right -> left)
        tol = 0.05 * want + 0.15 if model == "creep" else 0.25 * want + 0.3
        assert np.all(np.abs(den - want) <= tol), (model, den)
        raw = ser.sel(layer="displacement")
        # raw = same signal + 3 mm white noise: agrees with the denoised layer within its sigma
        assert np.all(
            np.abs(raw["offset"].values[1:] - den[1:]) < 4 * raw["offset_sigma"].values[1:]
        )
    creep = offset_series(prof, model="creep")
    assert abs(creep.attrs["depth_km"] - 0.5) < 0.1
