"""The series model (``SeriesDenoiser``): any number of dates, NaN, scale equivariance, tiles,
save/load, and ``denoise`` end to end with it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from insar_ae.errors import ParameterError
from insar_ae.model import denoise, load_model, save_weights
from insar_ae.model.denoisers import SeriesDenoiser
from insar_ae.model.temporal_basis import legendre_basis, project
from insar_ae.testing import tiny_frame

TINY = {"K": 4, "widths": (4, 4, 8, 8), "dilations": (2,)}


def _tiny(seed: int = 0) -> SeriesDenoiser:
    torch.manual_seed(seed)
    return SeriesDenoiser(**TINY).eval()


class _BasisOracle(SeriesDenoiser):
    """Returns the input's own (unscaled) coefficient maps: isolates projection, tiling, NaN."""

    def forward_normalised(self, prep):
        h, w = prep.crop
        return prep.x[:, : self.K, :h, :w]


@pytest.mark.parametrize("n", [2, 3, 6, 24, 130])
def test_any_number_of_dates(n):
    m = _tiny()
    x = torch.randn(2, n, 24, 40)
    x[:, 0] = 0
    days = torch.cumsum(torch.full((n,), 12.0), 0) - 12
    with torch.no_grad():
        out = m(x, torch.randn(2, 24, 40) * 100, days=days)
    assert out.shape == (2, n, 24, 40)
    assert torch.isfinite(out).all()
    assert out[:, 0].abs().max() == 0  # relative to the first date


def test_scale_equivariance_and_odd_symmetry_of_the_normalisation():
    m = _tiny(1)
    x = torch.randn(1, 20, 32, 32) * 5
    dem = torch.randn(1, 32, 32) * 300
    with torch.no_grad():
        a = m(x, dem)
        b = m(7.0 * x, dem)
    torch.testing.assert_close(b, 7.0 * a, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("weighting", [False, True])
def test_polynomial_oracle_recovers_a_polynomial_series_through_tiles_and_nan(weighting):
    """With the network replaced by 'return the input coefficients', denoise must give back a
    series in the basis exactly, tile blending included, NaN exactly where the input is NaN
    (weighted or not: a series in the basis is fitted exactly by any weights)."""
    ds = tiny_frame(3, n_time=15, ny=37, nx=45, noise_mm=0.0)
    days = (ds["time"].values - ds["time"].values[0]) / np.timedelta64(1, "D")
    u = days / days[-1]
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 37, 45)) * 4
    cube = (a * u[:, None, None] + b * u[:, None, None] ** 2).astype(np.float32)
    ds["displacement"].values[:] = cube
    ds["displacement"][5, 3:6, 7:9] = np.nan  # a hole on one date
    oracle = _BasisOracle(**TINY, date_weighting=weighting).eval()
    out = denoise(ds, model=oracle, tile=16, overlap=8, device="cpu")
    d = out["deformation"].values
    nan_in = np.isnan(ds["displacement"].values)
    np.testing.assert_array_equal(np.isnan(d), nan_in)
    # pixels with a no-data date solve ridge-regularised normal equations (1e-3): 0.1 % bias
    np.testing.assert_allclose(d[~nan_in], cube[~nan_in], rtol=3e-3, atol=1e-3)


def test_denoise_with_the_series_model_any_length_and_metadata():
    for n in (4, 11):
        ds = tiny_frame(5, n_time=n, ny=30, nx=33)
        out = denoise(ds, model=_tiny(), tile=32, overlap=8, device="cpu")
        assert out["deformation"].shape == ds["displacement"].shape
        assert np.all(out["deformation"].isel(time=0).values == 0)
    with pytest.raises(ParameterError, match="at least 2"):
        denoise(tiny_frame(5, n_time=11).isel(time=[0]), model=_tiny(), device="cpu")


