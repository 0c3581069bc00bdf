"""make_scene: canonical output, components, truth parameters, determinism."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from insar_ae.datamodel import validate
from insar_ae.synthetic import (
    fault_displacement,
    list_presets,
    make_scene,
    mogi,
    project_los,
    sample_batch,
)
from insar_ae.synthetic.timefuncs import days_since_first, evaluate

SMALL = dict(shape=(48, 56), n_dates=10)
COMPONENTS = ("deformation_true", "turbulent", "stratified", "ramp")


def test_presets_are_listed():
    assert set(list_presets()) >= {
        "anatolia-slow-slip",
        "coso-deflation",
        "clean-fault",
        "noise-only",
    }


@pytest.mark.parametrize(
    "preset", ["anatolia-slow-slip", "coso-deflation", "clean-fault", "noise-only"]
)
def test_scene_is_canonical_relative_to_first_date_and_sums_its_components(preset):
    ds = make_scene(preset, 3, **SMALL)
    validate(ds)
    assert ds.displacement.shape == (10, 48, 56) and ds.displacement.dtype == np.float32
    assert np.all(np.diff(ds.y.values) < 0) and np.all(np.diff(ds.x.values) > 0)  # north-up
    assert ds.attrs["preset"] == preset and ds.attrs["seed"] == 3
    mask = ds["mask"].values
    first = ds.displacement.isel(time=0).values
    assert np.all(first[mask] == 0.0) and np.all(np.isnan(first[~mask]))
    for name in COMPONENTS:
        assert np.all(ds[name].isel(time=0).values == 0.0)
        assert np.all(np.isfinite(ds[name].values))
    disp = ds.displacement.values
    assert np.all(np.isnan(disp[:, ~mask]))
    resid = disp - sum(ds[c].values for c in COMPONENTS)
    sigma = json.loads(ds.attrs["truth_params"])["noise"]["pixel_noise_mm"]
    # what is left is pixel noise of each date minus that of the first: sqrt(2) sigma
    assert np.nanstd(resid[1:]) == pytest.approx(math.sqrt(2) * sigma, rel=0.05)


def test_same_seed_same_scene_and_other_seed_differs():
    a = make_scene("anatolia-slow-slip", 7, **SMALL)
    b = make_scene("anatolia-slow-slip", 7, **SMALL)
    c = make_scene("anatolia-slow-slip", 8, **SMALL)
    np.testing.assert_array_equal(a.displacement.values, b.displacement.values)
    assert not np.allclose(np.nan_to_num(a.turbulent.values), np.nan_to_num(c.turbulent.values))


def test_truth_params_rebuild_the_anatolia_deformation():
    dates = pd.date_range("2020-01-01", periods=8, freq="45D")
    ds = make_scene("anatolia-slow-slip", 1, shape=(40, 44), dates=dates, sse_onset="2020-04-01")
    tp = json.loads(ds.attrs["truth_params"])
    assert tp["creep_rate_mm_yr"] == 8.0 and tp["strike_deg"] == 80.0
    assert tp["sse_onset"] == "2020-04-01" and tp["sse_duration_days"] > 0
    assert tp["sse_amplitude_mm"] > 0 and len(tp["fault_trace"]) == 2
    (x1, y1), (x2, y2) = tp["fault_trace"]
    assert math.degrees(math.atan2(x2 - x1, y2 - y1)) == pytest.approx(80.0)
    e, n = np.meshgrid(ds.x.values, ds.y.values)
    t = days_since_first(ds.time.values)
    total = 0.0
    for s in tp["sources"]:
        u = fault_displacement(
            e,
            n,
            x0_m=s["x0_m"],
            y0_m=s["y0_m"],
            strike_deg=s["strike_deg"],
            dip_deg=s["dip_deg"],
            top_depth_m=s["top_depth_m"],
            length_m=s["length_m"],
            width_m=s["width_m"],
            rake_deg=s["rake_deg"],
            slip_m=1.0,
        )
        los = project_los(*u, tp["heading_deg"], tp["incidence_deg"])
        total = total + los[None] * evaluate(s["time"], t)[:, None, None]
    np.testing.assert_allclose(ds.deformation_true.values, total, atol=2e-4)
    # the creep step across the trace at the scene centre has the recorded LOS size
    # (left of strike minus right): right-lateral, so the north side moves +strike by the slip
    e_, n_, _ = tp["los_vector_enu"]
    s80, c80 = math.sin(math.radians(80.0)), math.cos(math.radians(80.0))
    assert tp["creep_los_offset_mm_yr"] == pytest.approx(8.0 * (s80 * e_ + c80 * n_), rel=1e-3)


def test_coso_subsidence_rate_above_the_source():
    ds = make_scene(
        "coso-deflation", 0, shape=(65, 65), dates=["2021-01-01", "2022-01-01"], seasonal_mm=0.0
    )
    tp = json.loads(ds.attrs["truth_params"])
    centre = ds.deformation_true.isel(time=1, y=32, x=32).values
    assert float(ds.x[32]) == tp["source_x_m"] and float(ds.y[32]) == tp["source_y_m"]
    expected = -30.0 * math.cos(math.radians(ds.attrs["incidence_deg"])) * 365 / 365.25
    assert float(centre) == pytest.approx(expected, rel=1e-4)
    # descending LOS looks west: east of the source the inward (westward) horizontal motion
    # adds to the subsidence, so the LOS minimum lies east of the source and is a bit deeper
    img = ds.deformation_true.isel(time=1).values
    iy, ix = np.unravel_index(np.argmin(img), img.shape)
    assert ix > 32 and abs(iy - 32) <= 2
    assert expected * 1.2 < img.min() < expected
    # the Mogi field itself: horizontal motion toward the source shows on the LOS
    src = tp["sources"][0]
    u = mogi(
        np.array(float(ds.x[32]) + 2000.0),
        np.array(float(ds.y[32])),
        x0_m=src["x0_m"],
        y0_m=src["y0_m"],
        depth_m=src["depth_m"],
        dvolume_m3=tp["amount_rate_per_yr"],
    )
    assert float(u[0]) < 0  # deflation pulls the east side westward


def test_coso_sill_variant_and_seasonal_term():
    ds = make_scene("coso-deflation", 0, shape=(33, 33), n_dates=40, source_type="sill")
    tp = json.loads(ds.attrs["truth_params"])
    assert tp["source_type"] == "sill" and tp["sources"][0]["kind"] == "sill"
    centre = ds.deformation_true.isel(y=16, x=16).values
    assert centre[-1] < -10.0
    # seasonal modulation: residual about the linear trend oscillates with ~ the set amplitude
    t = days_since_first(ds.time.values)
    resid = centre - np.polyval(np.polyfit(t, centre, 1), t)
    assert 1.0 < np.ptp(resid) < 12.0


def test_noise_only_has_no_deformation_and_clean_fault_is_clean():
    ds = make_scene("noise-only", 0, **SMALL)
    assert float(np.abs(ds.deformation_true.values).max()) == 0.0
    clean = make_scene("clean-fault", 0, **SMALL)
    err = clean.displacement.values - clean.deformation_true.values
    assert np.nanstd(err) < 3.0
    assert float(np.abs(clean.deformation_true.values).max()) > 1.0


def test_user_dem_and_overrides_are_used():
    dem = np.add.outer(np.arange(48.0), np.arange(56.0)) * 10.0
    ds = make_scene(
        "noise-only", 0, dem=dem, orbit="desc", pixel_m=200.0, turb_rms_mm=(1.0, 2.0), **SMALL
    )
    np.testing.assert_allclose(ds.height.values, dem)
    assert ds.attrs["heading_deg"] == -168.0 and ds.attrs["pixel_m"] == 200.0
    assert float(ds.x[1] - ds.x[0]) == 200.0


def test_unwrapping_errors_are_optional_half_wavelength_jumps():
    ds = make_scene(
        "anatolia-slow-slip", 2, unwrapping_errors=True, unwrap_date_probability=0.6, **SMALL
    )
    u = ds["unwrapping"].values / 27.73288
    assert np.abs(u).max() >= 1
    np.testing.assert_allclose(u, np.round(u), atol=1e-4)


def test_make_scene_and_sample_batch_importable_from_package():
    import insar_ae

    assert insar_ae.make_scene is make_scene and insar_ae.sample_batch is sample_batch
