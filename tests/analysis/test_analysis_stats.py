"""Noise characterisation: RMS per date, covariance and structure function against brute force."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from analysis_helpers import cube_da, grid
from scipy import ndimage

from insar_ae.analysis import fit_covariance, noise_summary, rms_per_date, structure_function
from insar_ae.errors import ParameterError


def test_rms_per_date_known_values_and_nan() -> None:
    x, y = grid(10, 12)
    vals = np.stack([np.full((10, 12), c) for c in (0.0, 3.0, -4.0)])
    vals[1, :5] = np.nan
    da = cube_da(vals, x, y)
    np.testing.assert_allclose(rms_per_date(da).values, [0.0, 3.0, 4.0], rtol=1e-6)
    np.testing.assert_allclose(rms_per_date(da, remove_mean=True).values, 0.0, atol=1e-6)
    ds = xr.Dataset({"displacement": da, "deformation": da * 0.5})
    np.testing.assert_allclose(rms_per_date(ds)["deformation"].values, [0.0, 1.5, 2.0], rtol=1e-6)


def test_structure_function_equals_brute_force_pairs_with_nan() -> None:
    rng = np.random.default_rng(0)
    x, y = grid(9, 11, 100.0)
    z = rng.normal(1.0, 2.0, (9, 11)).astype(np.float32).astype(np.float64)  # as stored
    z[2:4, 3:6] = np.nan
    sf = structure_function(cube_da(z, x, y), max_distance=600.0, bin_size=150.0)
    X, Y = np.meshgrid(x, y)
    ok = np.isfinite(z)
    p = np.column_stack((X[ok], Y[ok]))
    v = z[ok] - z[ok].mean()
    d = np.hypot(*(p[:, None, :] - p[None, :, :]).transpose(2, 0, 1))
    for b in range(4):
        sel = (d > 0) & (d >= b * 150.0) & (d < (b + 1) * 150.0)
        cov = (v[:, None] * v[None, :])[sel].mean()
        st = ((v[:, None] - v[None, :]) ** 2)[sel].mean()
        np.testing.assert_allclose(sf["covariance"].values[b], cov, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(sf["structure"].values[b], st, rtol=1e-8, atol=1e-10)
        assert sf["n_pairs"].values[b] == sel.sum()
    np.testing.assert_allclose(sf.attrs["variance_mm2"], v.var(), rtol=1e-10)


def test_white_vs_correlated_noise_numbers() -> None:
    """White noise: C(r>0) ~ 0, S ~ 2 var. Smoothed noise: longer correlation length."""
    rng = np.random.default_rng(1)
    x, y = grid(128, 128, 100.0)
    white = rng.normal(0, 2.0, (128, 128))
    sf = structure_function(cube_da(white, x, y), max_distance=2000.0)
    assert abs(sf.attrs["variance_mm2"] - 4.0) < 0.2
    assert np.all(np.abs(sf["covariance"].values[1:]) < 0.1)
    np.testing.assert_allclose(sf["structure"].values[1:], 8.0, rtol=0.05)
    smooth = ndimage.gaussian_filter(white, 4.0)
    fit_w = fit_covariance(structure_function(cube_da(white, x, y), max_distance=3000.0))
    fit_s = fit_covariance(structure_function(cube_da(smooth, x, y), max_distance=3000.0))
    assert fit_s["length_m"] > 300.0 and abs(fit_s["nugget_mm2"]) < 0.5 * fit_s["variance_mm2"]
    assert fit_w["nugget_mm2"] > 3.5 and fit_w["variance_mm2"] < 0.5  # white noise is all nugget


def test_structure_function_errors() -> None:
    x, y = grid(8, 8)
    with pytest.raises(ParameterError, match="select one date"):
        structure_function(cube_da(np.zeros((2, 8, 8)), x, y))
    with pytest.raises(ParameterError, match="valid pixels"):
        structure_function(cube_da(np.full((8, 8), np.nan), x, y))


def test_noise_summary_compares_raw_and_denoised(tiny: xr.Dataset) -> None:
    ds = tiny.assign(deformation=tiny["deformation_true"])
    tab = noise_summary(ds, layers=["displacement", "deformation"])
    assert list(tab.index) == ["displacement", "deformation"]
    assert tab.loc["displacement", "rms_median_mm"] > tab.loc["deformation", "rms_median_mm"] * 0.5
    assert {"cov_length_km", "nugget_mm2", "std_at_date_mm"} <= set(tab.columns)
