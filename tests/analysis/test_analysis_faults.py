"""The crossing policy and candidate-fault profiles (insar_ae.analysis.faults).

The decisive cases: a "denoised" layer without the step must not move the crossing (it is
located on the raw layer), every layer is then fitted at that one crossing, and candidate
profiles are few, inside the frame and at right angles to their trace.
"""

from __future__ import annotations

import numpy as np
import pytest

from insar_ae.analysis import (
    candidate_profiles,
    fit_step,
    locate_crossing,
    locate_fault,
    swath_profile,
    valid_pixel_near,
)
from insar_ae.errors import ParameterError
from insar_ae.testing import tiny_frame


def _frame_with_stepless_denoised(seed: int = 0):
    ds = tiny_frame(seed, n_time=12, ny=40, nx=60, noise_mm=0.5)
    # a "denoised" layer that missed the step and has a smooth bump elsewhere
    x = ds["x"].values
    bump = 3.0 * np.exp(-(((x - x[10]) / 300.0) ** 2))
    ds["deformation"] = ds["displacement"] * 0 + bump[None, None, :].astype(np.float32)
    return ds


def test_crossing_is_located_on_the_raw_layer_not_the_denoised_one():
    ds = _frame_with_stepless_denoised()
    x, y = ds["x"].values, ds["y"].values
    line = np.array([[x[2], y[20]], [x[-3], y[20]]])
    prof = swath_profile(
        ds.isel(time=-1), line, half_width=500.0, layers=["displacement", "deformation"]
    )
    c = locate_crossing(prof)
    fault = x.mean() - x[2]  # distance of the step from the first vertex
    assert c.source == "displacement"
    assert abs(c.x0 - fault) <= 100.0  # within one pixel
    assert not c.agree and abs(c.per_layer["deformation"] - fault) > 1000.0
    fit = fit_step(
        prof["distance"].values, prof["median"].sel(layer="displacement").values, x0=c.x0
    )
    assert fit.offset_mm == pytest.approx(11.0, abs=0.5)  # 1 mm per date, 12 dates


def test_a_given_crossing_is_used_and_reported():
    ds = tiny_frame(0, n_time=8, ny=32, nx=40)
    x, y = ds["x"].values, ds["y"].values
    prof = swath_profile(
        ds.isel(time=-1),
        [[x[2], y[16]], [x[-3], y[16]]],
        half_width=400.0,
        layers=["displacement", "deformation_true"],
    )
    c = locate_crossing(prof, given=1234.0)
    assert (c.x0, c.source) == (1234.0, "user")
    assert "deformation_true" not in c.per_layer  # a truth layer never locates
    with pytest.raises(ParameterError):
        locate_crossing(prof.isel(layer=0))


def test_candidate_profiles_are_few_inside_the_frame_and_perpendicular():
    ds = tiny_frame(0, n_time=12, ny=48, nx=64, noise_mm=0.3)
    x, y = ds["x"].values, ds["y"].values
    cands = candidate_profiles(ds, n=3)
    assert 1 <= len(cands) <= 3
    best = cands[0]
    assert abs(best.crossing[0] - x.mean()) < 150.0  # on the step (x = mean x)
    for c in cands:
        assert np.all((c.line[:, 0] >= x.min()) & (c.line[:, 0] <= x.max()))
        assert np.all((c.line[:, 1] >= y.min()) & (c.line[:, 1] <= y.max()))
        u = c.trace[-1] - c.trace[0]
        v = c.line[1] - c.line[0]
        cos = abs(np.dot(u, v)) / np.hypot(*u) / np.hypot(*v)
        assert cos < 0.05  # at right angles (within 3 degrees)


def test_valid_pixel_near_skips_masked_pixels():
    ds = tiny_frame(0, n_time=4, ny=21, nx=21)
    mask = np.ones((21, 21), bool)
    mask[5:16, 5:16] = False
    ds["mask"] = (("y", "x"), mask)
    px, py = valid_pixel_near(ds)
    j = int(np.argmin(np.abs(ds["x"].values - px)))
    i = int(np.argmin(np.abs(ds["y"].values - py)))
    assert mask[i, j] and max(abs(i - 10), abs(j - 10)) == 6


@pytest.mark.slow
def test_default_frame_crossing_and_truth_offset():
    """On the default frame's fault: crossings within one swath width of the true trace and
    the truth offset fitted there within 20 % of the truth offset at the true trace."""
    from insar_ae.catalog import DEFAULT_FRAME, open_catalog_frame

    ds = (
        open_catalog_frame(DEFAULT_FRAME)[["displacement", "deformation_true", "mask"]]
        .isel(time=[0, -1])
        .load()
    )
    x, y = ds["x"].values, ds["y"].values
    hw = abs(x[-1] - x[0]) / 50
    last = ds.isel(time=-1)
    rng = np.random.default_rng(3)
    for _ in range(6):  # N-S lines across the N80E fault
        xm, dx = rng.uniform(x[60], x[-60]), rng.uniform(-15000, 15000)
        prof = swath_profile(
            last,
            [[xm - dx / 2, y[-20]], [xm + dx / 2, y[20]]],
            half_width=hw,
            layers=["displacement", "deformation_true"],
        )
        d, truth = prof["distance"].values, prof["median"].sel(layer="deformation_true").values
        true_x0 = locate_fault(d, truth)
        c = locate_crossing(prof)
        assert abs(c.x0 - true_x0) <= 2 * hw
        expected = fit_step(d, truth, x0=true_x0).offset_mm
        assert fit_step(d, truth, x0=c.x0).offset_mm == pytest.approx(expected, rel=0.2)
    cands = candidate_profiles(ds)
    assert 1 <= len(cands) <= 3
    for c in cands:  # each crosses the true trace: the truth jumps along the line, at its middle
        prof = swath_profile(last, c.line, half_width=hw, layers="deformation_true")
        d, v = prof["distance"].values, prof["median"].values
        assert abs(locate_fault(d, v) - d.mean()) <= 2 * hw
        assert abs(fit_step(d, v, x0=locate_fault(d, v)).offset_mm) > 5.0
