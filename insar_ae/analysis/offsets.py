"""Fault offsets from a profile crossing a fault: step and creeping-fault fits with uncertainties.

Profile coordinates: ``distance`` along the profile (metres by default, see ``distance_unit_m``),
``values`` in mm (LOS, positive toward the satellite). An offset is ``u(x0+) - u(x0-)``: the value
on the far side of the crossing (larger distance) minus the near side.

Models
------
``step``   ``u = a_l + b_l (x - x0)`` for ``x < x0`` and ``a_r + b_r (x - x0)`` for ``x >= x0``;
           offset ``a_r - a_l`` (a step with its own linear trend on each side).
``creep``  with ``z = (x - x0) / D``, ``a + b (x - x0)`` plus
           ``kind="shallow"`` (default): slip ``s`` from the surface down to depth ``D`` (screw
           dislocation, e.g. Segall 2010 eq. 2.31): ``(s/pi) * (pi/2 sign(z) - arctan(z))``, i.e.
           ``(s/pi) arctan(D / (x - x0))``: a jump ``s`` at the trace decaying over ~``D``;
           ``kind="deep"``: slip ``s`` below a locking depth ``D`` (Savage & Burford 1973):
           ``(s/pi) arctan(z)``: smooth, total offset ``s`` far from the fault.

Uncertainties are 1-sigma, from the residual scatter ``s^2 (J^T J)^-1`` with ``s^2 = RSS/(n-p)``
(exact for independent Gaussian residuals), or from a (moving-block) residual bootstrap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from insar_ae.analysis._lsq import (
    batched_linear_rss,
    bootstrap_sigmas,
    clean_xy,
    linear_fit,
    scatter_covariance,
)
from insar_ae.errors import ParameterError

__all__ = [
    "OFFSET_MODELS",
    "OffsetFit",
    "creep_curve",
    "fit_creep",
    "fit_offset",
    "fit_step",
    "locate_fault",
]

_CREEP_KINDS = ("shallow", "deep")
#: Models of :func:`fit_offset` (and of ``offset_series`` and the dashboard's offset choice).
OFFSET_MODELS: tuple[str, ...] = ("step", "creep")


@dataclass(frozen=True)
class OffsetFit:
    """Result of a fault-offset fit (1-sigma uncertainties; mm, distance units of the input).

    ``params``/``sigmas``: ``step`` -> a_left, b_left, a_right, b_right, x0; ``creep`` -> s, D,
    x0, a, b (``D`` in the distance units; ``depth_km`` = ``D`` in km). ``x0_sigma`` is NaN when
    x0 was given or found by a discrete search.
    """

    model: str
    offset_mm: float
    offset_sigma_mm: float
    x0: float
    x0_sigma: float
    params: dict[str, float]
    sigmas: dict[str, float]
    residual_rms_mm: float
    n: int
    method: str
    depth_km: float | None = None
    depth_sigma_km: float | None = None
    kind: str | None = None
    distance_unit_m: float = 1.0
    covariance: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)

    def curve(self, x: np.ndarray | float) -> np.ndarray:
        """The fitted model at distances ``x`` (mm)."""
        p = self.params
        xa = np.asarray(x, dtype=float)
        if self.model == "step":
            dx = xa - p["x0"]
            return np.where(
                dx < 0, p["a_left"] + p["b_left"] * dx, p["a_right"] + p["b_right"] * dx
            )
        return creep_curve(
            xa, s=p["s"], depth=p["D"], x0=p["x0"], a=p["a"], b=p["b"], kind=self.kind or "shallow"
        )


def _basis(z: np.ndarray, kind: str) -> np.ndarray:
    if kind == "shallow":
        return (0.5 * math.pi * np.sign(z) - np.arctan(z)) / math.pi
    return np.arctan(z) / math.pi


def creep_curve(
    x: np.ndarray,
    *,
    s: float,
    depth: float,
    x0: float,
    a: float = 0.0,
    b: float = 0.0,
    kind: str = "shallow",
) -> np.ndarray:
    """Creeping-fault profile (see module doc): mm at distances ``x`` (``depth`` in x units)."""
    xa = np.asarray(x, dtype=float)
    return s * _basis((xa - x0) / depth, kind) + a + b * (xa - x0)


def _smooth(x: np.ndarray, y: np.ndarray, sigma: float) -> np.ndarray:
    out = np.empty_like(y)
    step = max(1, 4_000_000 // max(x.size, 1))
    for i in range(0, x.size, step):
        w = np.exp(-0.5 * ((x[i : i + step, None] - x[None, :]) / sigma) ** 2)
        out[i : i + step] = (w @ y) / w.sum(axis=1)
    return out


def locate_fault(distance: np.ndarray, values: np.ndarray, *, smooth: float | None = None) -> float:
    """Crossing point: where the (Gaussian-smoothed, NaN-free) profile's gradient is largest.

    ``smooth`` is the kernel's sigma in distance units (default: 2 median sample spacings; use 0
    for none). Returns the midpoint of the steepest pair of adjacent samples.
    """
    x, y = clean_xy(distance, values, min_n=3, what="locate_fault")
    dx = np.diff(x)
    spacing = float(np.median(dx[dx > 0])) if np.any(dx > 0) else 1.0
    sig = 2.0 * spacing if smooth is None else float(smooth)
    if not np.isfinite(sig) or sig < 0:
        raise ParameterError(f"smooth must be >= 0 (distance units), got {smooth!r}")
    ys = _smooth(x, y, sig) if sig > 0 else y
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(dx > 0, np.diff(ys) / dx, 0.0)
    k = int(np.argmax(np.abs(g)))
    return float(0.5 * (x[k] + x[k + 1]))


def _window(
    x: np.ndarray, y: np.ndarray, x0: float, window: float | None
) -> tuple[np.ndarray, np.ndarray]:
    if window is None:
        return x, y
    if not (np.isfinite(window) and window > 0):
        raise ParameterError(f"window must be > 0 (distance units), got {window!r}")
    keep = np.abs(x - x0) <= window
    return x[keep], y[keep]


def _midpoints_near(x: np.ndarray, x0: float, k: int) -> np.ndarray:
    mids = 0.5 * (x[1:] + x[:-1])
    mids = mids[np.diff(x) > 0]
    if mids.size == 0:
        return np.array([x0])
    i = int(np.argmin(np.abs(mids - x0)))
    return mids[max(0, i - k) : i + k + 1]


def _step_design(x: np.ndarray, x0: float) -> np.ndarray:
    dx = x - x0
    right = (dx >= 0).astype(float)
    left = 1.0 - right
    return np.column_stack((left, left * dx, right, right * dx))


def _step_core(
    x: np.ndarray, y: np.ndarray, x0: float | None, window: float | None, scale: float
) -> tuple[float, np.ndarray, np.ndarray, float, np.ndarray, np.ndarray]:
    if x0 is None:
        guess = locate_fault(x, y)
        cands = _midpoints_near(x, guess, 5)
        best = (np.inf, guess)
        for c in cands:
            xw, yw = _window(x, y, c, window)
            A = _step_design(xw / scale, c / scale)
            if A[:, 0].sum() < 2 or A[:, 2].sum() < 2:
                continue
            _, _, rss = linear_fit(A, yw)
            if rss < best[0]:
                best = (rss, c)
        x0v = float(best[1])
    else:
        x0v = float(x0)
    xw, yw = _window(x, y, x0v, window)
    A = _step_design(xw / scale, x0v / scale)
    n_l, n_r = int(A[:, 0].sum()), int(A[:, 2].sum())
    if n_l < 2 or n_r < 2 or xw.size < 5:
        raise ParameterError(
            f"fit_step: needs >= 2 finite samples on each side of x0={x0v} and >= 5 in all, got {n_l} "
            f"left and {n_r} right (check x0, window and NaN bins)"
        )
    beta, _, rss = linear_fit(A, yw)
    return x0v, beta, A, rss, xw, yw


def fit_step(
    distance: np.ndarray,
    values: np.ndarray,
    *,
    x0: float | None = None,
    window: float | None = None,
    bootstrap: int = 0,
    block: int = 1,
    seed: int | np.random.Generator | None = None,
) -> OffsetFit:
    """Fit a step at ``x0`` with an independent linear trend on each side; offset in mm.

    Parameters
    ----------
    distance, values
        Profile (any distance units; NaN samples ignored).
    x0
        Crossing distance; if None, the steepest point of the smoothed profile
        (:func:`locate_fault`), refined to the best of the 11 nearest sample midpoints.
    window
        Use only samples within ``window`` of ``x0`` (distance units).
    bootstrap, block, seed
        ``bootstrap`` >= 2 draws of a moving-block residual bootstrap (``block`` samples per
        block, 1 = independent) replace the residual-scatter sigmas; x0 is re-searched in each
        draw when it was not given.
    """
    x, y = clean_xy(distance, values, min_n=5, what="fit_step")
    scale = float(np.ptp(x)) or 1.0
    x0v, beta, A, rss, xw, yw = _step_core(x, y, x0, window, scale)
    n, p = xw.size, 4 + (x0 is None)
    cov = scatter_covariance(A, rss, n, p)
    D = np.diag([1.0, 1.0 / scale, 1.0, 1.0 / scale])  # back to per-distance-unit slopes
    cov = D @ cov @ D
    b = beta * np.diag(D)
    sig = np.sqrt(np.diag(cov))
    off, off_sig = (
        float(b[2] - b[0]),
        float(math.sqrt(max(cov[0, 0] + cov[2, 2] - 2 * cov[0, 2], 0.0))),
    )
    method = "residual scatter"
    if bootstrap:
        fitted = A @ beta

        def refit(yb: np.ndarray) -> np.ndarray | None:
            try:
                _x0b, bb, *_ = _step_core(xw, yb, x0, None, scale)
            except ParameterError:
                return None
            return np.array([bb[2] - bb[0], bb[0], bb[1] / scale, bb[2], bb[3] / scale])

        bs, ok = bootstrap_sigmas(fitted, yw - fitted, refit, n=bootstrap, seed=seed, block=block)
        off_sig, sig = float(bs[0]), bs[1:]
        method = f"bootstrap ({ok} draws, block {block})"
    names = ("a_left", "b_left", "a_right", "b_right")
    params = {k: float(v) for k, v in zip(names, b, strict=True)} | {"x0": x0v}
    sigmas = {k: float(v) for k, v in zip(names, sig, strict=True)} | {"x0": math.nan}
    return OffsetFit(
        "step",
        off,
        off_sig,
        x0v,
        math.nan,
        params,
        sigmas,
        float(math.sqrt(rss / n)),
        int(n),
        method,
        covariance=cov,
    )


def _creep_jac(x: np.ndarray, th: np.ndarray, kind: str, free_x0: bool) -> np.ndarray:
    s, D, x0, _, b = th
    z = (x - x0) / D
    g = 1.0 / (1.0 + z * z) / math.pi
    sgn = 1.0 if kind == "deep" else -1.0
    cols = [_basis(z, kind), -sgn * s * g * z / D]
    if free_x0:
        cols.append(-sgn * s * g / D - b)
    cols += [np.ones_like(x), x - x0]
    return np.column_stack(cols)


def _creep_core(
    x: np.ndarray,
    y: np.ndarray,
    x0: float | None,
    depth: float | None,
    kind: str,
    window: float | None,
) -> tuple[np.ndarray, float, bool, bool, np.ndarray, np.ndarray]:
    """Best (s, D, x0, a, b) by grid search + Levenberg-Marquardt. x in km internally."""
    guess = locate_fault(x, y) if x0 is None else float(x0)
    xw, yw = _window(x, y, guess, window)
    if xw.size < 6:
        raise ParameterError(
            f"fit_creep: needs >= 6 finite samples within the window, got {xw.size}"
        )
    dx = np.diff(xw)
    spacing = float(np.median(dx[dx > 0]))
    span = float(np.ptp(xw))
    if x0 is not None:
        x0c = np.array([float(x0)])
    elif (
        kind == "shallow"
    ):  # sample midpoints, and samples (a bin straddling the trace reads ~mid-step)
        i = int(np.argmin(np.abs(xw - guess)))
        x0c = np.union1d(_midpoints_near(xw, guess, 5), xw[max(0, i - 5) : i + 6])
    else:
        x0c = guess + spacing * np.arange(-6, 7)
    Dc = np.array([depth]) if depth is not None else np.geomspace(0.25 * spacing, 2.0 * span, 40)
    X0, DD = np.meshgrid(x0c, Dc, indexing="ij")
    X0, DD = X0.ravel(), DD.ravel()
    z = (xw[None, :] - X0[:, None]) / DD[:, None]
    A = np.stack((_basis(z, kind), np.ones_like(z), (xw[None, :] - X0[:, None]) / span), axis=-1)
    rss, beta = batched_linear_rss(A, yw)
    g = int(np.argmin(rss))
    if not np.isfinite(rss[g]):
        raise ParameterError(
            "fit_creep: the model is singular for these samples (check x0 and window)"
        )
    th = np.array([beta[g, 0], DD[g], X0[g], beta[g, 1], beta[g, 2] / span])
    free_x0 = x0 is None and kind == "deep"
    free_d = depth is None
    free = np.array([True, free_d, free_x0, True, True])

    def resid(q: np.ndarray) -> np.ndarray:
        t = th.copy()
        t[free] = q
        return creep_curve(xw, s=t[0], depth=t[1], x0=t[2], a=t[3], b=t[4], kind=kind) - yw

    def jac(q: np.ndarray) -> np.ndarray:
        t = th.copy()
        t[free] = q
        J = _creep_jac(xw, t, kind, True)
        return J[:, free]

    sol = least_squares(resid, th[free], jac=jac, method="lm", x_scale="jac")
    t = th.copy()
    t[free] = sol.x
    if t[1] < 0:
        t[0], t[1] = -t[0], -t[1]
    return t, guess, free_x0, free_d, xw, yw


def fit_creep(
    distance: np.ndarray,
    values: np.ndarray,
    *,
    x0: float | None = None,
    kind: str = "shallow",
    depth_km: float | None = None,
    window: float | None = None,
    distance_unit_m: float = 1.0,
    bootstrap: int = 0,
    block: int = 1,
    seed: int | np.random.Generator | None = None,
) -> OffsetFit:
    """Fit a creeping-fault profile: creep/slip ``s`` (mm) and depth ``D`` (km), with 1-sigma.

    Parameters
    ----------
    distance, values
        Profile, distance in units of ``distance_unit_m`` metres (default metres), values mm.
    x0
        Fault crossing; if None it is searched (start: :func:`locate_fault`): over sample
        midpoints for ``kind="shallow"`` (a jump cannot be located between samples), as a
        free continuous parameter for ``kind="deep"``.
    kind
        ``"shallow"`` (slip from the surface to ``D``) or ``"deep"`` (slip below ``D``); see
        module doc.
    depth_km
        Fix ``D`` (km); the fit is then linear in (s, a, b).
    window
        Use only samples within ``window`` (distance units) of x0.
    bootstrap, block, seed
        As :func:`fit_step`.
    """
    if kind not in _CREEP_KINDS:
        raise ParameterError(f"kind must be one of {_CREEP_KINDS}, got {kind!r}")
    if not (np.isfinite(distance_unit_m) and distance_unit_m > 0):
        raise ParameterError(f"distance_unit_m must be > 0, got {distance_unit_m!r}")
    to_km = float(distance_unit_m) / 1000.0
    if depth_km is not None and not (np.isfinite(depth_km) and depth_km > 0):
        raise ParameterError(f"depth_km must be > 0 km, got {depth_km!r}")
    xd, y = clean_xy(distance, values, min_n=6, what="fit_creep")
    x = xd * to_km
    x0k = None if x0 is None else float(x0) * to_km
    win = None if window is None else float(window) * to_km
    th, _, free_x0, free_d, xw, yw = _creep_core(x, y, x0k, depth_km, kind, win)
    J = _creep_jac(xw, th, kind, True)
    free = np.array([True, free_d, free_x0, True, True])
    r = creep_curve(xw, s=th[0], depth=th[1], x0=th[2], a=th[3], b=th[4], kind=kind) - yw
    rss, n = float(r @ r), xw.size
    p = int(free.sum()) + int(x0 is None and kind == "shallow")
    cov_f = scatter_covariance(J[:, free], rss, n, p)
    sig = np.full(5, np.nan)
    sig[free] = np.sqrt(np.clip(np.diag(cov_f), 0, None))
    if free_d and not np.isfinite(sig[1]):
        # D unresolved (e.g. larger than the profile): other parameters conditional on D
        cond = free.copy()
        cond[1] = False
        cov_c = scatter_covariance(J[:, cond], rss, n, p)
        sig[cond] = np.sqrt(np.clip(np.diag(cov_c), 0, None))
        sig[1] = math.inf
    method = "residual scatter"
    if bootstrap:
        fitted = yw + r

        def refit(yb: np.ndarray) -> np.ndarray | None:
            try:
                tb, *_ = _creep_core(xw, yb, x0k, depth_km, kind, None)
            except (ParameterError, np.linalg.LinAlgError):
                return None
            return tb

        bs, ok = bootstrap_sigmas(fitted, -r, refit, n=bootstrap, seed=seed, block=block)
        sig = np.where(free | (np.arange(5) == 2) & (x0 is None), bs, np.nan)
        method = f"bootstrap ({ok} draws, block {block})"
    # back to the caller's distance units (x0, D, b); depth in km
    conv = np.array([1.0, 1.0 / to_km, 1.0 / to_km, 1.0, to_km])
    th_u, sig_u = th * conv, sig * conv
    names = ("s", "D", "x0", "a", "b")
    params = {k: float(v) for k, v in zip(names, th_u, strict=True)}
    sigmas = {k: float(v) for k, v in zip(names, sig_u, strict=True)}
    return OffsetFit(
        "creep",
        float(th[0]),
        float(sig[0]),
        params["x0"],
        sigmas["x0"],
        params,
        sigmas,
        float(math.sqrt(rss / n)),
        int(n),
        method,
        depth_km=float(th[1]),
        depth_sigma_km=float(sig[1]) if free_d else math.nan,
        kind=kind,
        distance_unit_m=float(distance_unit_m),
        covariance=cov_f,
    )


def fit_offset(
    distance: np.ndarray,
    values: np.ndarray,
    *,
    model: str = "step",
    x0: float | None = None,
    kind: str = "shallow",
    depth_km: float | None = None,
    window: float | None = None,
    distance_unit_m: float = 1.0,
    bootstrap: int = 0,
    block: int = 1,
    seed: int | np.random.Generator | None = None,
) -> OffsetFit:
    """The fault offset of one profile at its crossing: the one place a model is chosen.

    ``model="step"`` is :func:`fit_step`, ``"creep"`` :func:`fit_creep` (``kind``, ``depth_km``
    and ``distance_unit_m`` apply to ``creep`` only). Used by ``offset_series`` (every date) and
    the dashboard (the current date), so both fit the same model the same way at the one
    crossing of a line (``locate_crossing``).

    Parameters
    ----------
    distance, values
        Profile: distance along the line in units of ``distance_unit_m`` metres (default
        metres), values mm (LOS, positive toward the satellite); NaN samples ignored.
    x0
        Crossing, distance units; None: the fit searches it (see :func:`fit_step`,
        :func:`fit_creep`).
    depth_km
        ``creep``: fix the depth ``D`` (km); None fits it.
    window
        Use only samples within ``window`` (distance units) of x0.
    bootstrap, block, seed
        As :func:`fit_step`.

    Returns
    -------
    OffsetFit: ``offset_mm`` = far side (larger distance) minus near side, mm, with 1-sigma;
    ``x0`` in distance units.
    """
    if model == "step":
        return fit_step(
            distance, values, x0=x0, window=window, bootstrap=bootstrap, block=block, seed=seed
        )
    if model == "creep":
        return fit_creep(
            distance,
            values,
            x0=x0,
            kind=kind,
            depth_km=depth_km,
            window=window,
            distance_unit_m=distance_unit_m,
            bootstrap=bootstrap,
            block=block,
            seed=seed,
        )
    raise ParameterError(f"model must be one of {OFFSET_MODELS}, got {model!r}")