@pytest.mark.parametrize("weighting", [False, True])
def test_save_and_load_round_trip(tmp_path, weighting):
    m = _tiny(2)
    m.date_weighting = weighting
    path = tmp_path / "series.safetensors"
    entry = save_weights(m, path, meta={"purpose": "tests"})
    assert entry["config"]["kind"] == "series"
    back = load_model(path)
    assert isinstance(back, SeriesDenoiser)
    assert back.date_weighting is weighting
    x = torch.randn(1, 9, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(back(x, torch.zeros(1, 16, 16)), m(x, torch.zeros(1, 16, 16)))


def test_atmosphere_independent_in_time_spreads_evenly_over_the_coefficients():
    """Why the basis: white-in-time noise of std s gives every coefficient map std s, while a
    linear trend of final amplitude A puts ~A sqrt(N/12) in the first one (sqrt(N) gain)."""
    n = 60
    days = torch.arange(n, dtype=torch.float64) * 12
    q = legendre_basis(days, 6)
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(1, n, 64, 64, generator=g, dtype=torch.float64) * 3.0
    trend = (days / days[-1]).view(1, n, 1, 1) * 5.0 * torch.ones(1, 1, 64, 64, dtype=torch.float64)
    pn = project(noise, torch.ones_like(noise, dtype=torch.bool), q)
    np.testing.assert_allclose(pn.coef.std(dim=(0, 2, 3)).numpy(), 3.0, rtol=0.05)
    pt = project(trend, torch.ones_like(trend, dtype=torch.bool), q)
    assert float(pt.coef[0, 0].abs().mean()) == pytest.approx(5.0 * np.sqrt(n / 12), rel=0.05)


@pytest.mark.parametrize(
    ("tta", "shape", "move"),
    [
        (8, (32, 32), lambda t: t.flip(-1)),  # a mirror flip
        (16, (28, 44), lambda t: t.transpose(-2, -1)),  # the transposition, on any rectangle
    ],
)
def test_symmetrised_inference_is_odd_and_equivariant(tta, shape, move):
    """8 symmetries: sign x mirror flips; 16 adds the transposition (the map's whole dihedral
    group x sign), also on a tile that is not square nor a multiple of the network's stride."""
    m = _tiny(4)
    m.tta = tta
    x = torch.randn(1, 12, *shape) * 4
    dem = torch.randn(1, *shape) * 200
    with torch.no_grad():
        a = m(x, dem)
        assert a.shape == x.shape
        torch.testing.assert_close(m(-x, dem), -a, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(m(move(x), move(dem)), move(a), rtol=1e-4, atol=1e-4)


def test_symmetry_choices():
    m = _tiny(4)
    x, dem = torch.randn(1, 12, 28, 44) * 4, torch.randn(1, 28, 44) * 200
    with torch.no_grad():
        m.tta = 16
        a = m(x, dem)
        m.tta = 8
        assert not torch.allclose(a, m(x, dem))
    with pytest.raises(ParameterError, match="tta"):
        SeriesDenoiser(**TINY, tta=3)


def test_symmetries_option_sets_the_passes_on_a_copy_and_is_recorded():
    """``DenoiseOptions.symmetries`` overrides the weights' setting without touching the
    caller's module, equals setting ``tta`` on the model, and lands in the output's attrs;
    a window model refuses it."""
    from model_helpers import tiny_model

    ds = tiny_frame(6, n_time=7, ny=30, nx=33)
    m = _tiny(5)
    m.tta = 8
    kw = dict(tile=32, overlap=8, device="cpu")
    own = denoise(ds, model=m, **kw)
    assert own["deformation"].attrs["symmetries"] == 8
    out = denoise(ds, model=m, symmetries=16, **kw)
    assert m.tta == 8  # the caller's module is not modified
    assert out["deformation"].attrs["symmetries"] == 16
    m16 = _tiny(5)
    m16.tta = 16
    np.testing.assert_allclose(
        out["deformation"].values, denoise(ds, model=m16, **kw)["deformation"].values, atol=1e-5
    )
    assert not np.allclose(out["deformation"].values, own["deformation"].values)
    with pytest.raises(ParameterError, match="series models only"):
        denoise(tiny_frame(6, n_time=11), model=tiny_model(), symmetries=16, device="cpu")


def test_every_tile_gets_the_whole_frames_date_weights(monkeypatch):
    """With date weighting, ``denoise`` estimates the per-date weights once on the frame and
    passes the same ones to every tile (no per-tile weights, so no seams from them); the
    date whose atmosphere is 10x stronger gets the smallest weight."""
    ds = tiny_frame(7, n_time=12, ny=40, nx=52, noise_mm=0.0)
    rng = np.random.default_rng(3)
    atmo = rng.normal(size=(12, 40, 52)).astype(np.float32)
    atmo[6] *= 10.0
    ds["displacement"].values[:] = atmo - atmo[:1]
    seen = []
    original = SeriesDenoiser.prepare

    def spy(self, series, dem, mask=None, days=None, date_weight=None):
        seen.append(None if date_weight is None else date_weight.clone())
        return original(self, series, dem, mask, days, date_weight)

    monkeypatch.setattr(SeriesDenoiser, "prepare", spy)
    m = _tiny(4)
    m.date_weighting = True
    denoise(ds, model=m, tile=16, overlap=8, batch_size=2, device="cpu")
    assert len(seen) > 3 and all(w is not None for w in seen)
    for w in seen[1:]:
        torch.testing.assert_close(w, seen[0])
    assert int(torch.argmin(seen[0])) == 6
