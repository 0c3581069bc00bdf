"""Map geometry helpers: local metric scale, areas around a point, swath samples along a polyline.

A public module (it was ``_geometry.py`` until issue 15): the other analysis modules import its
functions, and ``crossing_line`` is re-exported by :mod:`insar_ae.analysis`.

All distances are handled internally in **metres** in a local tangent frame. When the dataset's
``x``/``y`` coordinates are in degrees (longitude/latitude), they are converted with the local
WGS84 scale at a reference latitude (the line's mean latitude, or the point's latitude):
``metres per degree of latitude = M * pi / 180`` and ``of longitude = N * cos(lat) * pi / 180``
(``M``, ``N``: meridional and prime-vertical radii of curvature). Lengths *given* in degrees
(a swath half-width, a radius, a bin size) are degrees of arc on the local Gaussian sphere,
``1 deg = sqrt(M N) * pi / 180`` metres (~111.2 km), and lengths *returned* for a degree
dataset are in those same arc degrees (plus a metre version where useful).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr

from insar_ae.errors import ParameterError

__all__ = [
    "MetricScale",
    "SwathGeometry",
    "area_selection",
    "as_polyline",
    "coord_units",
    "crossing_line",
    "metric_scale",
    "pixel_size_m",
    "positive_length",
    "swath_geometry",
]

_WGS84_A = 6_378_137.0
_WGS84_F = 1.0 / 298.257223563
_WGS84_E2 = _WGS84_F * (2.0 - _WGS84_F)
_DEGREE_UNITS = {"degrees", "degree", "deg", "degrees_east", "degrees_north"}


@dataclass(frozen=True)
class MetricScale:
    """Conversion of coordinate units to metres.

    ``sx``/``sy``: metres per unit of ``x``/``y``; ``unit_m``: metres per unit of a length given
    in the dataset's units (1 for metres; the local arc-degree for degrees).
    """

    sx: float
    sy: float
    unit_m: float
    degrees: bool
    units: str


def coord_units(obj: xr.Dataset | xr.DataArray) -> str:
    """Units of the ``x`` coordinate (``"m"`` when absent)."""
    return str(obj["x"].attrs.get("units", "m")).lower() if "x" in obj.coords else "m"


def metric_scale(units: str, lat_deg: float = 0.0) -> MetricScale:
    """Metres per coordinate unit; for degrees, the WGS84 local scale at ``lat_deg``."""
    u = str(units).lower()
    if u not in _DEGREE_UNITS:
        return MetricScale(1.0, 1.0, 1.0, False, u)
    if not np.isfinite(lat_deg) or abs(lat_deg) > 90.0:
        raise ParameterError(
            f"latitude for the metric scale must be within [-90, 90] deg, got {lat_deg}"
        )
    phi = math.radians(lat_deg)
    w = 1.0 - _WGS84_E2 * math.sin(phi) ** 2
    m_rad = _WGS84_A * (1.0 - _WGS84_E2) / w**1.5
    n_rad = _WGS84_A / math.sqrt(w)
    k = math.pi / 180.0
    return MetricScale(n_rad * math.cos(phi) * k, m_rad * k, math.sqrt(m_rad * n_rad) * k, True, u)


def pixel_size_m(obj: xr.Dataset | xr.DataArray, scale: MetricScale) -> float:
    """Geometric mean of the |x| and |y| pixel spacings, in metres."""
    dx = np.abs(np.diff(np.asarray(obj["x"].values, dtype=float)))
    dy = np.abs(np.diff(np.asarray(obj["y"].values, dtype=float)))
    px = float(np.median(dx)) * scale.sx if dx.size else 1.0
    py = float(np.median(dy)) * scale.sy if dy.size else px
    return math.sqrt(px * py) if dx.size and dy.size else max(px, py)


def positive_length(value: float, name: str, *, allow_zero: bool = False) -> float:
    """Validate a length parameter (finite, > 0, or >= 0 with ``allow_zero``)."""
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a number, got {value!r}") from exc
    ok = np.isfinite(v) and (v >= 0.0 if allow_zero else v > 0.0)
    if not ok:
        rng = ">= 0" if allow_zero else "> 0"
        raise ParameterError(
            f"{name} must be finite and {rng} (in the dataset's x/y units), got {value!r}"
        )
    return v


def _index_range(c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index ranges [start, stop) of the monotonic coordinate ``c`` lying in [lo, hi] (vectorised)."""
    if c.size > 1 and c[0] > c[-1]:
        rc = c[::-1]
        s = np.searchsorted(rc, lo, side="left")
        e = np.searchsorted(rc, hi, side="right")
        return c.size - e, c.size - s
    return np.searchsorted(c, lo, side="left"), np.searchsorted(c, hi, side="right")


