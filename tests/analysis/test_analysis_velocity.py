"""Per-pixel rate maps: known linear and seasonal signals are recovered exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from insar_ae.analysis import velocity
from insar_ae.errors import ParameterError


def _cube(values: np.ndarray, dates: pd.DatetimeIndex) -> xr.DataArray:
    ny, nx = values.shape[1:]
    return xr.DataArray(
        values,
        dims=("time", "y", "x"),
        coords={"time": dates, "y": np.arange(ny) * -100.0, "x": np.arange(nx) * 100.0},
    )


def test_rates_with_and_without_annual_terms_and_gaps() -> None:
    dates = pd.date_range("2019-01-01", periods=61, freq="12D")
    t = ((dates - dates[0]).days / 365.25).to_numpy()
    rate = np.linspace(-30.0, 20.0, 12).reshape(3, 4)  # mm/yr
    season = 4.0 * np.sin(2 * np.pi * t + 0.7)
    vals = 5.0 + rate[None] * t[:, None, None] + season[:, None, None]
    vals[::6, 0, 0] = np.nan  # 11 of 61 dates missing at one pixel: still >= 80 % valid
    vals[:20, 2, 3] = np.nan  # a third missing: below min_valid
    v = velocity(_cube(vals, dates), annual=True)
    assert v.dims == ("y", "x") and v.attrs["units"] == "mm/yr"
    ok = np.isfinite(v.values)
    assert not ok[2, 3] and ok.sum() == 11
    np.testing.assert_allclose(v.values[ok], rate[ok], atol=1e-3)
    # without the annual terms, a 4 mm annual signal biases a 2-year rate by ~1.6 mm/yr
    plain = velocity(_cube(vals, dates))
    bias = np.abs(plain.values - rate)[ok]
    assert 1.0 < bias.min() and bias.max() < 2.5


def test_bad_input_is_refused() -> None:
    dates = pd.date_range("2019-01-01", periods=3, freq="12D")
    with pytest.raises(ParameterError, match="too few"):
        velocity(_cube(np.zeros((3, 2, 2)), dates), annual=True)
    with pytest.raises(ParameterError, match="min_valid"):
        velocity(_cube(np.zeros((3, 2, 2)), dates), min_valid=0)
    with pytest.raises(ParameterError, match="time, y, x"):
        velocity(xr.DataArray(np.zeros((2, 2)), dims=("y", "x")))


def test_fit_rate_recovers_rate_and_annual_amplitude_with_sigmas():
    import pandas as pd

    from insar_ae.analysis import fit_rate

    dates = pd.date_range("2018-01-01", periods=90, freq="12D")
    t = ((dates - dates[0]).days / 365.25).to_numpy()
    rng = np.random.default_rng(0)
    y = 2.0 + 7.5 * t + 3.0 * np.sin(2 * np.pi * t + 0.4) + rng.normal(0, 1.0, t.size)
    y[5] = np.nan
    fit = fit_rate(dates, y, annual=True)
    assert fit.n == 89
    assert (
        abs(fit.rate_mm_yr - 7.5) < 3 * fit.rate_sigma_mm_yr and 0.05 < fit.rate_sigma_mm_yr < 0.3
    )
    assert abs(fit.annual_amplitude_mm - 3.0) < 3 * fit.annual_amplitude_sigma_mm
    assert np.nanstd(y - fit.curve(dates)) < 1.1
    lin = fit_rate(dates, 7.5 * t, annual=False)
    assert lin.rate_mm_yr == pytest.approx(7.5) and lin.annual_amplitude_mm == 0.0
