"""Real ENVISAT (Sydney) and Sentinel-1 (Mexico City) series: MintPy vs LiCSBAS, sign, writers.

See ../shared/data/real/README.md: both files hold the same series (MintPy in m, LiCSBAS in mm),
positive toward the satellite; LiCSBAS corner_lat/lon are pixel centres, MintPy X_FIRST/Y_FIRST
outer corners. Sydney's cum.h5 keeps 6 pixels that are NaN only on the last date in PyRate
(all-NaN in the MintPy file).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insar_ae.io import open_frame, write_frame

pytestmark = pytest.mark.realdata
FRAMES = ["mexico-city-s1", "sydney-envisat"]


@pytest.fixture(scope="module", params=FRAMES)
def pair(request, real_data_dir):
    d = real_data_dir / request.param
    return request.param, open_frame(d / "timeseries.h5"), open_frame(d / "cum.h5")


def test_mintpy_and_licsbas_agree(pair):
    name, m, lic = pair
    assert m.sizes == lic.sizes
    np.testing.assert_array_equal(m["time"].values, lic["time"].values)
    step_x, step_y = abs(float(m.x[1] - m.x[0])), abs(float(m.y[1] - m.y[0]))
    assert np.abs(m["x"].values - lic["x"].values).max() < 1e-3 * step_x  # << a pixel
    assert np.abs(m["y"].values - lic["y"].values).max() < 1e-3 * step_y
    a, b = m["displacement"].values, lic["displacement"].values
    both = np.isfinite(a) & np.isfinite(b)
    assert np.abs(a - b)[both].max() < 1e-3  # mm (float32 metres -> mm rounding)
    only_licsbas = np.isfinite(b) & ~np.isfinite(a)
    n_partial = {"mexico-city-s1": 0, "sydney-envisat": 6}[name]
    assert (
        only_licsbas.any(axis=0).sum() == n_partial and not (np.isfinite(a) & ~np.isfinite(b)).any()
    )
    np.testing.assert_array_equal(m["height"].values, lic["height"].values)
    ref_m = [float(v) for v in m.attrs["reference_point"].split(",")]
    ref_l = [float(v) for v in lic.attrs["reference_point"].split(",")]
    assert ref_m == pytest.approx(ref_l, abs=1e-3 * step_x)
    assert (
        m.attrs["reference_date"] == lic.attrs["reference_date"] == str(m.indexes["time"][0].date())
    )


def test_mexico_city_subsides(real_data_dir):
    ds = open_frame(real_data_dir / "mexico-city-s1" / "timeseries.h5")
    last = ds["displacement"].isel(time=-1)
    assert float(last.isel(y=24, x=80)) == pytest.approx(-126.7, abs=0.1)  # README example pixel
    assert float(ds["displacement"].isel(time=0).isel(y=24, x=80)) == 0.0
    west = float(last.where(ds["x"] < -99.17).median())
    east = float(last.where(ds["x"] > -99.08).median())
    assert abs(west) < 15.0 and east < -100.0  # stable west, strongly subsiding east
    # reference pixel (row 9, col 8) is exactly 0 at every date
    np.testing.assert_array_equal(ds["displacement"].isel(y=9, x=8).values, 0.0)
    ry, rx = (float(v) for v in ds.attrs["reference_point"].split(","))
    assert (ry, rx) == pytest.approx((19.4381, -99.1793), abs=1e-4)
    assert ds.attrs["sensor"] == "Sentinel-1" and ds.attrs["heading_deg"] == pytest.approx(
        -12.274, abs=1e-3
    )
    assert ds.indexes["time"][-1] == pd.Timestamp("2018-07-17")


def test_sydney_signal_sign_and_grid(real_data_dir):
    ds = open_frame(real_data_dir / "sydney-envisat" / "cum.h5")
    assert ds["x"].values[0] == pytest.approx(150.91 + 0.000833333 / 2)
    assert ds["y"].values[0] == pytest.approx(-34.17 - 0.000833333 / 2)
    # LOS lengthening (negative) centred near row 39, col 31 (README "known signal")
    local = float(ds["displacement"].isel(time=-1, y=slice(37, 42), x=slice(29, 34)).median())
    assert local < -10.0


@pytest.mark.parametrize("suffix", [".nc", ".zarr", ".h5", ".tif"])
def test_real_data_round_trip_through_every_writer(real_data_dir, tmp_path, suffix):
    ds = open_frame(real_data_dir / "mexico-city-s1" / "cum.h5")
    back = open_frame(write_frame(ds, tmp_path / f"mexico{suffix}"))
    np.testing.assert_allclose(back["displacement"].values, ds["displacement"].values, atol=1e-3)
    np.testing.assert_array_equal(
        np.isnan(back["displacement"].values), np.isnan(ds["displacement"].values)
    )
    np.testing.assert_allclose(back["x"].values, ds["x"].values, rtol=0, atol=1e-9)
    np.testing.assert_allclose(back["y"].values, ds["y"].values, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(back["time"].values, ds["time"].values)
    np.testing.assert_array_equal(back["height"].values, ds["height"].values)
    assert back["x"].attrs["crs"] == "EPSG:4326"
    ref_a = [float(v) for v in ds.attrs["reference_point"].split(",")]
    ref_b = [float(v) for v in back.attrs["reference_point"].split(",")]
    assert ref_a == pytest.approx(ref_b, abs=1e-9)
