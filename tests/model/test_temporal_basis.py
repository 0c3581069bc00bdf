"""The series model's temporal basis: analytic projections, no-data dates, reference date."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from insar_ae.errors import ParameterError
from insar_ae.model.temporal_basis import date_weights, legendre_basis, project, reconstruct


def _days(n: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.as_tensor(
        np.cumsum(np.r_[0, rng.choice([6, 12, 24, 36], n - 1)]), dtype=torch.float64
    )


@pytest.mark.parametrize("n", [2, 3, 7, 24, 150])
def test_basis_is_orthonormal_with_a_constant_first_column(n):
    q = legendre_basis(_days(n), 6)[0]
    live = q.abs().sum(0) > 0
    assert int(live.sum()) == min(7, n)  # short series carry fewer terms
    ql = q[:, live]
    np.testing.assert_allclose((ql.T @ ql).numpy(), np.eye(int(live.sum())), atol=1e-10)
    np.testing.assert_allclose(q[:, 0].numpy(), 1 / np.sqrt(n), rtol=1e-10)


def test_polynomial_series_is_projected_and_reconstructed_exactly():
    days = _days(30)
    t = (days / 365.25).float()
    a = torch.randn(2, 1, 5, 6)
    b = torch.randn(2, 1, 5, 6)
    series = 3.0 + a * t.view(1, -1, 1, 1) + b * t.view(1, -1, 1, 1) ** 3  # cubic with offset
    q = legendre_basis(days, 6).expand(2, -1, -1)
    proj = project(series.double(), torch.ones_like(series, dtype=torch.bool), q)
    assert proj.resid_rms.abs().max() < 1e-5  # float32 input
    rec = reconstruct(proj.coef, q)
    np.testing.assert_allclose(rec.numpy(), (series - series[:, :1]).double().numpy(), atol=1e-5)
    assert rec[:, 0].abs().max() == 0  # exactly 0 at the first date


def test_pixels_with_no_data_dates_match_their_own_least_squares():
    days = _days(20, seed=3)
    q = legendre_basis(days, 4)
    rng = np.random.default_rng(1)
    series = torch.as_tensor(rng.normal(size=(1, 20, 3, 3)))
    valid = torch.ones_like(series, dtype=torch.bool)
    valid[0, [2, 5, 11], 1, 1] = False
    proj = project(series, valid, q)
    ok = valid[0, :, 1, 1].numpy()
    want = np.linalg.lstsq(q[0].numpy()[ok], series[0, :, 1, 1].numpy()[ok], rcond=None)[0]
    np.testing.assert_allclose(proj.coef[0, :, 1, 1].numpy(), want[1:], rtol=5e-3)  # ridge 1e-3
    assert int(proj.n_valid[0, 1, 1]) == 17
    # a fully valid pixel is the plain orthonormal projection
    np.testing.assert_allclose(
        proj.coef[0, :, 0, 0].numpy(), (q[0].T @ series[0, :, 0, 0])[1:].numpy(), atol=1e-10
    )


def test_bad_days_are_refused():
    with pytest.raises(ParameterError, match="at least 2 dates"):
        legendre_basis(torch.zeros(1), 3)
    with pytest.raises(ParameterError, match="degree"):
        legendre_basis(_days(5), 0)


def _noisy_series(
    sigmas: np.ndarray, seed: int = 1
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A linear trend (10 mm over the series) plus white noise of per-date strength ``sigmas``,
    referenced to the first date; returns (series, trend, basis)."""
    n = len(sigmas)
    rng = np.random.default_rng(seed)
    days = _days(n)
    frac = ((days - days[0]) / (days[-1] - days[0])).numpy()
    trend = np.broadcast_to((10.0 * frac)[:, None, None], (n, 48, 48))
    atmo = rng.normal(size=(n, 48, 48)) * sigmas[:, None, None]
    obs = trend + atmo - atmo[:1]  # every date referenced to the first one
    q = legendre_basis(days, 3)
    return torch.as_tensor(obs[None]), torch.as_tensor(trend[None].copy()), q


def test_uniform_date_weights_give_the_unweighted_projection():
    series, _, q = _noisy_series(np.full(20, 3.0))
    valid = torch.ones_like(series, dtype=torch.bool)
    valid[0, 5, :10, :10] = False  # some pixels solve their own system
    plain = project(series, valid, q)
    same = project(series, valid, q, torch.full((1, 20), 7.0, dtype=torch.float64))
    torch.testing.assert_close(same.coef, plain.coef, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(same.resid_rms, plain.resid_rms, rtol=1e-5, atol=1e-6)


def test_date_weights_find_the_strong_dates_and_keep_the_trend():
    sigmas = np.full(20, 2.0)
    sigmas[[0, 19, 9]] = 20.0  # the reference date, the last date and one in the middle
    series, trend, q = _noisy_series(sigmas)
    valid = torch.ones_like(series, dtype=torch.bool)
    w = date_weights(series, valid, q, max_ratio=100.0)[0].numpy()
    strong = w[[0, 9, 19]]
    calm = np.delete(w, [0, 9, 19])
    assert strong.max() < 0.2 * calm.min()  # each strong date is seen, the first one included
    err = {}
    for name, weight in (("plain", None), ("weighted", date_weights(series, valid, q))):  # ratio 4
        est = reconstruct(project(series, valid, q, weight).coef, q)
        err[name] = float(((est - (trend - trend[:, :1])) ** 2).mean().sqrt())
    assert err["weighted"] < 0.5 * err["plain"], err  # GLS: the strong dates no longer leak
