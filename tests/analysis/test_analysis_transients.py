"""Background rate and slow-slip transients on offset series: seeded truths and the anatolia preset."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from insar_ae.analysis import (
    background_rate,
    crossing_line,
    detect_transient,
    offset_series,
    swath_profile,
)
from insar_ae.errors import ParameterError

DATES = pd.date_range("2019-01-01", periods=90, freq="12D")
T_DAYS = (DATES - DATES[0]).days.to_numpy(float)


def _cosine_sse(t_days: np.ndarray, onset: float, duration: float, amp: float) -> np.ndarray:
    s = np.clip((t_days - onset) / duration, 0, 1)
    return amp * 0.5 * (1 - np.cos(np.pi * s))


def _series(y: np.ndarray) -> xr.DataArray:
    return xr.DataArray(y, dims="time", coords={"time": DATES}, attrs={"units": "mm"})


@pytest.mark.parametrize("shape", ["cosine", "ramp"])
def test_transient_onset_duration_amplitude_and_rate_recovered(shape: str) -> None:
    onset, dur, amp, rate = 500.0, 60.0, 6.0, 4.0
    rng = np.random.default_rng(7)
    y = (
        rate * T_DAYS / 365.25
        + _cosine_sse(T_DAYS, onset, dur, amp)
        + rng.normal(0, 0.4, T_DAYS.size)
    )
    tr = detect_transient(_series(y), shape=shape)
    assert tr is not None
    got_onset = (tr.onset - DATES[0]).days
    assert abs(got_onset - onset) < max(12.0, 3 * tr.onset_sigma_days)
    assert abs(tr.duration_days - dur) < max(24.0, 3 * tr.duration_sigma_days)
    assert abs(tr.amplitude_mm - amp) < 3 * tr.amplitude_sigma_mm + 0.3
    assert abs(tr.rate_mm_per_yr - rate) < 3 * tr.rate_sigma_mm_per_yr + 0.2
    assert tr.snr > 5 and tr.delta_bic > 10
    np.testing.assert_allclose(tr.curve(DATES), y, atol=2.0)
    assert tr.end == tr.onset + pd.Timedelta(days=tr.duration_days)


def test_no_transient_in_linear_series_few_false_alarms() -> None:
    found = 0
    for seed in range(25):
        y = 3.0 * T_DAYS / 365.25 + np.random.default_rng(seed).normal(0, 0.5, T_DAYS.size)
        found += detect_transient(_series(y)) is not None
    assert found <= 1


def test_background_rate_with_and_without_exclusion() -> None:
    rng = np.random.default_rng(1)
    lin = -5.0 * T_DAYS / 365.25 + rng.normal(0, 0.3, T_DAYS.size)
    r, s = background_rate(_series(lin))
    assert abs(r + 5.0) < 3 * s and 0 < s < 0.2
    spiky = lin + np.where(T_DAYS > 900, 30.0, 0.0)  # a disturbed last period
    r_bad, _ = background_rate(_series(spiky))
    r_ex, _ = background_rate(_series(spiky), exclude=("2021-06-15", "2030-01-01"))
    assert abs(r_bad + 5.0) > 1.0 and abs(r_ex - r) < 0.3
    y = lin + _cosine_sse(T_DAYS, 400.0, 30.0, 8.0)
    tr = detect_transient(xr.Dataset({"offset": _series(y)}))
    assert tr is not None and abs(tr.rate_mm_per_yr + 5.0) < 3 * tr.rate_sigma_mm_per_yr + 0.2
    assert abs(tr.amplitude_mm - 8.0) < 1.0


def test_transient_parameter_errors() -> None:
    y = _series(np.zeros(90))
    with pytest.raises(ParameterError, match="shape"):
        detect_transient(y, shape="step")
    with pytest.raises(ParameterError, match="at least 8"):
        detect_transient(y.isel(time=slice(0, 5)))
    two = xr.concat([y, y], dim=pd.Index(["displacement", "noise"], name="layer"))
    with pytest.raises(ParameterError, match="layer"):
        detect_transient(two)


@pytest.mark.slow
def test_anatolia_preset_slow_slip_comes_back_from_truth_plus_modest_noise() -> None:
    """make_scene truth + white noise + 20 % of its atmosphere: onset and amplitude within tolerance."""
    synthetic = pytest.importorskip("insar_ae.synthetic")
    ds = synthetic.make_scene("anatolia-slow-slip", 3, shape=(160, 160))
    truth = json.loads(ds.attrs["truth_params"])
    rng = np.random.default_rng(0)
    noisy = (
        ds["deformation_true"]
        + 0.2 * ds["turbulent"]
        + rng.normal(0, 1.5, ds["displacement"].shape)
    )
    ds = ds.assign(deformation=noisy.astype(np.float32).assign_attrs(units="mm"))
    line = crossing_line(
        np.asarray(truth["fault_trace"]), length=16_000.0
    )  # right -> left of strike
    prof = swath_profile(
        ds, line, half_width=2000.0, bin_size=240.0, layers=["deformation", "deformation_true"]
    )
    ser = offset_series(prof, model="step", window=3000.0)
    tr = detect_transient(ser, layer="deformation")
    assert tr is not None
    onset = pd.Timestamp(truth["sse_onset"])
    assert abs((tr.onset - onset).days) <= 12
    want = truth["sse_los_offset_mm"]  # left minus right of the trace, mm of LOS
    assert abs(tr.amplitude_mm - want) <= 0.2 * abs(want)
    assert abs(tr.duration_days - truth["sse_duration_days"]) <= 21
    assert abs(tr.rate_mm_per_yr - truth["creep_los_offset_mm_yr"]) <= 0.25 * abs(
        truth["creep_los_offset_mm_yr"]
    )
    exact = detect_transient(ser, layer="deformation_true")
    assert exact is not None and abs((exact.onset - onset).days) <= 3
