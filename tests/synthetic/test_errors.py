"""Out-of-range physical parameters raise ParameterError naming the parameter and range."""

from __future__ import annotations

import numpy as np
import pytest

from insar_ae.errors import ParameterError
from insar_ae.synthetic import (
    fault_displacement,
    fractal_dem,
    los_vector,
    make_scene,
    mogi,
    okada85,
    sample_batch,
)

X = np.array([1.0, 2.0])
OK = dict(depth=4.0, dip_deg=70.0, length=3.0, width=2.0, strike_slip=1.0)
FAULT = dict(
    x0_m=0.0,
    y0_m=0.0,
    strike_deg=10.0,
    dip_deg=60.0,
    top_depth_m=0.0,
    length_m=10e3,
    width_m=5e3,
    rake_deg=90.0,
    slip_m=1.0,
)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"depth": -1.0}, ["depth", "(0"]),
        ({"dip_deg": 95.0}, ["dip_deg", "[0, 90]", "95"]),
        ({"dip_deg": -5.0}, ["dip_deg", "[0, 90]"]),
        ({"length": 0.0}, ["length", "(0"]),
        ({"width": 0.0}, ["width", "(0"]),
        ({"depth": 1.0, "width": 2.0, "dip_deg": 90.0}, ["above the surface", "depth"]),
        ({"nu": 0.5}, ["nu", "0.5"]),
    ],
)
def test_okada85_rejects_bad_geometry(change, words):
    with pytest.raises(ParameterError) as err:
        okada85(X, X, **{**OK, **change})
    for w in words:
        assert w in str(err.value)


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"top_depth_m": -100.0}, "top_depth_m"),
        ({"dip_deg": 91.0}, "dip_deg"),
        ({"length_m": 0.0}, "length_m"),
        ({"width_m": -1.0}, "width_m"),
        ({"dip_deg": 0.0, "top_depth_m": 0.0}, "top_depth_m"),
    ],
)
def test_fault_displacement_rejects_bad_geometry(change, name):
    with pytest.raises(ParameterError, match=name):
        fault_displacement(X, X, **{**FAULT, **change})


def test_mogi_los_and_dem_reject_bad_values():
    with pytest.raises(ParameterError, match="depth_m"):
        mogi(X, X, x0_m=0.0, y0_m=0.0, depth_m=-10.0, dvolume_m3=1.0)
    with pytest.raises(ParameterError, match="incidence_deg"):
        los_vector(-12.0, 95.0)
    with pytest.raises(ParameterError, match="relief_m"):
        fractal_dem((8, 8), relief_m=-5.0)


def test_make_scene_rejects_unknown_preset_and_parameters():
    with pytest.raises(ParameterError, match="preset must be one of") as err:
        make_scene("etna", 0)
    assert "anatolia-slow-slip" in str(err.value)
    with pytest.raises(ParameterError, match="creep_speed"):
        make_scene("anatolia-slow-slip", 0, creep_speed=3.0)
    with pytest.raises(ParameterError, match="pixel_m"):
        make_scene("noise-only", 0, pixel_m=-10.0)
    with pytest.raises(ParameterError, match="seed"):
        make_scene("noise-only", -1)
    with pytest.raises(ParameterError, match="shape"):
        make_scene("noise-only", 0, shape=(4, 64))
    with pytest.raises(ParameterError, match="orbit"):
        make_scene("noise-only", 0, orbit="left")
    with pytest.raises(ParameterError, match="sse_duration_days"):
        make_scene("anatolia-slow-slip", 0, sse_duration_days=0.0)


def test_make_scene_rejects_dates_not_increasing():
    with pytest.raises(ParameterError, match="strictly increasing"):
        make_scene(
            "noise-only", 0, shape=(16, 16), dates=["2020-01-01", "2020-01-13", "2020-01-13"]
        )
    with pytest.raises(ParameterError, match="strictly increasing"):
        make_scene("noise-only", 0, shape=(16, 16), dates=["2020-02-01", "2020-01-01"])
    with pytest.raises(ParameterError, match="n_dates"):
        make_scene("noise-only", 0, shape=(16, 16), n_dates=1)


def test_make_scene_rejects_dem_of_the_wrong_shape():
    with pytest.raises(
        ParameterError, match=r"dem must have the scene shape \(y, x\) = \(16, 16\)"
    ):
        make_scene("noise-only", 0, shape=(16, 16), n_dates=3, dem=np.zeros((16, 15)))


def test_sample_batch_rejects_bad_sizes():
    with pytest.raises(ParameterError, match="n must be"):
        sample_batch(0)
    with pytest.raises(ParameterError, match="T must be"):
        sample_batch(2, T=1)
    with pytest.raises(ParameterError, match="noise_only_fraction"):
        sample_batch(2, noise_only_fraction=1.5)
