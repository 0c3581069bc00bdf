"""Source time functions and irregular acquisition dates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from insar_ae.synthetic import acquisition_dates, linear, seasonal, smooth_transient, step
from insar_ae.synthetic.timefuncs import evaluate


def test_linear_creep_accumulates_rate_per_year():
    t = np.array([0.0, 365.25, 730.5])
    np.testing.assert_allclose(linear(t, 8.0), [0.0, 8.0, 16.0])


def test_slow_slip_transient_has_onset_duration_and_amplitude():
    t = np.linspace(0, 200, 2001)
    u = smooth_transient(t, 50.0, 30.0, 6.0)
    assert np.all(u[t <= 50.0] == 0.0)
    assert np.all(u[t >= 80.0] == pytest.approx(6.0))
    assert u[np.searchsorted(t, 65.0)] == pytest.approx(3.0, abs=1e-9)
    assert np.all(np.diff(u) >= 0)  # monotonic and smooth (no jump larger than the sampling)
    assert np.max(np.diff(u)) < 6.0 * np.pi / 2 / 30 * 0.1 + 1e-12


def test_step_and_seasonal_terms():
    t = np.arange(0.0, 800.0, 1.0)
    s = step(t, 100.0, -5.0)
    assert np.all(s[t < 100] == 0) and np.all(s[t >= 100] == -5.0)
    se = seasonal(t, 4.0, 60.0)
    assert se[0] == pytest.approx(0.0, abs=1e-12)
    assert np.ptp(se) == pytest.approx(8.0, rel=1e-3)  # peak-to-peak is twice the amplitude
    np.testing.assert_allclose(seasonal(t + 365.25, 4.0, 60.0), se, atol=1e-9)


def test_time_functions_run_on_tensors_with_per_sample_parameters():
    t = torch.linspace(0, 100, 11)[None].repeat(3, 1)
    onset = torch.tensor([[10.0], [50.0], [200.0]])
    u = smooth_transient(t, onset, torch.tensor(20.0), torch.tensor([[1.0], [2.0], [3.0]]))
    assert u.shape == (3, 11)
    assert float(u[0, -1]) == pytest.approx(1.0) and float(u[2].abs().max()) == 0.0


def test_evaluate_sums_json_terms():
    t = np.array([0.0, 365.25])
    terms = [
        {"type": "linear", "rate_per_yr": 2.0},
        {"type": "step", "t_step_days": 10.0, "amplitude": 1.0},
    ]
    np.testing.assert_allclose(evaluate(terms, t), [0.0, 3.0])


def test_acquisition_dates_are_increasing_multiples_of_the_revisit_and_seeded():
    d = acquisition_dates(
        "2020-01-01",
        80,
        np.random.default_rng(4),
        cadences_days=(6.0, 12.0),
        p_cadence=(0.5, 0.5),
        p_missing=0.2,
    )
    gaps = np.asarray((d[1:] - d[:-1]).days, dtype=float)
    assert len(d) == 80 and d[0] == pd.Timestamp("2020-01-01")
    assert np.all(gaps > 0)
    base = gaps.min()
    assert base in (6.0, 12.0)
    np.testing.assert_allclose(gaps % base, 0.0)
    assert (gaps > base).any()  # some acquisitions are missing
    again = acquisition_dates(
        "2020-01-01",
        80,
        np.random.default_rng(4),
        cadences_days=(6.0, 12.0),
        p_cadence=(0.5, 0.5),
        p_missing=0.2,
    )
    assert d.equals(again)
