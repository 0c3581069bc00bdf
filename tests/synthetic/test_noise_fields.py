"""Random fields, topography, atmosphere and noise components."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from insar_ae.synthetic import fractal_dem
from insar_ae.synthetic._backend import Random
from insar_ae.synthetic.atmosphere import relative_to_first, stratified_delay, turbulent_delay
from insar_ae.synthetic.fields import power_law_field
from insar_ae.synthetic.noise import (
    HALF_WAVELENGTH_MM_C,
    decorrelation_mask,
    orbital_ramp,
    ramp_basis,
    unwrapping_errors,
)


def _spectral_slope(field: np.ndarray) -> float:
    """Slope of the radially averaged power spectrum (log-log) between 4 and 25 cycles."""
    ny, nx = field.shape[-2:]
    p = (np.abs(np.fft.fft2(field)) ** 2).mean(axis=0)
    ky, kx = np.meshgrid(np.fft.fftfreq(ny), np.fft.fftfreq(nx), indexing="ij")
    k = np.hypot(ky, kx)
    bins = np.geomspace(4 / nx, 25 / nx, 8)
    idx = np.digitize(k.ravel(), bins)
    kk = [k.ravel()[idx == i].mean() for i in range(1, len(bins))]
    pp = [p.ravel()[idx == i].mean() for i in range(1, len(bins))]
    return float(np.polyfit(np.log(kk), np.log(pp), 1)[0])


@pytest.mark.parametrize("beta", [5.0 / 3.0, 8.0 / 3.0, 11.0 / 3.0])
def test_power_law_field_has_the_requested_spectral_slope(beta):
    f = power_law_field(Random(np.random.default_rng(0)), (40,), 128, 128, beta, pad=1.0)
    assert _spectral_slope(f) == pytest.approx(-beta, abs=0.15)


def test_power_law_field_torch_has_expected_variance_and_exact_mode():
    r = Random(torch.Generator().manual_seed(0))
    f = power_law_field(r, (300,), 64, 64, 2.5, pad=1.0, exact_std=False, scale=3.0)
    assert float(f.var()) == pytest.approx(9.0, rel=0.1)
    g = power_law_field(r, (5,), 64, 64, 3.5, scale=2.0)
    torch.testing.assert_close(g.std(dim=(-2, -1), correction=0), torch.full((5,), 2.0))


def test_turbulent_delay_rms_per_date_and_independent_dates():
    r = Random(np.random.default_rng(1))
    rms = np.array([1.0, 5.0, 20.0])[:, None, None]
    d = turbulent_delay(r, (3,), 96, 96, rms_mm=rms, slope=8 / 3, k0=0.01)
    np.testing.assert_allclose(d.std(axis=(1, 2)), [1.0, 5.0, 20.0], rtol=1e-9)
    assert abs(np.corrcoef(d[0].ravel(), d[1].ravel())[0, 1]) < 0.3
    rel = relative_to_first(d)
    assert np.all(rel[0] == 0.0)


def test_stratified_delay_is_correlated_with_height_with_the_coefficient_sign():
    dem = fractal_dem((64, 64), relief_m=2000.0, seed=2)
    k1 = np.array([5.0, -5.0, 0.0])[:, None, None]
    k2 = np.array([0.0, 0.0, 3.0])[:, None, None]
    s = stratified_delay(dem, k1, k2)
    assert np.corrcoef(s[0].ravel(), dem.ravel())[0, 1] == pytest.approx(1.0)
    assert np.corrcoef(s[1].ravel(), dem.ravel())[0, 1] == pytest.approx(-1.0)
    dh = (dem - dem.mean()) / 1000.0
    np.testing.assert_allclose(s[2], 3.0 * (dh**2 - (dh**2).mean()))  # non-linear in height


def test_fractal_dem_spans_the_relief_and_is_seeded():
    dem = fractal_dem((80, 100), relief_m=1500.0, base_m=200.0, seed=5)
    assert dem.shape == (80, 100)
    assert dem.min() == pytest.approx(200.0) and dem.max() == pytest.approx(1700.0)
    np.testing.assert_array_equal(
        dem, fractal_dem((80, 100), relief_m=1500.0, base_m=200.0, seed=5)
    )


def test_orbital_ramp_is_planar_plus_quadratic():
    r = Random(np.random.default_rng(3))
    ramp = orbital_ramp(r, (4,), 30, 40, amp_mm=5.0, quad_fraction=0.5)
    basis = ramp_basis(r, 30, 40).reshape(6, -1).T
    for img in ramp:
        coef, *_ = np.linalg.lstsq(basis, img.ravel(), rcond=None)
        np.testing.assert_allclose(basis @ coef, img.ravel(), atol=1e-10)
    flat = orbital_ramp(r, (200,), 8, 8, amp_mm=5.0, quad_fraction=0.0)
    coef = np.array(
        [
            np.linalg.lstsq(ramp_basis(r, 8, 8).reshape(6, -1).T, f.ravel(), rcond=None)[0]
            for f in flat
        ]
    )
    assert np.abs(coef[:, 3:]).max() < 1e-9
    assert coef[:, :3].std(axis=0) == pytest.approx([5.0, 5.0, 5.0], rel=0.2)


def test_decorrelation_mask_hole_and_scatter_fractions():
    r = Random(np.random.default_rng(4))
    m = decorrelation_mask(r, (20,), 128, 128, hole_fraction=0.15, scatter_fraction=0.02)
    invalid = 1.0 - m.mean()
    assert invalid == pytest.approx(1 - 0.85 * 0.98, abs=0.06)
    none = decorrelation_mask(r, (2,), 64, 64, hole_fraction=0.0, scatter_fraction=0.0)
    assert none.all()


def test_unwrapping_errors_are_half_wavelength_multiples_on_patches_not_on_first_date():
    r = Random(torch.Generator().manual_seed(0))
    u = unwrapping_errors(r, (6,), 10, 64, 64, patch_fraction=0.05, p_date=0.5)
    assert u.shape == (6, 10, 64, 64)
    assert float(u[:, 0].abs().max()) == 0.0
    k = u / HALF_WAVELENGTH_MM_C
    torch.testing.assert_close(k, k.round(), atol=1e-5, rtol=0)
    assert HALF_WAVELENGTH_MM_C == pytest.approx(27.7, abs=0.1)
    assert float(u.abs().max()) > 0
