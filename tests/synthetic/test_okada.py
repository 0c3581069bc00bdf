"""Okada (1985) surface displacement: published values, symmetries, limits, torch == numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from insar_ae.synthetic import fault_displacement, okada85

# Okada (1985) Table 2: nu = 0.25, unit slip, (x, y, d, dip, L, W) -> (ux, uy, uz)
TABLE2 = [
    ((2.0, 3.0, 4.0, 70.0, 3.0, 2.0), "strike_slip", (-8.689e-3, -4.298e-3, -2.747e-3)),
    ((2.0, 3.0, 4.0, 70.0, 3.0, 2.0), "dip_slip", (-4.682e-3, -3.527e-2, -3.564e-2)),
    ((2.0, 3.0, 4.0, 70.0, 3.0, 2.0), "opening", (-2.660e-4, +1.056e-2, +3.214e-3)),
    ((0.0, 0.0, 4.0, 90.0, 3.0, 2.0), "strike_slip", (0.0, +5.253e-3, 0.0)),
    ((0.0, 0.0, 4.0, 90.0, 3.0, 2.0), "dip_slip", (0.0, 0.0, 0.0)),
    ((0.0, 0.0, 4.0, 90.0, 3.0, 2.0), "opening", (+1.223e-2, 0.0, -1.606e-2)),
]


def _sig4(v: float) -> float:
    return float(f"{v:.3e}")


@pytest.mark.parametrize(("geom", "component", "expected"), TABLE2)
def test_okada85_reproduces_table2_to_four_significant_digits(geom, component, expected):
    x, y, d, dip, length, width = geom
    u = okada85(
        np.array(x),
        np.array(y),
        depth=d,
        dip_deg=dip,
        length=length,
        width=width,
        **{component: 1.0},
    )
    for got, want in zip(u, expected, strict=True):
        assert _sig4(float(got)) == pytest.approx(want, abs=1e-18)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(("geom", "component", "expected"), TABLE2)
def test_okada85_torch_reproduces_table2(geom, component, expected, dtype):
    x, y, d, dip, length, width = geom
    u = okada85(
        torch.tensor(x, dtype=dtype),
        torch.tensor(y, dtype=dtype),
        depth=d,
        dip_deg=dip,
        length=length,
        width=width,
        **{component: 1.0},
    )
    tol = 1e-9 if dtype == torch.float64 else 2e-6
    for got, want in zip(u, expected, strict=True):
        assert got.dtype == dtype
        assert float(got) == pytest.approx(want, abs=tol + 5e-4 * abs(want))


def test_torch_matches_numpy_for_mixed_vertical_and_dipping_faults_in_one_batch():
    rng = np.random.default_rng(1)
    n = 12
    dip = rng.uniform(0.0, 90.0, (n, 1))
    dip[::3] = 90.0  # vertical and dipping faults in the same broadcast call
    width = rng.uniform(0.5, 3.0, (n, 1))
    depth = width * np.sin(np.radians(dip)) + rng.uniform(0.0, 2.0, (n, 1))
    depth[1] = width[1] * np.sin(np.radians(dip[1]))  # surface-breaking
    length = rng.uniform(0.5, 5.0, (n, 1))
    x, y = rng.uniform(-5, 8, (n, 50)), rng.uniform(-6, 6, (n, 50))
    slips = rng.normal(size=(3, n, 1))
    ref = okada85(
        x,
        y,
        depth=depth,
        dip_deg=dip,
        length=length,
        width=width,
        strike_slip=slips[0],
        dip_slip=slips[1],
        opening=slips[2],
    )
    t = [torch.tensor(a) for a in (x, y, depth, dip, length, width, *slips)]
    got = okada85(
        t[0],
        t[1],
        depth=t[2],
        dip_deg=t[3],
        length=t[4],
        width=t[5],
        strike_slip=t[6],
        dip_slip=t[7],
        opening=t[8],
    )
    for a, b in zip(ref, got, strict=True):
        np.testing.assert_allclose(b.numpy(), a, rtol=1e-9, atol=1e-12)
    got32 = okada85(
        *(a.float() for a in t[:2]),
        depth=t[2].float(),
        dip_deg=t[3].float(),
        length=t[4].float(),
        width=t[5].float(),
        strike_slip=t[6].float(),
        dip_slip=t[7].float(),
        opening=t[8].float(),
    )
    scale = max(float(np.abs(a).max()) for a in ref)
    for a, b in zip(ref, got32, strict=True):
        np.testing.assert_allclose(b.double().numpy(), a, atol=2e-4 * scale)


@pytest.mark.parametrize("offset_deg", [1.0, 1e-2, 1e-3, 4e-4, 3e-4, 1e-4, 1e-6])
def test_vertical_branch_is_continuous_with_nearly_vertical_dips(offset_deg):
    """Across the switch between the general and the cos(dip)=0 formulas nothing jumps."""
    x, y = np.linspace(-2, 5, 30), np.linspace(-4, 4, 30)
    kw = dict(depth=4.0, length=3.0, width=2.0, strike_slip=0.3, dip_slip=1.0, opening=0.5)
    v = np.array(okada85(x, y, dip_deg=90.0, **kw))
    near = np.array(okada85(x, y, dip_deg=90.0 - offset_deg, **kw))
    # the physical sensitivity here is about 8e-3 per degree of dip (linear in the offset)
    assert np.abs(near - v).max() <= 1e-2 * offset_deg + 2e-6


@pytest.mark.parametrize("component", ["strike_slip", "dip_slip", "opening"])
def test_vertical_fault_mirror_symmetries(component):
    x = np.array([0.7, 1.3, -2.0, 4.1, 2.2])
    y = np.array([0.9, 2.5, -1.3, 0.2, -3.0])
    kw = dict(depth=3.0, dip_deg=90.0, length=3.0, width=2.0, **{component: 1.0})
    u = np.array(okada85(x, y, **kw))
    across = np.array(okada85(x, -y, **kw))  # mirror in the fault plane y = 0
    along = np.array(okada85(3.0 - x, y, **kw))  # mirror about the fault centre x = L/2
    sign_across = {"strike_slip": (-1, 1, -1), "dip_slip": (-1, 1, -1), "opening": (1, -1, 1)}
    sign_along = {"strike_slip": (1, -1, -1), "dip_slip": (-1, 1, 1), "opening": (-1, 1, 1)}
    np.testing.assert_allclose(
        across, np.array(sign_across[component])[:, None] * u, rtol=1e-10, atol=1e-15
    )
    np.testing.assert_allclose(
        along, np.array(sign_along[component])[:, None] * u, rtol=1e-10, atol=1e-15
    )


def test_strike_slip_antisymmetry_about_the_fault_in_map_coordinates():
    """Vertical strike-slip: fault-parallel motion is odd across the trace, uplift is odd too."""
    s = math.radians(35.0)
    perp = np.array([-math.cos(s), math.sin(s)])  # left of strike
    d = np.linspace(100.0, 9000.0, 12)
    kw = dict(
        x0_m=1000.0,
        y0_m=-500.0,
        strike_deg=35.0,
        dip_deg=90.0,
        top_depth_m=0.0,
        length_m=40e3,
        width_m=8e3,
        rake_deg=180.0,
        slip_m=1.0,
    )
    e1, n1, u1 = fault_displacement(1000.0 + d * perp[0], -500.0 + d * perp[1], **kw)
    e2, n2, u2 = fault_displacement(1000.0 - d * perp[0], -500.0 - d * perp[1], **kw)
    np.testing.assert_allclose(e1, -e2, atol=1e-12)
    np.testing.assert_allclose(n1, -n2, atol=1e-12)
    np.testing.assert_allclose(u1, -u2, atol=1e-12)


def test_right_lateral_fault_moves_north_side_east():
    """Rake 180 on an N80E fault (North Anatolian Fault): north block east, south block west."""
    kw = dict(
        x0_m=0.0,
        y0_m=0.0,
        strike_deg=80.0,
        dip_deg=90.0,
        top_depth_m=0.0,
        length_m=200e3,
        width_m=10e3,
        rake_deg=180.0,
        slip_m=1.0,
    )
    e_n, _, _ = fault_displacement(np.array(0.0), np.array(1.0), **kw)
    e_s, _, _ = fault_displacement(np.array(0.0), np.array(-1.0), **kw)
    assert float(e_n) > 0.45 and float(e_s) < -0.45
    assert float(e_n - e_s) == pytest.approx(math.sin(math.radians(80.0)), rel=1e-3)


def test_surface_breaking_long_strike_slip_fault_has_half_slip_on_each_side():
    big = 1e5
    ux, _, _ = okada85(
        np.array([big / 2, big / 2]),
        np.array([1e-6, -1e-6]),
        depth=20.0,
        dip_deg=90.0,
        length=big,
        width=20.0,
        strike_slip=1.0,
    )
    np.testing.assert_allclose(ux, [-0.5, 0.5], atol=1e-6)


def test_deep_slip_on_long_fault_matches_savage_burford_screw_dislocation():
    locking, big = 10.0, 1e5
    y = np.array([-30.0, -5.0, 3.0, 10.0, 40.0])
    ux, _uy, uz = okada85(
        np.full_like(y, big / 2),
        y,
        depth=locking + big,
        dip_deg=90.0,
        length=big,
        width=big,
        strike_slip=1.0,
    )
    np.testing.assert_allclose(ux, -np.arctan(y / locking) / np.pi, atol=1e-3)
    np.testing.assert_allclose(uz, 0.0, atol=1e-9)


@pytest.mark.parametrize("component", ["strike_slip", "dip_slip", "opening"])
def test_far_field_decays_as_inverse_square_distance(component):
    r = np.geomspace(200.0, 3200.0, 6)
    az = 0.7
    u = okada85(
        0.5 + r * np.cos(az),
        0.5 + r * np.sin(az),
        depth=5.0,
        dip_deg=60.0,
        length=1.0,
        width=1.0,
        **{component: 1.0},
    )
    mag = np.sqrt(sum(c * c for c in u))
    slope = np.polyfit(np.log(r), np.log(mag), 1)[0]
    assert slope == pytest.approx(-2.0, abs=0.03)


def test_fault_displacement_is_rotation_equivariant_and_scale_invariant():
    rng = np.random.default_rng(3)
    e, n = rng.uniform(-20e3, 20e3, 40), rng.uniform(-20e3, 20e3, 40)
    kw = dict(
        x0_m=2e3,
        y0_m=-1e3,
        dip_deg=40.0,
        top_depth_m=1e3,
        length_m=12e3,
        width_m=6e3,
        rake_deg=60.0,
        slip_m=2.0,
        opening_m=0.3,
    )
    ue, un, uu = fault_displacement(e, n, strike_deg=10.0, **kw)
    rot = math.radians(50.0)  # rotate everything clockwise by 50 degrees about the origin

    def cw(a, b):
        return a * math.cos(rot) + b * math.sin(rot), -a * math.sin(rot) + b * math.cos(rot)

    er, nr = cw(e, n)
    kw2 = dict(kw)
    kw2["x0_m"], kw2["y0_m"] = cw(kw["x0_m"], kw["y0_m"])
    ve, vn, vu = fault_displacement(er, nr, strike_deg=60.0, **kw2)
    we, wn = cw(ue, un)
    np.testing.assert_allclose([ve, vn, vu], [we, wn, uu], atol=1e-12)
    # doubling every length leaves displacements (per unit slip) unchanged
    kw3 = {
        k: (2 * v if k.endswith("_m") and k not in ("slip_m", "opening_m") else v)
        for k, v in kw.items()
    }
    np.testing.assert_allclose(
        fault_displacement(2 * e, 2 * n, strike_deg=10.0, **kw3), [ue, un, uu], atol=1e-12
    )


def test_poisson_ratio_changes_the_elastic_terms():
    kw = dict(depth=4.0, dip_deg=70.0, length=3.0, width=2.0, opening=1.0)
    a = okada85(np.array(2.0), np.array(3.0), nu=0.25, **kw)
    b = okada85(np.array(2.0), np.array(3.0), nu=0.35, **kw)
    assert abs(float(a[2]) - float(b[2])) > 1e-4


def test_singular_points_give_finite_values():
    """A point on the corner of a surface-breaking fault, or on its trace, is not NaN."""
    x = np.array([0.0, 3.0, 1.5, -1.0, 4.0])
    y = np.zeros(5)
    for dip in (90.0, 45.0):
        w = 2.0
        u = okada85(
            x,
            y + w * math.cos(math.radians(dip)),
            depth=w * math.sin(math.radians(dip)),
            dip_deg=dip,
            length=3.0,
            width=w,
            strike_slip=1.0,
            dip_slip=1.0,
            opening=1.0,
        )
        assert all(np.all(np.isfinite(c)) for c in u)
