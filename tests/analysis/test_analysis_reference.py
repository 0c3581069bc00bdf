"""Re-referencing in space and time: new data, attrs recorded, identities kept, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from analysis_helpers import fault_dataset

from insar_ae.analysis import reference_to_area, reference_to_date, reference_to_point
from insar_ae.errors import ParameterError
from insar_ae.testing import tiny_frame


def test_point_reference_zeroes_the_pixel_and_keeps_differences(tiny: xr.Dataset) -> None:
    before = tiny.copy(deep=True)
    x, y = float(tiny.x[5]) + 10.0, float(tiny.y[7]) - 20.0
    out = reference_to_point(tiny, x=x, y=y)
    xr.testing.assert_identical(tiny, before)  # input untouched
    for v in ("displacement", "deformation_true"):
        np.testing.assert_allclose(out[v].isel(y=7, x=5).values, 0.0, atol=1e-6)
        d_in = tiny[v].isel(y=3, x=30) - tiny[v].isel(y=20, x=2)
        d_out = out[v].isel(y=3, x=30) - out[v].isel(y=20, x=2)
        np.testing.assert_allclose(d_out.values, d_in.values, atol=1e-5)
        assert out[v].dtype == np.float32
        assert out[v].attrs["reference_point"] == f"{float(tiny.y[7])},{float(tiny.x[5])}"
    xr.testing.assert_identical(out["height"], tiny["height"])
    assert out.attrs["reference_point"] == f"{float(tiny.y[7])},{float(tiny.x[5])}"


def test_area_reference_median_radius_and_box_and_noise_identity() -> None:
    ds, _ = fault_dataset(1)
    cx, cy = float(ds.x[20]), float(ds.y[30])
    out = reference_to_area(ds, x=cx, y=cy, radius=350.0)
    X, Y = np.meshgrid(ds.x.values, ds.y.values)
    inside = np.hypot(X - cx, Y - cy) <= 350.0
    for v in ("displacement", "deformation", "deformation_true"):
        med = np.median(out[v].values[:, inside], axis=1)
        np.testing.assert_allclose(med, 0.0, atol=1e-4)
    np.testing.assert_allclose(
        out["noise"].values, (out["displacement"] - out["deformation"]).values, atol=1e-4
    )
    spec = json.loads(out.attrs["reference_area"])
    assert (
        spec["radius"] == 350.0
        and spec["n_pixels"] == int(inside.sum())
        and spec["stat"] == "median"
    )
    assert "reference_point" not in out.attrs
    box = reference_to_area(ds, x=cx, y=cy, box=(250.0, 150.0))
    win = box["displacement"].values[
        :, 29:32, 18:23
    ]  # |dy| <= 150 m: 3 rows, |dx| <= 250 m: 5 cols
    np.testing.assert_allclose(np.median(win.reshape(len(ds.time), -1), axis=1), 0.0, atol=1e-4)
    assert json.loads(box.attrs["reference_area"])["n_pixels"] == 15


def test_reference_on_dask_stays_lazy() -> None:
    ds = tiny_frame(0).chunk({"time": 4})
    out = reference_to_area(ds, x=float(ds.x[10]), y=float(ds.y[10]), radius=250.0)
    assert out["displacement"].chunks is not None
    ref = reference_to_area(ds.compute(), x=float(ds.x[10]), y=float(ds.y[10]), radius=250.0)
    np.testing.assert_allclose(out["displacement"].values, ref["displacement"].values)


def test_all_nan_reference_area_raises_clear_error(tiny: xr.Dataset) -> None:
    ds = tiny.copy(deep=True)
    ds["displacement"][:, 5:12, 5:12] = np.nan
    with pytest.raises(ParameterError, match="no valid"):
        reference_to_area(ds, x=float(ds.x[8]), y=float(ds.y[8]), radius=150.0)
    with pytest.raises(ParameterError, match="no valid"):
        reference_to_point(ds, x=float(ds.x[8]), y=float(ds.y[8]))


def test_reference_area_parameter_errors(tiny: xr.Dataset) -> None:
    x, y = float(tiny.x[8]), float(tiny.y[8])
    with pytest.raises(ParameterError, match="radius= or box="):
        reference_to_area(tiny, x=x, y=y)
    with pytest.raises(ParameterError, match="not both"):
        reference_to_area(tiny, x=x, y=y, radius=100.0, box=100.0)
    with pytest.raises(ParameterError, match="radius"):
        reference_to_area(tiny, x=x, y=y, radius=-5.0)
    with pytest.raises(ParameterError, match="outside"):
        reference_to_area(tiny, x=x + 1e6, y=y, radius=200.0)
    with pytest.raises(ParameterError, match="no pixel centre"):
        reference_to_area(tiny, x=x + 50.0, y=y + 50.0, radius=10.0)


def test_area_nan_on_some_dates_warns_and_those_dates_become_nan(tiny: xr.Dataset) -> None:
    ds = tiny.copy(deep=True)
    ds["displacement"][3, 5:12, 5:12] = np.nan
    with pytest.warns(RuntimeWarning, match="1 date"):
        out = reference_to_area(ds, x=float(ds.x[8]), y=float(ds.y[8]), radius=150.0)
    assert np.all(np.isnan(out["displacement"].values[3]))
    assert np.isfinite(out["displacement"].values[4]).all()


def test_reference_to_date_zeroes_that_date_and_records_it(tiny: xr.Dataset) -> None:
    day = str(tiny.time.values[4])[:10]
    out = reference_to_date(tiny, day)
    np.testing.assert_allclose(out["displacement"].isel(time=4).values, 0.0, atol=1e-6)
    np.testing.assert_allclose(
        (out["displacement"] - tiny["displacement"]).values,
        np.broadcast_to(-tiny["displacement"].isel(time=4).values, tiny["displacement"].shape),
        atol=1e-5,
    )
    assert out.attrs["reference_date"] == day
    assert out["deformation_true"].attrs["reference_date"] == day
    with pytest.warns(UserWarning, match="nearest"):
        near = reference_to_date(tiny["displacement"], np.datetime64(day) + np.timedelta64(2, "D"))
    assert near.attrs["reference_date"] == day
    with pytest.raises(ParameterError, match="outside"):
        reference_to_date(tiny, "1990-01-01")
    np.testing.assert_allclose(
        reference_to_date(tiny, -1)["displacement"].isel(time=-1).values, 0.0
    )
