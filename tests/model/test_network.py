"""Network and normalising wrapper: shapes, frame 0, determinism, NaN, scale equivariance."""

from __future__ import annotations

import math

import pytest
import torch
from model_helpers import tiny_model

from insar_ae.errors import ParameterError
from insar_ae.model import Denoiser, SpaceTimeAE
from insar_ae.model.network import count_parameters, flops_per_pixel


def _batch(b=2, h=40, w=24, seed=0, amp=5.0):
    g = torch.Generator().manual_seed(seed)
    win = amp * torch.randn(b, 9, h, w, generator=g)
    win[:, 0] = 0.0
    dem = 500.0 + 100.0 * torch.randn(b, h, w, generator=g)
    return win, dem


@pytest.mark.parametrize(("h", "w"), [(16, 16), (40, 24), (37, 53), (9, 130)])
def test_any_tile_size_gives_same_shape_and_zero_first_frame(h, w):
    m = tiny_model()
    win, dem = _batch(h=h, w=w)
    out = m(win, dem)
    assert out.shape == (2, 9, h, w)
    assert torch.all(out[:, 0] == 0)
    assert torch.isfinite(out).all()


def test_same_seed_same_weights_and_bitwise_same_output():
    win, dem = _batch()
    a, b = tiny_model(3)(win, dem), tiny_model(3)(win, dem)
    assert torch.equal(a, b)
    assert not torch.equal(a, tiny_model(4)(win, dem))


def test_nan_pixels_are_zero_filled_and_flagged_not_propagated():
    m = tiny_model()
    win, dem = _batch()
    win_nan = win.clone()
    win_nan[:, 3, 10:14, 5:9] = math.nan
    dem_nan = dem.clone()
    dem_nan[:, 0, 0] = math.nan
    prep = m.prepare(win_nan, dem_nan)
    assert torch.isfinite(prep.x).all()
    assert not prep.valid[:, 10:14, 5:9].any() and not prep.valid[:, 0, 0].any()
    assert prep.valid.sum() == 2 * (40 * 24 - 16 - 1)
    assert torch.isfinite(m(win_nan, dem_nan)).all()


def test_scale_equivariance_mm_in_mm_out():
    """Normalisation is scale-only, so doubling the input doubles the output exactly."""
    m = tiny_model()
    win, dem = _batch(amp=4.0)
    a = m(win, dem)
    b = m(2.0 * win, dem)
    torch.testing.assert_close(b, 2.0 * a, rtol=1e-4, atol=1e-4)


def test_robust_scale_ignores_outliers():
    m = tiny_model()
    win, dem = _batch(amp=3.0)
    s0 = m.prepare(win, dem).scale
    spiky = win.clone()
    spiky[:, 1:, :2, :2] = 1e4  # unwrapping-error-like outliers on a few pixels
    s1 = m.prepare(spiky, dem).scale
    torch.testing.assert_close(s1, s0, rtol=0.05, atol=0.0)
    assert torch.allclose(s0, torch.full_like(s0, 3.0), rtol=0.1)


def test_wrong_shapes_raise_parameter_error():
    m = tiny_model()
    win, dem = _batch()
    with pytest.raises(ParameterError, match="T=9"):
        m(win[:, :5], dem)
    with pytest.raises(ParameterError, match="dem"):
        m(win, dem[:, :10])


def test_shipped_size_budget():
    net = SpaceTimeAE()
    assert 100_000 <= count_parameters(net) <= 500_000
    assert 10_000 < flops_per_pixel(net) < 200_000


def test_config_round_trip():
    m = tiny_model()
    m2 = Denoiser.from_config(m.config())
    assert m2.config() == m.config()
