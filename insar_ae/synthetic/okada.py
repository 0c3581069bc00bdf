"""Okada (1985) rectangular dislocation in an elastic half-space: surface displacement.

One implementation written against an array namespace (numpy or torch, see ``_backend``), so the
same formulas serve scene generation (numpy float64) and training batches (torch, any device).

Geometry (Okada 1985, Fig. 1 and Table 2)
-----------------------------------------
Okada's own frame: ``x`` along strike, ``y`` horizontal and 90 degrees counter-clockwise from
``x`` (so the fault dips towards ``-y``; right-hand rule: dip is to the right of strike), ``z`` up,
free surface ``z = 0``. The reference point is the *start of the deep edge*: horizontal position
``(0, 0)`` at depth ``d``. The fault spans ``0 <= x <= L`` along strike and a width ``W`` *up dip*
from the deep edge, so its top edge lies at depth ``d - W sin(dip)`` and horizontal position
``y = W cos(dip)``. The top edge must not be above the surface.

Slip: ``strike_slip`` (U1) > 0 is left-lateral, ``dip_slip`` (U2) > 0 is reverse (hanging wall
up), ``opening`` (U3) > 0 is tensile opening. With Aki-Richards rake, U1 = slip cos(rake),
U2 = slip sin(rake) (rake 0 left-lateral, 90 thrust, 180 right-lateral, -90 normal).

Displacements are in the units of the slip; lengths in any consistent unit. Vertical faults
(cos(dip) = 0, in practice cos(dip) < eps**(1/3) of the working precision) use Okada's separate
analytic expressions for the I-terms; the numerical
singularities (R + eta = 0, R + xi = 0, q = 0) follow Okada (1992): the log terms switch to
``-ln(R - eta)`` and the arctangent term is set to zero; exactly singular points (an observation
point on a corner of a surface-breaking fault) return 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from insar_ae.errors import ParameterError
from insar_ae.synthetic._backend import as_like, errstate, is_torch, namespace
from insar_ae.synthetic._checks import check_range

__all__ = ["fault_displacement", "okada85"]


def _eps_cos(xp: Any, like: Any) -> float:
    """cos(dip) below which the vertical-fault formulas are used: eps**(1/3).

    The general I-terms lose about ``eps / cos(dip)**2`` to cancellation, the vertical ones are
    off by ``O(cos(dip))``; the crossover is ``eps**(1/3)`` (6e-6 in float64, i.e. dips within
    3.5e-4 degrees of vertical; 5e-3 in float32, within 0.28 degrees).
    """
    eps = np.finfo(np.float64).eps if xp is np else xp.finfo(like.dtype).eps
    return float(eps ** (1.0 / 3.0))


def _corner(
    xp: Any,
    xi: Any,
    eta: Any,
    q: Any,
    q_safe: Any,
    g: dict[str, Any],
    with_general: bool,
    with_vertical: bool,
) -> tuple[Any, Any, Any]:
    """Okada (1985) eqs. 25-30 at one corner (xi, eta) of Chinnery's notation, times 2*pi.

    ``g`` holds the per-fault scalars (broadcastable): ``sd``, ``cd``, ``cds`` (cd with 1 where
    vertical), ``vert``, ``c`` = 1 - 2 nu and the slip combinations ``k_*``.
    """
    sd, cd, cds, c = g["sd"], g["cd"], g["cds"], g["c"]
    ytil = eta * cd + q * sd
    dtil = eta * sd - q * cd
    x2 = xi * xi + q * q
    r = xp.sqrt(x2 + eta * eta)
    inv_r = 1.0 / r
    # R + eta and R + xi without cancellation when eta, xi < 0: (R+e)(R-e) = R^2 - e^2.
    # re = 0 only when xi = q = 0 and eta < 0: then Okada (1992) uses -ln(R - eta), 1/(R+eta) = 0.
    re = xp.where(eta >= 0, r + eta, x2 / (r - eta))
    ln_re = xp.log(xp.where(re > 0, re, 1.0 / (r - eta)))
    inv_re = xp.where(re > 0, 1.0 / re, 0.0)
    rx = xp.where(xi >= 0, r + xi, (eta * eta + q * q) / (r - xi))
    inv_rx = xp.where(rx > 0, 1.0 / rx, 0.0)
    theta = xp.where(q != 0, xp.atan(xi * eta * inv_r / q_safe), 0.0)
    rd = r + dtil
    inv_rd = 1.0 / rd
    i1 = i3 = i4 = i5 = 0.0
    if with_general:  # cd replaced by 1 where vertical keeps these finite there
        big_x = xp.sqrt(x2)
        rpx = r + big_x
        i5 = xp.where(
            xi != 0,
            (2.0 * c / cds)
            * xp.atan(
                (eta * (big_x + q * cds) + big_x * rpx * sd)
                / xp.where(xi != 0, xi * rpx * cds, 1.0)
            ),
            0.0,
        )
        i4 = (c / cds) * (xp.log(rd) - sd * ln_re)
        i3 = c * (ytil * inv_rd / cds - ln_re) + (sd / cds) * i4
        i1 = (-c / cds) * xi * inv_rd - (sd / cds) * i5
    if with_vertical:  # Okada (1985) eq. 29, cos(dip) = 0
        vert = g["vert"]
        inv_rd2 = inv_rd * inv_rd
        i1v = (-0.5 * c) * xi * q * inv_rd2
        i3v = (0.5 * c) * (eta * inv_rd + ytil * q * inv_rd2 - ln_re)
        i4v = -c * q * inv_rd
        i5v = (-c * sd) * xi * inv_rd
        if with_general:
            i1, i3 = xp.where(vert, i1v, i1), xp.where(vert, i3v, i3)
            i4, i5 = xp.where(vert, i4v, i4), xp.where(vert, i5v, i5)
        else:
            i1, i3, i4, i5 = i1v, i3v, i4v, i5v
    a = q * inv_r
    b_re = a * inv_re  # q / (R (R + eta))
    b_rx = a * inv_rx  # q / (R (R + xi))
    u1, u2, u3 = g["u1"], g["u2"], g["u3"]
    m13 = g["m13"]  # u2 sd cd - u3 sd^2
    # I2 = -c ln(R+eta) - I3 enters uy with factor -u1 sd
    ux = b_re * (u3 * q - u1 * xi) - u1 * theta - u2 * a - (u1 * sd) * i1 + m13 * i3
    uy = (
        b_re * (-u1 * ytil - (u3 * sd) * xi)
        - (u1 * cd) * q * inv_re
        + (u1 * sd * c) * ln_re
        + (u1 * sd) * i3
        + b_rx * (-u2 * ytil - u3 * dtil)
        + (u3 * sd - u2 * cd) * theta
        + m13 * i1
    )
    uz = (
        b_re * ((u3 * cd) * xi - u1 * dtil)
        - (u1 * sd) * q * inv_re
        - (u1 * sd) * i4
        + b_rx * (u3 * ytil - u2 * dtil)
        - (u2 * sd + u3 * cd) * theta
        + m13 * i5
    )
    return ux, uy, uz


def okada_core(
    x: Any,
    y: Any,
    depth: Any,
    dip_deg: Any,
    length: Any,
    width: Any,
    strike_slip: Any = 0.0,
    dip_slip: Any = 0.0,
    opening: Any = 0.0,
    nu: Any = 0.25,
    *,
    branches: str = "auto",
) -> tuple[Any, Any, Any]:
    """:func:`okada85` without input checks (for trusted, vectorised callers such as batches).

    All parameters broadcast against ``x``/``y`` (e.g. shape ``(n, 1, 1)`` per-sample values).
    ``branches="both"`` always evaluates the general and the vertical-fault I-terms (no
    data-dependent Python branching, for ``torch.compile``); ``"auto"`` skips an unused one.
    """
    args = (x, y, depth, dip_deg, length, width, strike_slip, dip_slip, opening, nu)
    xp = namespace(*args)
    like = x if xp is np else next(a for a in args if is_torch(a))
    x, y = as_like(xp, x, like), as_like(xp, y, like)
    d, lng, wid = (as_like(xp, v, x) for v in (depth, length, width))
    u1, u2, u3, nu_ = (as_like(xp, v, x) for v in (strike_slip, dip_slip, opening, nu))
    dip = as_like(xp, dip_deg, x) * (math.pi / 180.0)
    cd, sd = xp.cos(dip), xp.sin(dip)
    vert = xp.abs(cd) < _eps_cos(xp, x)
    cd = xp.where(vert, 0.0, cd)
    sd = xp.where(vert, 1.0, sd)
    if branches == "both":
        with_vertical = with_general = True
    else:
        with_vertical = bool(vert.any())
        with_general = not bool(vert.all())
    g = {
        "sd": sd,
        "cd": cd,
        "cds": xp.where(vert, 1.0, cd),
        "vert": vert,
        "c": 1.0 - 2.0 * nu_,  # mu / (lambda + mu)
        "u1": u1,
        "u2": u2,
        "u3": u3,
        "m13": u2 * sd * cd - u3 * sd * sd,
    }
    with errstate(xp):
        p = y * cd + d * sd
        q = y * sd - d * cd
        q_safe = xp.where(q != 0, q, 1.0)
        out = [0.0, 0.0, 0.0]
        for xi, eta, sign in (
            (x, p, 1.0),
            (x, p - wid, -1.0),
            (x - lng, p, -1.0),
            (x - lng, p - wid, 1.0),
        ):
            comp = _corner(xp, xi, eta, q, q_safe, g, with_general, with_vertical)
            out = [o + sign * u if sign > 0 else o - u for o, u in zip(out, comp, strict=True)]
        res = tuple(xp.where(xp.isfinite(o), o, 0.0) * (1.0 / (2.0 * math.pi)) for o in out)
    return res  # type: ignore[return-value]


def _check_fault(depth: Any, dip_deg: Any, length: Any, width: Any, nu: Any) -> None:
    check_range("dip_deg", dip_deg, 0.0, 90.0, unit="degrees")
    check_range("depth", depth, 0.0, low_open=True, unit="(length units)")
    check_range("length", length, 0.0, low_open=True, unit="(length units)")
    check_range("width", width, 0.0, low_open=True, unit="(length units)")
    check_range("nu", nu, -1.0, 0.5, low_open=True, high_open=True)
    top = np.asarray(depth, float) - np.asarray(width, float) * np.sin(
        np.radians(np.asarray(dip_deg, float))
    )
    tol = 1e-9 * np.maximum(np.abs(np.asarray(depth, float)), 1.0)
    if np.any(top < -tol):
        raise ParameterError(
            f"fault above the surface: top-edge depth = depth - width*sin(dip) must be >= 0, "
            f"got {float(np.min(top)):g} (depth={depth}, width={width}, dip_deg={dip_deg})"
        )


def okada85(
    x: Any,
    y: Any,
    *,
    depth: float,
    dip_deg: float,
    length: float,
    width: float,
    strike_slip: float = 0.0,
    dip_slip: float = 0.0,
    opening: float = 0.0,
    nu: float = 0.25,
) -> tuple[Any, Any, Any]:
    """Surface displacement of a rectangular dislocation in Okada's own frame.

    Parameters
    ----------
    x, y
        Observation points (numpy arrays or torch tensors), ``x`` along strike from the fault's
        start, ``y`` 90 degrees counter-clockwise from ``x``, origin above the start of the deep
        edge (see module docstring).
    depth
        Depth ``d`` of the deep edge (> 0), same length unit as ``x``.
    dip_deg
        Dip in degrees, [0, 90]; 90 is vertical (handled analytically).
    length, width
        Along-strike length ``L`` and up-dip width ``W`` (> 0). ``depth - W sin(dip) >= 0``.
    strike_slip, dip_slip, opening
        U1 (left-lateral > 0), U2 (reverse > 0), U3 (opening > 0); output has their unit.
    nu
        Poisson's ratio (default 0.25).

    Returns
    -------
    (ux, uy, uz)
        Displacement along ``x``, ``y`` and up, broadcast shape of the inputs.

    Raises
    ------
    ParameterError
        Dip outside [0, 90], non-positive depth/length/width, fault above the surface, bad nu.
    """
    _check_fault(depth, dip_deg, length, width, nu)
    return okada_core(x, y, depth, dip_deg, length, width, strike_slip, dip_slip, opening, nu)


def fault_geometry(
    x0_m: Any,
    y0_m: Any,
    strike_deg: Any,
    dip_deg: Any,
    top_depth_m: Any,
    length_m: Any,
    width_m: Any,
) -> dict[str, Any]:
    """Okada-frame origin and axes of a fault given by the centre of its top edge.

    Returns a dict with ``origin_e``, ``origin_n`` (above the start of the deep edge), the
    strike unit vector ``(se, sn)``, the Okada ``y`` unit vector ``(le, ln)`` (left of strike) and
    ``depth`` of the deep edge. Works with scalars, numpy arrays or torch tensors.
    """
    xp = namespace(x0_m, y0_m, strike_deg, dip_deg, top_depth_m, length_m, width_m)
    st = strike_deg * (math.pi / 180.0)
    dp = dip_deg * (math.pi / 180.0)
    se, sn = xp.sin(st), xp.cos(st)
    le, ln = -sn, se
    hw = width_m * xp.cos(dp)
    return {
        "origin_e": x0_m - 0.5 * length_m * se - hw * le,
        "origin_n": y0_m - 0.5 * length_m * sn - hw * ln,
        "se": se,
        "sn": sn,
        "le": le,
        "ln": ln,
        "depth": top_depth_m + width_m * xp.sin(dp),
    }


def fault_displacement_core(
    east_m: Any,
    north_m: Any,
    x0_m: Any,
    y0_m: Any,
    strike_deg: Any,
    dip_deg: Any,
    top_depth_m: Any,
    length_m: Any,
    width_m: Any,
    rake_deg: Any,
    slip_m: Any,
    opening_m: Any = 0.0,
    nu: Any = 0.25,
    *,
    branches: str = "auto",
) -> tuple[Any, Any, Any]:
    """:func:`fault_displacement` without input checks (parameters broadcast, e.g. ``(n,1,1)``).

    ``branches``: see :func:`okada_core`.
    """
    args = (
        east_m,
        north_m,
        x0_m,
        y0_m,
        strike_deg,
        dip_deg,
        top_depth_m,
        length_m,
        width_m,
        rake_deg,
        slip_m,
        opening_m,
        nu,
    )
    xp = namespace(*args)
    like = np.float64(0.0) if xp is np else next(a for a in args if is_torch(a))
    (
        east_m,
        north_m,
        x0_m,
        y0_m,
        strike_deg,
        dip_deg,
        top_depth_m,
        length_m,
        width_m,
        rake_deg,
        slip_m,
        opening_m,
        nu,
    ) = (as_like(xp, a, like) for a in args)
    g = fault_geometry(x0_m, y0_m, strike_deg, dip_deg, top_depth_m, length_m, width_m)
    scale = length_m  # work in units of the fault length (better conditioned in float32)
    de = (east_m - g["origin_e"]) / scale
    dn = (north_m - g["origin_n"]) / scale
    xs = de * g["se"] + dn * g["sn"]
    ys = de * g["le"] + dn * g["ln"]
    rk = rake_deg * (math.pi / 180.0)
    ux, uy, uz = okada_core(
        xs,
        ys,
        g["depth"] / scale,
        dip_deg,
        length_m / scale,
        width_m / scale,
        slip_m * xp.cos(rk),
        slip_m * xp.sin(rk),
        opening_m,
        nu,
        branches=branches,
    )
    return ux * g["se"] + uy * g["le"], ux * g["sn"] + uy * g["ln"], uz


def fault_displacement(
    east_m: Any,
    north_m: Any,
    *,
    x0_m: float,
    y0_m: float,
    strike_deg: float,
    dip_deg: float,
    top_depth_m: float,
    length_m: float,
    width_m: float,
    rake_deg: float,
    slip_m: float,
    opening_m: float = 0.0,
    nu: float = 0.25,
) -> tuple[Any, Any, Any]:
    """Surface displacement (east, north, up) of a rectangular fault in map coordinates.

    Parameters
    ----------
    east_m, north_m
        Observation points, metres (numpy or torch, broadcasting).
    x0_m, y0_m
        Centre of the fault's top edge (its surface trace when ``top_depth_m == 0``), metres.
    strike_deg
        Strike, degrees clockwise from north; the fault dips to the right of the strike.
    dip_deg
        Dip in [0, 90] degrees.
    top_depth_m
        Depth of the top edge, >= 0 (0 = surface-breaking); > 0 required when dip is 0.
    length_m, width_m
        Along-strike length and down-dip width, metres, > 0.
    rake_deg
        Aki-Richards rake: 0 left-lateral, 90 reverse, 180 right-lateral, -90 normal.
    slip_m, opening_m
        Slip and tensile opening, metres.
    nu
        Poisson's ratio.

    Returns
    -------
    (ue, un, uu)
        Displacement east, north and up, metres.
    """
    check_range("top_depth_m", top_depth_m, 0.0, unit="m (fault above the surface otherwise)")
    check_range("dip_deg", dip_deg, 0.0, 90.0, unit="degrees")
    check_range("length_m", length_m, 0.0, low_open=True, unit="m")
    check_range("width_m", width_m, 0.0, low_open=True, unit="m")
    check_range("nu", nu, -1.0, 0.5, low_open=True, high_open=True)
    deep = np.asarray(top_depth_m, float) + np.asarray(width_m, float) * np.sin(
        np.radians(np.asarray(dip_deg, float))
    )
    if np.any(deep <= 0):
        raise ParameterError(
            f"top_depth_m must be > 0 for a horizontal fault (dip_deg=0), got {top_depth_m}"
        )
    return fault_displacement_core(
        east_m,
        north_m,
        x0_m,
        y0_m,
        strike_deg,
        dip_deg,
        top_depth_m,
        length_m,
        width_m,
        rake_deg,
        slip_m,
        opening_m,
        nu,
    )
