"""Classical baselines: analytic identities, NaN handling, referencing, bad parameters."""

from __future__ import annotations

import numpy as np
import pytest

from insar_ae.errors import ParameterError
from insar_ae.model.baselines import spatial_highpass, spatiotemporal_filter, temporal_smooth
from insar_ae.testing import tiny_frame


def _with_displacement(ds, cube):
    out = ds.copy(deep=True)
    out["displacement"].values[:] = cube
    return out


def test_spatial_highpass_removes_per_date_offsets_exactly():
    ds = tiny_frame(0, noise_mm=0.0)
    offsets = np.random.default_rng(0).normal(0, 10, ds.sizes["time"])
    offsets[0] = 0
    cube = np.broadcast_to(offsets[:, None, None], ds["displacement"].shape).astype(np.float32)
    est = spatial_highpass(_with_displacement(ds, cube), sigma_px=4)
    np.testing.assert_allclose(est.values, 0.0, atol=1e-4)


def test_spatiotemporal_filter_equals_temporal_smoothing_on_spatially_uniform_input():
    """For a spatially uniform cube, G_xy is the identity, so d - G_xy(d - G_t d) = G_t d."""
    ds = tiny_frame(1, noise_mm=0.0)
    series = np.random.default_rng(1).normal(0, 5, ds.sizes["time"]).cumsum()
    series -= series[0]
    cube = np.broadcast_to(series[:, None, None], ds["displacement"].shape).astype(np.float32)
    uni = _with_displacement(ds, cube)
    a = spatiotemporal_filter(uni, sigma_days=30, sigma_px=5)
    b = temporal_smooth(uni, sigma_days=30)
    np.testing.assert_allclose(a.values, b.values, atol=1e-4)


def test_temporal_smooth_reduces_white_noise_and_keeps_a_trend():
    ds = tiny_frame(2, n_time=40, step_mm_per_date=0.0, noise_mm=3.0)
    est = temporal_smooth(ds, sigma_days=36)
    resid = est.values[5:-5] - est.values[5:-5].mean(axis=0)
    assert resid.std() < 0.6 * 3.0
    trend = (
        np.arange(40, dtype=np.float32)[:, None, None] * 0.5 * np.ones(ds["displacement"].shape[1:])
    )
    est_t = temporal_smooth(_with_displacement(ds, trend), sigma_days=24)
    np.testing.assert_allclose(
        est_t.values[10:-10] - est_t.values[10:11], trend[10:-10] - trend[10:11], atol=1e-3
    )


@pytest.mark.parametrize("method", [spatial_highpass, spatiotemporal_filter, temporal_smooth])
def test_nan_in_nan_out_first_date_zero_and_mm(method):
    ds = tiny_frame(3).copy(deep=True)
    ds["displacement"][4, 3:6, 3:6] = np.nan
    est = method(ds)
    assert est.dims == ("time", "y", "x") and est.attrs["units"] == "mm"
    np.testing.assert_array_equal(np.isnan(est.values), np.isnan(ds["displacement"].values))
    assert np.all(est.values[0] == 0)


def test_bad_parameters_raise():
    ds = tiny_frame(4)
    with pytest.raises(ParameterError, match="sigma_px"):
        spatial_highpass(ds, sigma_px=0)
    with pytest.raises(ParameterError, match="sigma_days"):
        temporal_smooth(ds, sigma_days=-1)