def area_selection(
    obj: xr.Dataset | xr.DataArray,
    *,
    x: float,
    y: float,
    radius: float | None = None,
    box: float | tuple[float, float] | None = None,
) -> tuple[slice, slice, np.ndarray, MetricScale]:
    """Pixels of a circle (``radius``) or box (``box`` half sides) around map point (x, y).

    ``radius=0`` (or both ``None``) selects the nearest pixel. Lengths are in the dataset's
    units (metres, or arc degrees for a degree dataset). Returns (y slice, x slice, boolean
    mask of the window, scale). Raises ``ParameterError`` for a point outside the frame or an
    area that contains no pixel centre.
    """
    xc = np.asarray(obj["x"].values, dtype=float)
    yc = np.asarray(obj["y"].values, dtype=float)
    xf, yf = float(x), float(y)
    if not (np.isfinite(xf) and np.isfinite(yf)):
        raise ParameterError(f"reference point x, y must be finite, got x={x!r}, y={y!r}")
    scale = metric_scale(coord_units(obj), yf if coord_units(obj) in _DEGREE_UNITS else 0.0)
    half_x = 0.5 * float(np.median(np.abs(np.diff(xc)))) if xc.size > 1 else 0.0
    half_y = 0.5 * float(np.median(np.abs(np.diff(yc)))) if yc.size > 1 else 0.0
    if not (
        xc.min() - half_x <= xf <= xc.max() + half_x
        and yc.min() - half_y <= yf <= yc.max() + half_y
    ):
        raise ParameterError(
            f"point x={xf}, y={yf} lies outside the frame x in [{xc.min()}, {xc.max()}], "
            f"y in [{yc.min()}, {yc.max()}]"
        )
    if radius is not None and box is not None:
        raise ParameterError(
            f"give either radius or box, not both (radius={radius!r}, box={box!r})"
        )
    if box is None and (radius is None or float(radius) == 0.0):
        iy, ix = int(np.argmin(np.abs(yc - yf))), int(np.argmin(np.abs(xc - xf)))
        return slice(iy, iy + 1), slice(ix, ix + 1), np.ones((1, 1), bool), scale
    if box is not None:
        bx, by = (box, box) if np.ndim(box) == 0 else tuple(box)  # type: ignore[misc]
        hx = positive_length(bx, "box (half side along x)") * scale.unit_m / scale.sx
        hy = positive_length(by, "box (half side along y)") * scale.unit_m / scale.sy
    else:
        r = positive_length(radius, "radius", allow_zero=True)  # type: ignore[arg-type]
        hx, hy = r * scale.unit_m / scale.sx, r * scale.unit_m / scale.sy
    x0, x1 = _index_range(xc, np.array(xf - hx), np.array(xf + hx))
    y0, y1 = _index_range(yc, np.array(yf - hy), np.array(yf + hy))
    xs, ys = slice(int(x0), int(x1)), slice(int(y0), int(y1))
    if box is not None:
        mask = np.ones((ys.stop - ys.start, xs.stop - xs.start), bool)
    else:
        dxm = (xc[xs] - xf) * scale.sx
        dym = (yc[ys] - yf) * scale.sy
        rm = float(radius) * scale.unit_m  # type: ignore[arg-type]
        mask = dym[:, None] ** 2 + dxm[None, :] ** 2 <= rm * rm * (1 + 1e-12)
    if mask.size == 0 or not mask.any():
        raise ParameterError(
            f"the area around x={xf}, y={yf} (radius={radius!r}, box={box!r}) contains no pixel "
            "centre; enlarge it or use a point reference"
        )
    return ys, xs, mask, scale


@dataclass(frozen=True)
class SwathGeometry:
    """Pixels inside a swath: indices, along-line distance and signed across distance (metres).

    ``across`` is positive on the LEFT of the line when walking from its first to its last vertex.
    """

    iy: np.ndarray
    ix: np.ndarray
    along_m: np.ndarray
    across_m: np.ndarray
    length_m: float
    vertices_m: np.ndarray
    scale: MetricScale


