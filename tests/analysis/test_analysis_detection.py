"""Detection map and candidate fault traces, without prior knowledge of the source."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from analysis_helpers import fault_dataset, grid

from insar_ae.analysis import (
    crossing_line,
    detection_map,
    fault_candidates,
    offset_series,
    swath_profile,
)
from insar_ae.datamodel import make_dataset
from insar_ae.errors import ParameterError


def _bump_dataset(seed: int = 0, amp: float = 20.0, noise: float = 2.0):
    rng = np.random.default_rng(seed)
    x, y = grid(60, 60, 100.0)
    X, Y = np.meshgrid(x, y)
    bump = amp * np.exp(-((X - x[30]) ** 2 + (Y - y[20]) ** 2) / (2 * 500.0**2))
    t = np.linspace(0, 1, 6)[:, None, None]
    defo = t * bump
    nz = rng.normal(0, noise, defo.shape)
    nz[0] = 0
    ds = make_dataset(
        defo + nz,
        np.zeros((60, 60)),
        pd.date_range("2021-01-01", periods=6, freq="6D"),
        y,
        x,
        extra={"deformation": defo, "noise": nz},
    )
    return ds, bump


def test_detection_map_flags_the_deforming_area_only() -> None:
    ds, bump = _bump_dataset()
    m = detection_map(ds, k=3.0)
    sigma = m.attrs["sigma_mm"]
    assert abs(sigma - 2.0 * np.sqrt(1.0)) < 0.2  # noise(end) - noise(start=0 frame): 2 mm
    strong = bump > 3 * sigma * 1.2
    weak = bump < 3 * sigma * 0.8
    assert m["detected"].values[strong].all()
    assert not m["detected"].values[weak].any()
    np.testing.assert_allclose(m["change"].values, bump, atol=1e-4)
    assert m.attrs["layer"] == "deformation" and m.attrs["start"] == "2021-01-01"


def test_detection_map_noise_area_and_given_sigma_and_errors() -> None:
    ds, _ = _bump_dataset(noise=1.0)
    ds = ds.assign(deformation=ds["deformation"] + ds["noise"] * 0.5)  # leaked noise
    far = dict(x=float(ds.x[5]), y=float(ds.y[50]), radius=800.0)
    m = detection_map(ds, noise_area=far)
    assert abs(m.attrs["sigma_mm"] - 0.5) < 0.12 and "noise_area" in m.attrs["sigma_source"]
    m2 = detection_map(ds, sigma=4.0, start=1, end="2021-01-25")
    assert m2.attrs["sigma_mm"] == 4.0 and m2.attrs["end"] == "2021-01-25"
    with pytest.raises(ParameterError, match="k must be"):
        detection_map(ds, k=0)
    with pytest.raises(ParameterError, match="different dates"):
        detection_map(ds, start=2, end=2)
    nan_ds = ds.copy(deep=True)
    nan_ds["deformation"][:, 40:, :20] = np.nan
    with pytest.raises(ParameterError, match="no valid pixel"):
        detection_map(nan_ds, noise_area=far)


def _dist_to_line(pts: np.ndarray, line: np.ndarray) -> np.ndarray:
    a, b = line
    d = (b - a) / np.hypot(*(b - a))
    rel = pts - a
    return np.abs(rel[:, 0] * d[1] - rel[:, 1] * d[0])


@pytest.mark.parametrize("direction", [(0.3, 1.0), (1.0, -0.2)])
def test_fault_candidate_follows_the_true_trace_and_feeds_the_profile_tools(direction) -> None:
    ds, trace = fault_dataset(2, ny=80, nx=100, nt=8, strike_point=direction)
    cands = fault_candidates(ds)
    assert len(cands) >= 1
    best = cands[0]
    assert best.ndim == 2 and best.shape[1] == 2
    assert _dist_to_line(best, trace).max() < 150.0  # < 1.5 pixels
    length = np.hypot(*np.diff(best, axis=0).T).sum()
    assert length > 0.6 * min(80, 100) * 100.0
    line = crossing_line(best, length=4000.0)
    prof = swath_profile(ds, line, half_width=1000.0, layers="deformation")
    ser = offset_series(prof, model="creep")
    assert abs(abs(float(ser["offset"].isel(time=-1))) - 14.0) < 1.0


def test_no_fault_candidates_in_noise() -> None:
    rng = np.random.default_rng(3)
    x, y = grid(64, 64)
    nz = rng.normal(0, 2.0, (5, 64, 64))
    nz[0] = 0
    small = rng.normal(0, 0.1, nz.shape)
    ds = make_dataset(
        nz + small,
        np.zeros((64, 64)),
        pd.date_range("2021-01-01", periods=5),
        y,
        x,
        extra={"deformation": small, "noise": nz},
    )
    assert fault_candidates(ds) == []
    with pytest.warns(UserWarning, match="no noise layer"):
        assert detection_map(ds.drop_vars("noise"))["detected"].mean() < 0.01
    only_raw = ds.drop_vars(["noise", "deformation"])
    assert len(fault_candidates(only_raw)) <= 1


def test_fault_candidates_parameter_errors() -> None:
    ds, _ = fault_dataset(0)
    with pytest.raises(ParameterError, match="smooth_px"):
        fault_candidates(ds, smooth_px=-1)
    with pytest.raises(ParameterError, match="threshold"):
        fault_candidates(ds, threshold=0.0)
    assert len(fault_candidates(ds, threshold=1e6)) == 0
