"""Where a profile crosses a fault, and profiles across candidate faults (one policy for all).

The crossing policy (used by the dashboard, notebooks and scripts alike):

1. The crossing ``x0`` is located on the **raw** layer (``displacement``): the steepest point
   of its profile, lightly smoothed (``locate_fault``, sigma 2 bins). A fault offsets the data
   sharply; atmosphere and orbits vary smoothly, so the sharpest gradient of the raw data is
   the fault's. The denoised layer is never the one that decides: where a model misses the
   step, it has no step to find. (A two-sided step fit scanned over positions was tried and
   rejected: its free linear trends let long-wavelength atmosphere pull it kilometres off.)
2. The other data layers (``deformation``; never a truth layer) are located the same way and
   reported; the layers *agree* when all lie within ``tolerance`` (default: one swath width)
   of the raw crossing.
3. A crossing given by the user replaces the located one.
4. Every layer's offset is then fitted at that one ``x0`` (``fit_step(..., x0=...)``).

Candidate-fault profiles (:func:`candidate_profiles`): the few strongest, long, straight
gradient ridges of the raw change between the first and last dates (``fault_candidates``),
each crossed at its middle by a straight line at right angles to the trace's overall
direction, centred on the trace and cut to stay inside the frame.

Units: distances along a profile in the profile's units (dataset units); map coordinates in
the dataset's x/y units (metres or degrees); values in mm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from insar_ae.analysis.detection import fault_candidates
from insar_ae.analysis.geometry import coord_units, metric_scale
from insar_ae.analysis.offsets import locate_fault
from insar_ae.errors import ParameterError

__all__ = ["CandidateProfile", "Crossing", "candidate_profiles", "locate_crossing"]

#: Layers that may locate a crossing, in order of precedence (a truth layer never does).
LOCATING_LAYERS = ("displacement", "deformation")


@dataclass(frozen=True)
class Crossing:
    """A profile's fault crossing (distance units of the profile).

    ``x0``: the crossing used for every layer; ``source``: ``"displacement"`` (located on the
    raw layer), another layer name, or ``"user"``; ``per_layer``: each locating layer's own
    estimate; ``agree``: all of them within ``tolerance`` of ``x0``.
    """

    x0: float
    source: str
    per_layer: dict[str, float] = field(default_factory=dict)
    agree: bool = True
    tolerance: float = math.nan


@dataclass(frozen=True)
class CandidateProfile:
    """A candidate fault trace ((n, 2) x, y) and a straight profile ``line`` ((2, 2) x, y)
    crossing it at right angles at ``crossing`` (x, y); ``rank`` 0 = strongest."""

    trace: np.ndarray
    line: np.ndarray
    crossing: tuple[float, float]
    rank: int


def locate_crossing(
    profile: xr.Dataset,
    *,
    stat: str = "median",
    given: float | None = None,
    tolerance: float | None = None,
) -> Crossing:
    """The fault crossing of a swath profile at one date (see the module doc for the policy).

    Parameters
    ----------
    profile
        ``swath_profile`` output with a ``layer`` dim and no ``time`` dim (one date; the last
        date, where the cumulative signal is largest, is the usual choice).
    stat
        Profile statistic used (``median`` or ``mean``).
    given
        A crossing chosen by the user (distance units): used as is, layers still reported.
    tolerance
        Agreement distance (default: the swath width, ``2 * half_width``), distance units.
    """
    if "layer" not in profile.dims or "time" in profile.dims:
        raise ParameterError("locate_crossing needs a one-date swath_profile with a 'layer' dim")
    names = [str(v) for v in profile["layer"].values]
    layers = [v for v in LOCATING_LAYERS if v in names] or [n for n in names if "true" not in n]
    if not layers:
        raise ParameterError(f"no layer to locate a crossing on among {names}")
    d = np.asarray(profile["distance"].values, dtype=float)
    per_layer: dict[str, float] = {}
    for name in layers:
        try:
            per_layer[name] = locate_fault(
                d, np.asarray(profile[stat].sel(layer=name).values, dtype=float)
            )
        except ParameterError:
            continue
    tol = (
        float(tolerance)
        if tolerance is not None
        else 2.0 * float(profile.attrs.get("half_width", np.nan))
    )
    if given is not None:
        if not np.isfinite(given):
            raise ParameterError(f"given crossing must be finite, got {given!r}")
        x0, source = float(given), "user"
    elif per_layer:
        source = next(iter(per_layer))  # raw first (LOCATING_LAYERS order)
        x0 = per_layer[source]
    else:
        raise ParameterError(
            "locate_crossing: no layer has enough valid samples to locate a crossing"
        )
    agree = bool(np.isfinite(tol)) and all(abs(v - x0) <= tol for v in per_layer.values())
    return Crossing(x0=x0, source=source, per_layer=per_layer, agree=agree, tolerance=tol)


def _principal_direction(pts: np.ndarray) -> np.ndarray:
    c = pts - pts.mean(axis=0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    u = vt[0]
    if np.dot(u, pts[-1] - pts[0]) < 0:
        u = -u
    return u / np.hypot(*u)


def _point_along(pts: np.ndarray, frac: float) -> np.ndarray:
    seg = np.hypot(*np.diff(pts, axis=0).T)
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    s = frac * cum[-1]
    k = int(min(np.searchsorted(cum, s, side="right") - 1, len(seg) - 1))
    return pts[k] + (s - cum[k]) / max(seg[k], 1e-300) * (pts[k + 1] - pts[k])


def _distance_to_polyline(p: np.ndarray, pts: np.ndarray) -> float:
    a, b = pts[:-1], pts[1:]
    ab = b - a
    t = np.clip(
        np.einsum("ij,ij->i", p - a, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-300), 0, 1
    )
    return float(np.min(np.hypot(*(a + t[:, None] * ab - p).T)))


def candidate_profiles(
    ds: xr.Dataset,
    *,
    n: int = 3,
    layer: str = "displacement",
    length: float | None = None,
    min_length: float | None = None,
    **kwargs: object,
) -> list[CandidateProfile]:
    """Profiles across the ``n`` strongest candidate faults, inside the frame, at right angles.

    Parameters
    ----------
    ds
        Canonical Dataset; traces come from ``fault_candidates(ds, layer=layer)`` (default the
        raw displacement: a denoiser that misses a step must not hide the fault).
    n
        At most this many, strongest first; traces within 5 % of the frame of a stronger one
        are skipped (one ridge found twice).
    length
        Profile length in the dataset's units (default: half the smaller frame extent), cut
        symmetrically about the trace so that both ends stay inside the frame.
    min_length
        Least trace length, metres (default 10 % of the smaller frame extent).
    kwargs
        Passed to ``fault_candidates`` (``k``, ``smooth_px``, ``threshold`` ...).
    """
    if n < 1:
        raise ParameterError(f"n must be >= 1, got {n!r}")
    x = np.asarray(ds["x"].values, dtype=float)
    y = np.asarray(ds["y"].values, dtype=float)
    units = coord_units(ds)
    sc = metric_scale(units, float(np.mean(y)) if units.startswith("deg") else 0.0)
    s = np.array([sc.sx, sc.sy])
    lo, hi = np.array([x.min(), y.min()]) * s, np.array([x.max(), y.max()]) * s
    extent_m = float(np.min(hi - lo))
    traces = fault_candidates(
        ds,
        layer=layer,
        max_candidates=50,
        min_length=0.1 * extent_m if min_length is None else float(min_length),
        **kwargs,
    )  # type: ignore[arg-type]
    half = 0.5 * (0.5 * extent_m if length is None else float(length) * sc.unit_m)
    out: list[CandidateProfile] = []
    chosen: list[np.ndarray] = []
    for tr in traces:
        pts = np.asarray(tr, dtype=float) * s
        p = _point_along(pts, 0.5)
        if any(_distance_to_polyline(p, c) < 0.05 * extent_m for c in chosen):
            continue
        u = _principal_direction(pts)
        nrm = np.array([-u[1], u[0]])
        room = []
        for sign in (1.0, -1.0):  # distance from p to the frame's edge along +-nrm
            d = sign * nrm
            with np.errstate(divide="ignore"):
                t = np.where(d > 0, (hi - p) / d, np.where(d < 0, (lo - p) / d, np.inf))
            room.append(float(np.min(t)))
        h = min(half, *room)
        if h < 0.05 * extent_m:  # too close to the edge for a useful profile
            continue
        line = np.vstack((p - h * nrm, p + h * nrm)) / s
        out.append(
            CandidateProfile(
                trace=np.asarray(tr, dtype=float),
                line=line,
                crossing=(float(p[0] / s[0]), float(p[1] / s[1])),
                rank=len(out),
            )
        )
        chosen.append(pts)
        if len(out) >= n:
            break
    return out
