"""MintPy reader/writer: units, georeferencing, sidecars, reference handling."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from io_helpers import (
    DATES,
    NX,
    NY,
    STEP,
    X_FIRST,
    Y_FIRST,
    known_cube_mm,
    write_mintpy_geometry,
    write_mintpy_ts,
)

from insar_ae.errors import FormatError
from insar_ae.io import open_frame, write_frame
from insar_ae.io.mintpy import heading_from_azimuth, read_mintpy


def test_metres_become_millimetres_and_pixel_centres(mintpy_dir):
    ds = open_frame(mintpy_dir / "timeseries.h5")
    np.testing.assert_allclose(ds["displacement"].values, known_cube_mm(), atol=1e-4)
    assert ds["displacement"].attrs["units"] == "mm"
    # X_FIRST/Y_FIRST are the outer corner: first centre half a pixel inside.
    assert ds["x"].values[0] == pytest.approx(X_FIRST + STEP / 2)
    assert ds["y"].values[0] == pytest.approx(Y_FIRST - STEP / 2)
    assert ds["x"].attrs["units"] == "degrees" and ds["x"].attrs["crs"] == "EPSG:4326"
    assert list(ds.indexes["time"]) == list(DATES)


def test_attributes_from_file_and_geometry(mintpy_dir):
    ds = open_frame(mintpy_dir / "timeseries.h5")
    assert ds.attrs["wavelength_m"] == pytest.approx(0.0555)
    assert ds.attrs["heading_deg"] == pytest.approx(-12.0)  # HEADING attribute wins
    assert ds.attrs["incidence_deg"] == pytest.approx(38.0)  # centre of /incidenceAngle
    assert ds.attrs["sensor"] == "Sentinel-1"
    ry, rx = (float(v) for v in ds.attrs["reference_point"].split(","))
    assert ry == pytest.approx(ds["y"].values[2]) and rx == pytest.approx(ds["x"].values[3])
    np.testing.assert_array_equal(ds["height"].values, np.arange(NY * NX).reshape(NY, NX) + 100)
    assert (
        ds["mask"].dtype == bool
        and not ds["mask"].values[0, 0]
        and ds["mask"].values.sum() == NY * NX - 1
    )


def test_heading_from_azimuth_angle_when_attribute_missing(tmp_path):
    write_mintpy_ts(tmp_path / "timeseries.h5", attrs={"HEADING": None})
    write_mintpy_geometry(tmp_path / "geometryGeo.h5", azimuth=-102.0)
    ds = open_frame(tmp_path / "timeseries.h5")
    assert ds.attrs["heading_deg"] == pytest.approx(-168.0)  # MintPy: SenD az -102 -> head -168
    assert heading_from_azimuth(102.0) == pytest.approx(-12.0)


def test_reference_date_other_than_first_is_rereferenced(tmp_path):
    cube = known_cube_mm() / 1000.0
    shifted = cube - cube[2]  # series referenced to the third date
    write_mintpy_ts(tmp_path / "ts.h5", cube_m=shifted, attrs={"REF_DATE": f"{DATES[2]:%Y%m%d}"})
    ds = read_mintpy(tmp_path / "ts.h5", geometry=False)
    np.testing.assert_allclose(ds["displacement"].values, known_cube_mm(), atol=1e-4)
    assert ds.attrs["reference_date"] == str(DATES[0].date())


@pytest.mark.parametrize(("unit", "factor"), [("m", 1000.0), ("cm", 10.0), ("mm", 1.0)])
def test_unit_attribute_is_honoured(tmp_path, unit, factor):
    write_mintpy_ts(tmp_path / "ts.h5", cube_m=known_cube_mm() / factor, attrs={"UNIT": unit})
    ds = read_mintpy(tmp_path / "ts.h5", geometry=False)
    np.testing.assert_allclose(ds["displacement"].values, known_cube_mm(), atol=1e-4)


def test_radar_coded_keeps_pixels_and_exposes_lat_lon(tmp_path):
    write_mintpy_ts(tmp_path / "timeseries.h5", geocoded=False)
    write_mintpy_geometry(tmp_path / "geometryRadar.h5", radar=True)
    ds = open_frame(tmp_path / "timeseries.h5")
    assert ds["x"].attrs["units"] == "pixel" and ds["x"].attrs["crs"] == "radar"
    np.testing.assert_array_equal(ds["x"].values, np.arange(NX))
    assert ds["lat"].dims == ("y", "x") and ds["lon"].dims == ("y", "x")
    assert ds["lat"].values[0, 0] == pytest.approx(40.0) and ds["lon"].values[
        0, -1
    ] == pytest.approx(30.1)
    assert "lat" not in ds.indexes


def test_geometry_on_another_grid_is_skipped_when_found_and_rejected_when_given(tmp_path):
    write_mintpy_ts(tmp_path / "timeseries.h5")
    write_mintpy_geometry(tmp_path / "geometryGeo.h5", shape=(NY + 1, NX))
    with pytest.warns(UserWarning, match="height is NaN"):
        ds = open_frame(tmp_path / "timeseries.h5")
    assert np.isnan(ds["height"].values).all()
    with pytest.raises(FormatError, match=r"geometryGeo.h5.*shape \(11, 12\).*\(10, 12\)"):
        open_frame(tmp_path / "timeseries.h5", geometry=tmp_path / "geometryGeo.h5")


def test_writer_attributes_are_what_mintpy_needs(tiny, tmp_path):
    ds = tiny.assign_attrs(reference_point=f"{float(tiny.y[4])},{float(tiny.x[7])}")
    out = write_frame(ds, tmp_path / "denoised.h5", variable="deformation_true")
    with h5py.File(out) as f:
        a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        assert f["timeseries"].dtype == np.float32 and f["timeseries"].shape == (12, 32, 40)
        np.testing.assert_allclose(
            f["timeseries"][()] * 1000, tiny["deformation_true"].values, atol=1e-4
        )
        assert [d.decode() for d in f["date"][()]] == [f"{t:%Y%m%d}" for t in tiny.indexes["time"]]
        np.testing.assert_array_equal(f["bperp"][()], 0.0)
    assert a["FILE_TYPE"] == "timeseries" and a["UNIT"] == "m"
    assert (a["LENGTH"], a["WIDTH"]) == ("32", "40")
    assert float(a["X_FIRST"]) == pytest.approx(float(tiny.x[0]) - 50.0)  # corner = centre - step/2
    assert float(a["Y_FIRST"]) == pytest.approx(float(tiny.y[0]) + 50.0)
    assert float(a["X_STEP"]) == 100.0 and float(a["Y_STEP"]) == -100.0
    assert (a["REF_Y"], a["REF_X"]) == ("4", "7") and a["REF_DATE"] == "20200101"
    assert float(a["WAVELENGTH"]) == pytest.approx(0.05546576)
    assert a["ORBIT_DIRECTION"] == "ASCENDING" and a["INSAR_AE_VARIABLE"] == "deformation_true"
    assert (tmp_path / "denoised_geometryGeo.h5").exists()


def test_round_trip_keeps_geometry_and_mask(tiny, tmp_path):
    ds = tiny.assign(mask=(("y", "x"), np.arange(32 * 40).reshape(32, 40) % 7 != 0))
    back = open_frame(write_frame(ds, tmp_path / "ts.h5"))
    np.testing.assert_allclose(back["displacement"].values, ds["displacement"].values, atol=1e-3)
    np.testing.assert_array_equal(back["mask"].values, ds["mask"].values)
    np.testing.assert_array_equal(back["height"].values, ds["height"].values)
    assert back.attrs["incidence_deg"] == pytest.approx(39.0)
    assert back.attrs["heading_deg"] == pytest.approx(-12.0)
    assert back["x"].attrs["crs"] == "local"


def test_radar_coded_round_trip_keeps_lat_lon(tmp_path):
    write_mintpy_ts(tmp_path / "timeseries.h5", geocoded=False)
    write_mintpy_geometry(tmp_path / "geometryRadar.h5", radar=True)
    ds = open_frame(tmp_path / "timeseries.h5")
    (tmp_path / "out").mkdir()
    out = write_frame(ds, tmp_path / "out" / "ts.h5")
    with h5py.File(out) as f:
        assert "X_FIRST" not in f.attrs
    back = open_frame(out)
    assert back["x"].attrs["units"] == "pixel"
    assert (tmp_path / "out" / "ts_geometryRadar.h5").exists()
    np.testing.assert_allclose(back["lat"].values, ds["lat"].values, atol=1e-5)
    np.testing.assert_allclose(back["displacement"].values, ds["displacement"].values, atol=1e-4)
