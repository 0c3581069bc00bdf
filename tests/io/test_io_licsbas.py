"""LiCSBAS reader: grid registration, refarea, where the height / mask / geometry come from."""

from __future__ import annotations

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
    write_licsbas_cum,
    write_mintpy_geometry,
    write_mintpy_ts,
)

from insar_ae.io import open_frame, sniff_format
from insar_ae.io.licsbas import read_licsbas


def test_same_canonical_dataset_as_mintpy_for_same_data(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "l").mkdir()
    write_mintpy_ts(tmp_path / "m" / "timeseries.h5")
    write_mintpy_geometry(tmp_path / "m" / "geometryGeo.h5")
    write_licsbas_cum(tmp_path / "l" / "cum.h5")
    m, lic = open_frame(tmp_path / "m" / "timeseries.h5"), open_frame(tmp_path / "l" / "cum.h5")
    assert sniff_format(tmp_path / "l" / "cum.h5") == "licsbas"
    np.testing.assert_allclose(lic["displacement"].values, m["displacement"].values, atol=1e-4)
    # corner_lat/lon are pixel centres, X_FIRST/Y_FIRST outer corners: same centres.
    np.testing.assert_allclose(lic["x"].values, m["x"].values, atol=1e-3 * STEP)
    np.testing.assert_allclose(lic["y"].values, m["y"].values, atol=1e-3 * STEP)
    assert lic["x"].values[0] == pytest.approx(X_FIRST + STEP / 2)
    assert lic["y"].values[0] == pytest.approx(Y_FIRST - STEP / 2)
    np.testing.assert_array_equal(lic["height"].values, m["height"].values)
    # refarea 3:4/2:3 (x1:x2/y1:y2) is the MintPy REF_Y=2, REF_X=3 pixel.
    assert [float(v) for v in lic.attrs["reference_point"].split(",")] == pytest.approx(
        [float(v) for v in m.attrs["reference_point"].split(",")]
    )
    assert list(lic.indexes["time"]) == list(DATES)


def test_multi_pixel_refarea_gives_centre_and_area(tmp_path):
    write_licsbas_cum(tmp_path / "cum.h5", refarea="2:6/4:8")
    ds = read_licsbas(tmp_path / "cum.h5")
    ry, rx = (float(v) for v in ds.attrs["reference_point"].split(","))
    assert ry == pytest.approx(np.mean(ds["y"].values[4:8]))
    assert rx == pytest.approx(np.mean(ds["x"].values[2:6]))
    assert ds.attrs["reference_area"].startswith("2:6/4:8")


def test_licsbas_folder_layout(tmp_path):
    """TS_GEOCml10/cum_filt.h5 with results/hgt, results/mask; GEOCml10/slc.mli.par, U/E/N.geo."""
    ts, geoc = tmp_path / "TS_GEOCml10", tmp_path / "GEOCml10"
    (ts / "results").mkdir(parents=True)
    geoc.mkdir()
    write_licsbas_cum(ts / "cum_filt.h5", hgt=False)
    hgt = (np.arange(NY * NX, dtype="<f4").reshape(NY, NX) * 2).astype("<f4")
    hgt.tofile(ts / "results" / "hgt")
    mask = np.ones((NY, NX), dtype="<f4")
    mask[1, 1], mask[2, 2] = 0.0, np.nan
    mask.tofile(ts / "results" / "mask")
    (geoc / "slc.mli.par").write_text(
        "sensor:   S1A IW1 VV\nradar_frequency:   5.4050005e+09   Hz\n"
    )
    # Ascending, heading -12 deg, incidence 39 deg: ground->satellite = -sin(i)cos(h), sin(i)sin(h), cos(i)
    inc, head = np.radians(39.0), np.radians(-12.0)
    for name, v in (
        ("E", -np.sin(inc) * np.cos(head)),
        ("N", np.sin(inc) * np.sin(head)),
        ("U", np.cos(inc)),
    ):
        np.full((NY, NX), v, dtype="<f4").tofile(geoc / f"{name}.geo")
    ds = open_frame(ts / "cum_filt.h5")
    np.testing.assert_array_equal(ds["height"].values, hgt)
    assert ds.attrs["height_source"].endswith("results/hgt")
    assert ds["mask"].values.sum() == NY * NX - 2 and not ds["mask"].values[1, 1]
    assert ds.attrs["wavelength_m"] == pytest.approx(299_792_458.0 / 5.4050005e9)
    assert ds.attrs["sensor"] == "Sentinel-1"
    assert ds.attrs["incidence_deg"] == pytest.approx(39.0, abs=1e-4)
    assert ds.attrs["heading_deg"] == pytest.approx(-12.0, abs=1e-4)


def test_height_from_geoc_dir_and_los_from_cum(tmp_path):
    ts, geoc = tmp_path / "TS_GEOCml1", tmp_path / "GEOCml1"
    ts.mkdir()
    geoc.mkdir()
    inc, head = np.radians(34.0), np.radians(-168.0)  # descending
    write_licsbas_cum(
        ts / "cum.h5",
        hgt=False,
        enu=(-np.sin(inc) * np.cos(head), np.sin(inc) * np.sin(head), np.cos(inc)),
    )
    np.full((NY, NX), 321.0, dtype="<f4").tofile(geoc / "hgt")
    ds = open_frame(ts / "cum.h5")
    assert (ds["height"].values == 321.0).all()
    assert ds.attrs["heading_deg"] == pytest.approx(-168.0, abs=1e-4)
    assert ds.attrs["incidence_deg"] == pytest.approx(34.0, abs=1e-4)


def test_no_height_anywhere_warns_and_is_nan(tmp_path):
    write_licsbas_cum(tmp_path / "cum.h5", hgt=False)
    with pytest.warns(UserWarning, match="no height found"):
        ds = open_frame(tmp_path / "cum.h5")
    assert np.isnan(ds["height"].values).all()
    np.testing.assert_allclose(ds["displacement"].values, known_cube_mm())


def test_radar_coded_and_string_refarea(tmp_path):
    write_licsbas_cum(tmp_path / "cum.h5", geocoded=False, refarea="0:1/0:1")
    ds = open_frame(tmp_path / "cum.h5")
    assert ds["x"].attrs["units"] == "pixel" and ds.attrs["reference_point"] == "0.0,0.0"