def as_polyline(line: object) -> np.ndarray:
    """Validate a polyline: (n >= 2, 2) finite x/y map coordinates, consecutive duplicates removed."""
    arr = np.asarray(line, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 2:
        raise ParameterError(
            f"line must be an (n >= 2, 2) array of x, y map coordinates, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ParameterError("line vertices must be finite x, y coordinates")
    keep = np.ones(len(arr), bool)
    keep[1:] = np.any(np.diff(arr, axis=0) != 0.0, axis=1)
    arr = arr[keep]
    if arr.shape[0] < 2:
        raise ParameterError("line has zero length (all vertices coincide)")
    return arr


def _row_intervals(corners: np.ndarray, yrows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x-interval of a convex polygon (corners (k, 2), in order) on horizontal lines ``yrows``."""
    lo = np.full(yrows.shape, np.inf)
    hi = np.full(yrows.shape, -np.inf)
    k = len(corners)
    for i in range(k):
        (px, py), (qx, qy) = corners[i], corners[(i + 1) % k]
        if py == qy:
            on = yrows == py
            lo = np.where(on, np.minimum(lo, min(px, qx)), lo)
            hi = np.where(on, np.maximum(hi, max(px, qx)), hi)
            continue
        inside = (yrows - py) * (yrows - qy) <= 0.0
        xi = px + (yrows - py) * (qx - px) / (qy - py)
        lo = np.where(inside, np.minimum(lo, xi), lo)
        hi = np.where(inside, np.maximum(hi, xi), hi)
    return lo, hi


def swath_geometry(
    xc: np.ndarray, yc: np.ndarray, line: np.ndarray, half_width_m: float, scale: MetricScale
) -> SwathGeometry:
    """Pixels whose centre lies within ``half_width_m`` of the polyline (not beyond its ends).

    Only pixels inside each segment's buffered rectangle are visited (row-wise index
    arithmetic on the monotonic grid), so the cost scales with the swath area, not the frame.
    Each pixel is assigned to its nearest segment; on the outer side of a bend the pixels in
    the wedge take the vertex's along-distance.
    """
    ox, oy = line[0]
    v = np.column_stack(((line[:, 0] - ox) * scale.sx, (line[:, 1] - oy) * scale.sy))
    X = (np.asarray(xc, float) - ox) * scale.sx
    Y = (np.asarray(yc, float) - oy) * scale.sy
    seg = np.diff(v, axis=0)
    seg_len = np.hypot(seg[:, 0], seg[:, 1])
    cum = np.concatenate(([0.0], np.cumsum(seg_len)))
    hw = float(half_width_m)
    nseg = len(seg)
    parts: list[tuple[np.ndarray, ...]] = []
    for k in range(nseg):
        a, L = v[k], seg_len[k]
        u = seg[k] / L
        n = np.array([-u[1], u[0]])
        corners = np.array(
            [
                a - hw * u - hw * n,
                a + (L + hw) * u - hw * n,
                a + (L + hw) * u + hw * n,
                a - hw * u + hw * n,
            ]
        )
        r0, r1 = _index_range(Y, np.array(corners[:, 1].min()), np.array(corners[:, 1].max()))
        rows = np.arange(int(r0), int(r1))
        if rows.size == 0:
            continue
        lo, hi = _row_intervals(corners, Y[rows])
        ok = lo <= hi
        rows, lo, hi = rows[ok], lo[ok], hi[ok]
        c0, c1 = _index_range(X, lo, hi)
        cnt = np.maximum(c1 - c0, 0)
        tot = int(cnt.sum())
        if tot == 0:
            continue
        iy = np.repeat(rows, cnt)
        starts = np.repeat(c0 - np.concatenate(([0], np.cumsum(cnt)[:-1])), cnt)
        ix = starts + np.arange(tot)
        rx, ry = X[ix] - a[0], Y[iy] - a[1]
        t = rx * u[0] + ry * u[1]
        perp = rx * n[0] + ry * n[1]
        tc = np.clip(t, 0.0, L)
        dist = np.hypot(t - tc, perp)
        if k == 0:
            dist = np.where(t < 0.0, np.inf, dist)
        if k == nseg - 1:
            dist = np.where(t > L, np.inf, dist)
        keep = dist <= hw
        across = np.where(perp < 0.0, -dist, dist)
        parts.append((iy[keep], ix[keep], cum[k] + tc[keep], across[keep], dist[keep]))
    if not parts:
        e = np.array([], dtype=np.intp)
        f = np.array([], dtype=float)
        return SwathGeometry(e, e, f, f, float(cum[-1]), v, scale)
    iy, ix, along, across, dist = (np.concatenate(p) for p in zip(*parts, strict=True))
    if nseg > 1:
        flat = iy.astype(np.int64) * X.size + ix
        order = np.lexsort((dist, flat))
        first = np.ones(order.size, bool)
        first[1:] = flat[order][1:] != flat[order][:-1]
        sel = order[first]
        iy, ix, along, across = iy[sel], ix[sel], along[sel], across[sel]
    return SwathGeometry(
        iy.astype(np.intp), ix.astype(np.intp), along, across, float(cum[-1]), v, scale
    )


def crossing_line(trace: object, *, length: float, at: float = 0.5) -> np.ndarray:
    """A 2-vertex line of total ``length`` crossing a polyline ``trace`` perpendicularly.

    ``at`` is the fraction of the trace's length where it crosses (0 = first vertex). Lengths
    are in the trace's map units (metres; for degree coordinates the crossing is computed in
    the plane of the coordinates, good for short lines). The crossing line runs from the
    trace's right side to its left side (walking along the trace), so a profile along it has
    positive distance increasing toward the trace's left.
    """
    tr = as_polyline(trace)
    ln = positive_length(length, "length")
    if not 0.0 <= float(at) <= 1.0:
        raise ParameterError(f"at must be a fraction in [0, 1], got {at!r}")
    seg = np.diff(tr, axis=0)
    sl = np.hypot(seg[:, 0], seg[:, 1])
    cum = np.concatenate(([0.0], np.cumsum(sl)))
    s = float(at) * cum[-1]
    k = int(min(np.searchsorted(cum, s, side="right") - 1, len(seg) - 1))
    u = seg[k] / sl[k]
    p = tr[k] + (s - cum[k]) * u
    n = np.array([-u[1], u[0]])
    return np.vstack((p - 0.5 * ln * n, p + 0.5 * ln * n))
