"""NetCDF / Zarr: canonical round trips with CF attributes, and CF-style variants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from insar_ae.errors import FormatError
from insar_ae.io import open_frame, write_frame


def _cf_variant(tiny: xr.Dataset, *, units: str | None, scale: float) -> xr.Dataset:
    """tiny re-expressed as a typical CF file: lat/lon, 'los' in metres, 'dem', time 'date'."""
    lat = np.linspace(40.0, 39.69, tiny.sizes["y"])
    lon = np.linspace(30.0, 30.39, tiny.sizes["x"])
    los = xr.DataArray(
        tiny["displacement"].values.transpose(1, 2, 0) / scale,
        dims=("lat", "lon", "date"),
        attrs={} if units is None else {"units": units},
    )
    return xr.Dataset(
        {"los": los, "dem": (("lat", "lon"), tiny["height"].values, {"units": "m"})},
        coords={
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
            "date": tiny["time"].values,
        },
    )


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_canonical_round_trip_keeps_everything(tiny, tmp_path, suffix):
    ds = tiny.assign(
        mask=(("y", "x"), tiny["height"].values > 1100),
        deformation=tiny["deformation_true"] * 0.5,
        noise=tiny["displacement"] * 0.5,
    )
    ds["deformation"].attrs = {
        "units": "mm",
        "model": "default",
        "model_sha256": "ab" * 32,
        "time_stride": 4,
    }
    ds = ds.assign_attrs(reference_point="4499000.0,500500.0", truth_params='{"a": 1}')
    back = open_frame(write_frame(ds, tmp_path / f"f{suffix}"))
    for v in ("displacement", "deformation", "noise", "deformation_true", "height", "mask"):
        np.testing.assert_array_equal(back[v].values, ds[v].values, err_msg=v)
    assert back["mask"].dtype == bool
    np.testing.assert_array_equal(back["time"].values, ds["time"].values)
    assert back["x"].attrs["units"] == "m" and back["x"].attrs["crs"] == "local"
    for k in ("reference_point", "truth_params", "title", "sensor"):
        assert back.attrs[k] == ds.attrs[k]
    assert back.attrs["incidence_deg"] == pytest.approx(39.0)
    # the model's provenance on the derived cube survives the round trip
    prov = back["deformation"].attrs
    assert (prov["model"], prov["model_sha256"], int(prov["time_stride"])) == (
        "default",
        "ab" * 32,
        4,
    )
    assert prov["units"] == "mm"


def test_netcdf_has_cf_attributes(tiny, tmp_path):
    ds = tiny.copy()
    for d in ("x", "y"):
        ds[d].attrs.update(crs="EPSG:32636")
    out = write_frame(ds, tmp_path / "f.nc")
    raw = xr.open_dataset(out, engine="h5netcdf")
    assert raw.attrs["Conventions"] == "CF-1.8"
    assert (
        raw["x"].attrs["standard_name"] == "projection_x_coordinate"
        and raw["x"].attrs["axis"] == "X"
    )
    assert raw["displacement"].attrs["grid_mapping"] == "spatial_ref"
    assert "UTM zone 36N" in raw["spatial_ref"].attrs["crs_wkt"]
    assert raw["displacement"].attrs["units"] == "mm"
    raw.close()
    assert open_frame(out)["x"].attrs["crs"] == "EPSG:32636"


def test_cf_variant_with_lat_lon_and_metres(tiny, tmp_path):
    _cf_variant(tiny, units="m", scale=1000.0).to_netcdf(tmp_path / "cf.nc", engine="h5netcdf")
    ds = open_frame(tmp_path / "cf.nc")
    np.testing.assert_allclose(ds["displacement"].values, tiny["displacement"].values, atol=1e-4)
    assert ds["x"].attrs["units"] == "degrees" and ds["x"].attrs["crs"] == "EPSG:4326"
    assert ds["y"].values[0] == pytest.approx(40.0)
    np.testing.assert_array_equal(ds["height"].values, tiny["height"].values)


def test_cf_variant_without_units_needs_units_argument(tiny, tmp_path):
    _cf_variant(tiny, units=None, scale=1.0).to_netcdf(tmp_path / "cf.nc", engine="h5netcdf")
    with pytest.raises(
        FormatError, match=r"cf.nc.*'los' has no units.*expected one of 'mm', 'cm', 'm'"
    ):
        open_frame(tmp_path / "cf.nc")
    ds = open_frame(tmp_path / "cf.nc", units="mm")
    np.testing.assert_allclose(ds["displacement"].values, tiny["displacement"].values)


def test_yyyymmdd_integer_dates_and_rereferencing(tiny, tmp_path):
    cf = _cf_variant(tiny, units="mm", scale=1.0)
    cf = cf.assign_coords(date=[int(f"{t:%Y%m%d}") for t in pd.DatetimeIndex(tiny["time"].values)])
    cf["los"] = cf["los"] + 5.0  # not relative to the first date
    cf.to_netcdf(tmp_path / "cf.nc", engine="h5netcdf")
    ds = open_frame(tmp_path / "cf.nc")
    np.testing.assert_array_equal(ds["time"].values, tiny["time"].values)
    np.testing.assert_allclose(ds["displacement"].values, tiny["displacement"].values, atol=1e-4)


def test_lazy_open_is_dask_and_matches(tiny, tmp_path):
    out = write_frame(tiny, tmp_path / "f.zarr")
    ds = open_frame(out, lazy=True)
    assert ds["displacement"].chunks is not None
    np.testing.assert_array_equal(
        ds["displacement"].isel(time=3).values, tiny["displacement"].isel(time=3).values
    )
