"""Real noise: a known 5 mm creep step injected into the real Mexico City and Sydney series
(../shared/data/real, read only) comes back from the shipped model (issue 14's target: gain
0.8-1.2), as measured by bench/real_noise.py (the same functions, six strikes through the
frame centre). Skipped, with the reason, where the real data is not beside the checkout."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

from real_noise import FRAMES, STRIKES, injection_gains, median_rates  # noqa: E402


@pytest.fixture(scope="module")
def model():
    from insar_ae.model import load_model

    torch.set_num_threads(2)
    return load_model()


def _frame(real_data_dir: Path, name: str):
    from insar_ae.io import open_frame

    path = real_data_dir / name / FRAMES[name]
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return open_frame(path).load()


def test_injection_adds_exactly_the_creep_and_leaves_the_input_alone(real_data_dir):
    from insar_ae.synthetic.injection import inject_creep

    ds = _frame(real_data_dir, "sydney-envisat")
    before = ds["displacement"].values.copy()
    with_creep, creep = inject_creep(ds, 5.0, strike_deg=60.0)
    np.testing.assert_array_equal(ds["displacement"].values, before)
    diff = with_creep["displacement"].values - before
    ok = np.isfinite(diff)
    np.testing.assert_allclose(diff[ok], creep.values[ok], atol=1e-4)
    last = creep.values[-1]
    assert np.nanmax(last) - np.nanmin(last) == pytest.approx(5.0, rel=1e-3)
    np.testing.assert_allclose(creep.values[0][np.isfinite(creep.values[0])], 0.0)


def test_mexico_city_injected_creep_comes_back_with_its_amplitude(real_data_dir, model):
    gains = [
        g["gain"] for g in injection_gains(model, _frame(real_data_dir, "mexico-city-s1"), 5.0)
    ]
    assert len(gains) == len(STRIKES)
    assert 0.8 <= np.median(gains) <= 1.2, gains
    assert min(gains) >= 0.7, gains


def test_mexico_city_denoised_median_rate_within_10_percent_of_raw(real_data_dir, model):
    raw, denoised = median_rates(model, _frame(real_data_dir, "mexico-city-s1"))
    assert raw < -50.0  # the subsidence bowl: tens of cm a year down, away from the satellite
    assert denoised / raw == pytest.approx(1.0, abs=0.1)


@pytest.mark.xfail(
    strict=True,
    reason="issue 14 target not met: Sydney's injected 5 mm creep comes back with gain 0.63 "
    "(0.57-0.73 over strikes, series-v10; series-v8 0.61; bench/real_noise.py). Sydney holds no "
    "strong deformation of its own, and the model keeps less of a weak signal in a quiet scene: "
    "with a 30 mm second fault in the scene the same 5 mm comes back at 0.83 "
    "(bench/real_noise.py --sweep)",
)
def test_sydney_injected_creep_comes_back_with_its_amplitude(real_data_dir, model):
    gains = [
        g["gain"] for g in injection_gains(model, _frame(real_data_dir, "sydney-envisat"), 5.0)
    ]
    assert 0.8 <= np.median(gains) <= 1.2, gains


def test_sydney_strong_injected_creep_comes_back_with_its_amplitude(real_data_dir, model):
    """The shortfall above is the weak signal's: a 20 mm step in the same real noise comes back
    whole (series-v10: 1.02, 0.96-1.07 over strikes)."""
    gains = [
        g["gain"] for g in injection_gains(model, _frame(real_data_dir, "sydney-envisat"), 20.0)
    ]
    assert 0.8 <= np.median(gains) <= 1.2, gains
    assert min(gains) >= 0.7, gains
