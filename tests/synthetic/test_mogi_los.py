"""Mogi point source (analytic properties) and line-of-sight projection."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from insar_ae.synthetic import (
    SENTINEL1_ASC,
    SENTINEL1_DESC,
    los_vector,
    mogi,
    mogi_dvolume_from_pressure,
    project_los,
)


def test_mogi_uplift_at_centre_equals_analytic_value():
    d, dv, nu = 3000.0, 1.0e6, 0.25
    ue, un, uu = mogi(
        np.array(500.0), np.array(-200.0), x0_m=500.0, y0_m=-200.0, depth_m=d, dvolume_m3=dv, nu=nu
    )
    assert float(uu) == pytest.approx((1 - nu) * dv / (math.pi * d * d), rel=1e-12)
    assert float(ue) == 0.0 and float(un) == 0.0


def test_mogi_horizontal_to_vertical_ratio_is_r_over_d_and_radial():
    d = 2500.0
    r = np.linspace(100.0, 10000.0, 50)
    az = np.radians(30.0)
    ue, un, uu = mogi(r * np.sin(az), r * np.cos(az), x0_m=0.0, y0_m=0.0, depth_m=d, dvolume_m3=5e5)
    np.testing.assert_allclose(np.hypot(ue, un) / uu, r / d, rtol=1e-12)
    np.testing.assert_allclose(np.arctan2(ue, un), az, atol=1e-12)  # points away from source


def test_mogi_horizontal_maximum_is_at_d_over_sqrt2():
    d = 4000.0
    r = np.linspace(1.0, 20000.0, 200001)
    ue, _, _ = mogi(r, np.zeros_like(r), x0_m=0.0, y0_m=0.0, depth_m=d, dvolume_m3=1e6)
    assert r[np.argmax(ue)] == pytest.approx(d / math.sqrt(2.0), abs=0.2)


def test_mogi_deflation_subsides_and_decays_as_inverse_cube():
    r = np.geomspace(2e4, 2e5, 5)
    _, _, uu = mogi(r, np.zeros_like(r), x0_m=0.0, y0_m=0.0, depth_m=1000.0, dvolume_m3=-1e6)
    assert np.all(uu < 0)
    assert np.polyfit(np.log(r), np.log(-uu), 1)[0] == pytest.approx(-3.0, abs=0.01)


def test_mogi_pressure_form_matches_classical_formula():
    a, dp, mu, d = 500.0, 10e6, 30e9, 3000.0
    dv = mogi_dvolume_from_pressure(a, dp, mu)
    _, _, uu = mogi(np.array(0.0), np.array(0.0), x0_m=0.0, y0_m=0.0, depth_m=d, dvolume_m3=dv)
    # uz(0) = (1 - nu) a^3 dP / (mu d^2) = 3 a^3 dP / (4 mu d^2) for nu = 0.25
    assert float(uu) == pytest.approx(3 * a**3 * dp / (4 * mu * d * d), rel=1e-12)


def test_mogi_torch_matches_numpy():
    e, n = np.meshgrid(np.linspace(-5e3, 5e3, 9), np.linspace(-4e3, 4e3, 7))
    ref = mogi(e, n, x0_m=300.0, y0_m=-100.0, depth_m=2000.0, dvolume_m3=-3e5)
    got = mogi(
        torch.tensor(e), torch.tensor(n), x0_m=300.0, y0_m=-100.0, depth_m=2000.0, dvolume_m3=-3e5
    )
    for a, b in zip(ref, got, strict=True):
        np.testing.assert_allclose(b.numpy(), a, rtol=1e-12)


def test_los_vector_known_values_and_unit_norm():
    e, n, u = los_vector(-12.0, 39.0)
    s, c = math.sin(math.radians(39.0)), math.cos(math.radians(39.0))
    assert (e, n, u) == pytest.approx(
        (-s * math.cos(math.radians(12.0)), -s * math.sin(math.radians(12.0)), c)
    )
    assert e * e + n * n + u * u == pytest.approx(1.0)
    # heading north, looking east: the satellite is due west of the target
    assert los_vector(0.0, 30.0) == pytest.approx((-0.5, 0.0, math.cos(math.radians(30.0))))


def test_uplift_projects_to_positive_cos_incidence():
    los = project_los(
        0.0, 0.0, 10.0, **{k: SENTINEL1_ASC[k] for k in ("heading_deg", "incidence_deg")}
    )
    assert los == pytest.approx(10.0 * math.cos(math.radians(39.0)))


def test_east_motion_changes_sign_between_ascending_and_descending():
    asc = project_los(1.0, 0.0, 0.0, SENTINEL1_ASC["heading_deg"], SENTINEL1_ASC["incidence_deg"])
    desc = project_los(
        1.0, 0.0, 0.0, SENTINEL1_DESC["heading_deg"], SENTINEL1_DESC["incidence_deg"]
    )
    assert asc < -0.5 and desc > 0.5  # ascending looks east: eastward motion is away
    assert SENTINEL1_ASC["wavelength_m"] == pytest.approx(0.0555, abs=1e-4)


def test_project_los_works_on_tensors():
    ue = torch.ones(3, 4)
    got = project_los(ue, 0 * ue, ue, -12.0, 39.0)
    e, _, u = los_vector(-12.0, 39.0)
    torch.testing.assert_close(got, torch.full((3, 4), e + u))
