"""GeoTIFF stacks: one file per date, multi-band, DEM checks, units, velocity/cumulative maps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin

from insar_ae.errors import FormatError
from insar_ae.io import open_frame, sniff_format, write_frame
from insar_ae.io.geotiff import linear_velocity

NY, NX = 8, 9
TRANSFORM = from_origin(500_000.0, 4_500_000.0, 100.0, 100.0)


def _tif(path, bands, *, crs="EPSG:32636", transform=TRANSFORM, descriptions=None, tags=None):
    bands = np.asarray(bands, dtype=np.float32)
    bands = bands[None] if bands.ndim == 2 else bands
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=bands.shape[1],
        width=bands.shape[2],
        count=bands.shape[0],
        dtype="float32",
        crs=crs,
        transform=transform,
    ) as dst:
        dst.write(bands)
        for i, d in enumerate(descriptions or [], start=1):
            dst.set_band_description(i, d)
        if tags:
            dst.update_tags(**tags)
    return path


def _signal(k):
    return np.full((NY, NX), 2.0 * k, dtype=np.float32) + np.arange(NX, dtype=np.float32)[None] * k


def test_one_file_per_date_from_names_sorted_by_date(tmp_path):
    dates = pd.to_datetime(["2020-01-01", "2020-01-13", "2020-01-25"])
    for k in (2, 0, 1):  # written out of order on purpose
        _tif(tmp_path / f"disp_{dates[k]:%Y%m%d}.tif", _signal(k))
    _tif(tmp_path / "dem.tif", np.full((NY, NX), 812.0))
    assert sniff_format(tmp_path) == "geotiff"
    ds = open_frame(tmp_path)
    assert list(ds.indexes["time"]) == list(dates)
    for k in range(3):
        np.testing.assert_array_equal(ds["displacement"].isel(time=k).values, _signal(k))
    assert (ds["height"].values == 812.0).all()
    assert ds["x"].values[0] == pytest.approx(500_050.0) and ds["y"].values[0] == pytest.approx(
        4_499_950.0
    )
    assert ds["x"].attrs["crs"] == "EPSG:32636" and ds["x"].attrs["units"] == "m"


def test_multiband_dates_in_descriptions_and_units_tag_in_metres(tmp_path):
    bands = np.stack([_signal(k) for k in range(3)]) / 1000.0
    f = _tif(
        tmp_path / "stack.tif",
        bands,
        descriptions=["2019-05-01", "2019-05-13", "2019-05-25"],
        tags={"units": "m"},
    )
    _tif(tmp_path / "stack.dem.tif", np.full((NY, NX), 5.0))
    ds = open_frame(f)
    np.testing.assert_allclose(ds["displacement"].values, bands * 1000.0, rtol=1e-6)
    assert ds.indexes["time"][1] == pd.Timestamp("2019-05-13")


def test_interferogram_style_names_use_second_date(tmp_path):
    for k, d in enumerate(["20200101", "20200113", "20200125"]):
        _tif(tmp_path / f"cum_20200101_{d}.tif", _signal(k))
    ds = open_frame(sorted(tmp_path.glob("*.tif")), dem=False)
    assert ds.indexes["time"][-1] == pd.Timestamp("2020-01-25")


@pytest.mark.parametrize("what", ["stack", "date", "cumulative"])
def test_writer_round_trip(tiny, tmp_path, what):
    kw = {"date": "2020-02-06"} if what == "date" else {}
    out = write_frame(tiny, tmp_path / f"{what}.tif", what=what, **kw)
    back = open_frame(out, dem=tmp_path / "stack.dem.tif" if what == "stack" else False)
    if what == "stack":
        np.testing.assert_array_equal(back["displacement"].values, tiny["displacement"].values)
        np.testing.assert_array_equal(back["height"].values, tiny["height"].values)
        assert back.attrs["incidence_deg"] == pytest.approx(39.0)
    else:
        with rasterio.open(out) as src:
            band, date = src.read(1), src.tags()["date"]
        want = tiny["displacement"].sel(time=date).values
        np.testing.assert_array_equal(band, want)
        assert date == ("2020-02-06" if what == "date" else f"{tiny.indexes['time'][-1]:%Y-%m-%d}")
    np.testing.assert_allclose(back["x"].values, tiny["x"].values)


def test_velocity_map_is_least_squares_rate(tiny, tmp_path):
    out = write_frame(tiny, tmp_path / "vel.tif", what="velocity", variable="deformation_true")
    with rasterio.open(out) as src:
        v, tags = src.read(1), src.tags()
    assert tags["units"] == "mm/yr"
    # Truth: east side moves 1 mm per 12-day date -> 365.25/12 mm/yr; west side still.
    east = tiny["x"].values > tiny["x"].values.mean()
    np.testing.assert_allclose(v[:, east], 365.25 / 12.0, rtol=1e-5)
    np.testing.assert_allclose(v[:, ~east], 0.0, atol=1e-6)


def test_linear_velocity_ignores_nans_and_follows_the_analysis_policy(tiny):
    da = tiny["deformation_true"].copy()
    da[1:, 0, 0] = np.nan  # one valid date only
    da[::2, 1, -1] = np.nan  # half the dates: below min_valid=0.8 of insar_ae.analysis.velocity
    da[[3, 7], 2, -1] = np.nan  # 10 of 12 dates (83 %): kept, fitted on its finite dates
    v = linear_velocity(da).values
    assert np.isnan(v[0, 0]) and np.isnan(v[1, -1])
    assert v[2, -1] == pytest.approx(365.25 / 12.0, rel=1e-5)


def test_exported_velocity_equals_the_analysis_rate_map(tmp_path):
    """One algorithm: the velocity GeoTIFF is insar_ae.analysis.velocity's map (1e-6 mm/yr)."""
    from insar_ae.analysis import velocity
    from insar_ae.testing import tiny_frame

    ds = tiny_frame(3, n_time=10, ny=8, nx=9)
    disp = ds["displacement"].values.copy()
    disp[1:, 0, 0] = np.nan  # one valid date: NaN in both
    disp[::2, 2, 3] = np.nan  # half the dates: NaN in both (min_valid)
    disp[4, 5, 6] = np.nan  # one date missing: a rate in both
    disp[:, 7, :] = np.nan  # a row without data
    ds = ds.assign(displacement=(ds["displacement"].dims, disp, ds["displacement"].attrs))
    out = write_frame(ds, tmp_path / "vel.tif", what="velocity")
    with rasterio.open(out) as src:
        exported = src.read(1)
    want = velocity(ds["displacement"]).values
    np.testing.assert_array_equal(np.isnan(exported), np.isnan(want))
    assert np.isnan(want[0, 0]) and np.isnan(want[2, 3]) and np.isfinite(want[5, 6])
    np.testing.assert_allclose(exported, want, atol=1e-6, rtol=0, equal_nan=True)


def test_dem_of_another_shape_or_crs_is_rejected(tmp_path):
    _tif(tmp_path / "disp_20200101.tif", _signal(0))
    _tif(tmp_path / "disp_20200113.tif", _signal(1))
    _tif(tmp_path / "dem.tif", np.zeros((NY + 1, NX)))
    with pytest.raises(FormatError, match=r"dem.tif: DEM has shape \(9, 9\).*\(8, 9\)"):
        open_frame(tmp_path)
    _tif(
        tmp_path / "dem.tif",
        np.zeros((NY, NX)),
        crs="EPSG:4326",
        transform=from_origin(30, 40, 0.001, 0.001),
    )
    with pytest.raises(FormatError, match=r"dem.tif: DEM CRS is EPSG:4326.*EPSG:32636"):
        open_frame(tmp_path)
