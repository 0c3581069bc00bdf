"""Detection without prior knowledge: significant change map and candidate fault traces.

``detection_map``: the change of a layer (default the denoised ``deformation``) between two
dates, its noise level ``sigma`` estimated from the data themselves, and ``|change| > k sigma``.
``fault_candidates``: lines of high horizontal gradient of the (smoothed) change, thinned by
non-maximum suppression, kept by hysteresis against the noise's own gradient level, ordered
along their longest path and simplified (Douglas-Peucker), returned as (n, 2) x/y polylines in
map coordinates (directly usable by ``swath_profile`` / ``crossing_line``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order

from insar_ae.analysis.geometry import area_selection, coord_units, metric_scale
from insar_ae.errors import ParameterError

__all__ = ["detection_map", "fault_candidates", "robust_std"]

_MAD = 1.482602218505602


def robust_std(a: np.ndarray) -> float:
    """1.4826 x median absolute deviation of the finite values (NaN if none)."""
    v = np.asarray(a, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan
    return float(_MAD * np.median(np.abs(v - np.median(v))))


def _date_index(ds: xr.Dataset, date: object, default: int) -> int:
    if date is None:
        return default % ds.sizes["time"]
    if isinstance(date, (int, np.integer)):
        return int(date) % ds.sizes["time"]
    t = pd.DatetimeIndex(ds["time"].values)
    return int(np.argmin(np.abs(t.asi8 - pd.Timestamp(date).value)))  # type: ignore[arg-type]


def _change(ds: xr.Dataset, name: str, i0: int, i1: int) -> np.ndarray:
    da = ds[name].transpose("time", "y", "x")
    return np.asarray(da.isel(time=i1).values, float) - np.asarray(da.isel(time=i0).values, float)


def _layer(ds: xr.Dataset, layer: str | None) -> str:
    if layer is None:
        return "deformation" if "deformation" in ds else "displacement"
    if layer not in ds:
        raise ParameterError(f"layer {layer!r} not in dataset; available {list(ds.data_vars)}")
    return layer


def _noise_level(
    ds: xr.Dataset,
    name: str,
    change: np.ndarray,
    i0: int,
    i1: int,
    noise_area: dict | None,
    sigma: float | None,
) -> tuple[float, str]:
    if sigma is not None:
        if not (np.isfinite(sigma) and sigma > 0):
            raise ParameterError(f"sigma must be > 0 mm, got {sigma!r}")
        return float(sigma), "given"
    if noise_area is not None:
        ys, xs, mask, _ = area_selection(ds, **noise_area)
        s = robust_std(change[ys, xs][mask])
        if not np.isfinite(s) or s <= 0:
            raise ParameterError(
                f"noise_area {noise_area} holds no valid pixel of {name!r} over the period"
            )
        return s, f"robust std of {name!r} change in noise_area {noise_area}"
    if "noise" in ds:
        s = robust_std(_change(ds, "noise", i0, i1))
        if np.isfinite(s) and s > 0:
            return s, "robust std of the 'noise' layer change (raw noise level, conservative)"
    warnings.warn(
        "no noise layer, noise_area or sigma: the noise level is the robust std of the "
        f"{name!r} change over the whole frame (biased high where the signal is broad)",
        UserWarning,
        stacklevel=3,
    )
    s = robust_std(change)
    if not np.isfinite(s) or s <= 0:
        raise ParameterError(f"cannot estimate a noise level: {name!r} change has no valid spread")
    return s, f"robust std of the {name!r} change over the frame"


def detection_map(
    ds: xr.Dataset,
    *,
    start: object = None,
    end: object = None,
    k: float = 3.0,
    layer: str | None = None,
    noise_area: dict | None = None,
    sigma: float | None = None,
) -> xr.Dataset:
    """Pixels where the change of ``layer`` from ``start`` to ``end`` exceeds ``k`` noise sigmas.

    Parameters
    ----------
    ds
        Canonical Dataset (after ``denoise``: uses ``deformation``; else ``displacement``).
    start, end
        Dates (nearest acquisition) or indices; default first and last dates.
    k
        Threshold in noise sigmas (> 0).
    noise_area
        ``dict(x=, y=, radius= | box=)``, a deformation-free area: sigma = robust std of the
        layer's change there. Otherwise the ``noise`` layer's change (robust std over the
        frame), otherwise (with a warning) the layer's change itself. ``sigma`` (mm) overrides.

    Returns
    -------
    xr.Dataset (y, x): ``change`` (mm, same sign convention), ``snr`` (change / sigma),
    ``detected`` (bool, False on NaN); attrs ``sigma_mm``, ``sigma_source``, ``k``, ``start``,
    ``end``, ``layer``, ``detected_fraction``.
    """
    if not (np.isfinite(k) and k > 0):
        raise ParameterError(f"k must be > 0 (noise sigmas), got {k!r}")
    name = _layer(ds, layer)
    i0, i1 = _date_index(ds, start, 0), _date_index(ds, end, -1)
    if i0 == i1:
        raise ParameterError(f"start and end must be different dates, both are index {i0}")
    ch = _change(ds, name, i0, i1)
    s, source = _noise_level(ds, name, ch, i0, i1, noise_area, sigma)
    snr = ch / s
    det = np.abs(np.nan_to_num(snr, nan=0.0)) > k
    t = pd.DatetimeIndex(ds["time"].values)
    coords = {"y": ds["y"], "x": ds["x"]}
    return xr.Dataset(
        {
            "change": (
                ("y", "x"),
                ch.astype(np.float32),
                {"units": "mm", "positive": "toward the satellite"},
            ),
            "snr": (("y", "x"), snr.astype(np.float32), {"units": "1"}),
            "detected": (("y", "x"), det),
        },
        coords=coords,
        attrs={
            "sigma_mm": s,
            "sigma_source": source,
            "k": float(k),
            "layer": name,
            "start": str(t[i0].date()),
            "end": str(t[i1].date()),
            "detected_fraction": float(det.mean()),
        },
    )


def _nan_gaussian(z: np.ndarray, sigma_px: float) -> tuple[np.ndarray, np.ndarray]:
    m = np.isfinite(z)
    if sigma_px <= 0:
        return np.where(m, z, 0.0), m.astype(float)
    num = ndimage.gaussian_filter(np.where(m, z, 0.0), sigma_px, mode="nearest")
    den = ndimage.gaussian_filter(m.astype(float), sigma_px, mode="nearest")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1e-6, num / den, 0.0), den


def _gradient(
    z: np.ndarray, sigma_px: float, px: float, py: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    zs, w = _nan_gaussian(z, sigma_px)
    gy, gx = np.gradient(zs, abs(py), abs(px))  # along rows / columns (index space), per metre
    g = np.hypot(gx, gy)
    g[w < 0.5] = 0.0
    return g, gx, gy


def _nms(g: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Keep pixels that are maxima of |grad| along the (4-direction quantised) gradient.

    ``gx``/``gy`` are the derivatives along array columns/rows (index space).
    """
    ang = (np.rad2deg(np.arctan2(gy, gx)) + 180.0) % 180.0
    p = np.pad(g, 1, mode="constant")
    keep = np.zeros(g.shape, bool)
    sl = {0: ((1, 0), (1, 2)), 45: ((0, 0), (2, 2)), 90: ((0, 1), (2, 1)), 135: ((0, 2), (2, 0))}
    q = (np.round(ang / 45.0).astype(int) % 4) * 45
    ny, nx = g.shape
    for d, ((a0, a1), (b0, b1)) in sl.items():
        n1 = p[a0 : a0 + ny, a1 : a1 + nx]
        n2 = p[b0 : b0 + ny, b1 : b1 + nx]
        keep |= (q == d) & (g >= n1) & (g >= n2)
    return keep


def _longest_path(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Indices of the pixels on the longest BFS path of an 8-connected pixel set."""
    n = rows.size
    lut = {(int(r), int(c)): i for i, (r, c) in enumerate(zip(rows, cols, strict=True))}
    a, b = [], []
    for i, (r, c) in enumerate(zip(rows, cols, strict=True)):
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                j = lut.get((int(r) + dr, int(c) + dc))
                if j is not None and j != i:
                    a.append(i)
                    b.append(j)
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)).tocsr()
    order, _ = breadth_first_order(graph, 0, directed=False)
    far = int(order[-1])
    order, pred = breadth_first_order(graph, far, directed=False)
    path = [int(order[-1])]
    while pred[path[-1]] >= 0:
        path.append(int(pred[path[-1]]))
    return np.asarray(path)


def _douglas_peucker(pts: np.ndarray, tol: float) -> np.ndarray:
    keep = np.zeros(len(pts), bool)
    keep[[0, -1]] = True
    stack = [(0, len(pts) - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        a, b = pts[i], pts[j]
        d = b - a
        ln = math.hypot(*d)
        seg = pts[i + 1 : j] - a
        dist = (
            np.abs(d[0] * seg[:, 1] - d[1] * seg[:, 0]) / ln
            if ln > 0
            else np.hypot(seg[:, 0], seg[:, 1])
        )
        k = int(np.argmax(dist))
        if dist[k] > tol:
            keep[i + 1 + k] = True
            stack += [(i, i + 1 + k), (i + 1 + k, j)]
    return pts[keep]


def fault_candidates(
    ds: xr.Dataset,
    *,
    start: object = None,
    end: object = None,
    layer: str | None = None,
    k: float = 3.0,
    smooth_px: float = 1.5,
    threshold: float | None = None,
    min_length: float | None = None,
    simplify: float | None = None,
    max_candidates: int = 10,
    min_straightness: float = 0.6,
) -> list[np.ndarray]:
    """Candidate fault traces: ridges of high horizontal gradient of the change of ``layer``.

    Parameters
    ----------
    start, end, layer
        As :func:`detection_map` (default the denoised ``deformation`` from first to last date).
    k
        Ridges need a gradient magnitude as unlikely under noise as a two-sided ``k``-sigma
        Gaussian event: ``s * sqrt(-2 ln erfc(k / sqrt 2))`` (Rayleigh tail), ``s`` the robust std
        of the gradient components of the ``noise`` layer's change smoothed alike (without a
        noise layer, of the layer's own change); ridges grow down to 0.7 of it (hysteresis).
    smooth_px
        Gaussian smoothing (pixels, NaN-aware) before the gradient.
    threshold
        Absolute high threshold in mm/km, overriding the noise-based one.
    min_length, simplify
        Minimum trace length and Douglas-Peucker tolerance, in metres (defaults: 10 and 1 pixels).
    max_candidates
        Return at most this many, strongest first (summed gradient along the trace).
    min_straightness
        Minimum ratio of end-to-end distance to path length (noise ridges meander).

    Returns
    -------
    list of (n, 2) float arrays of (x, y) map coordinates (dataset units), strongest first.
    """
    if not (np.isfinite(k) and k > 0):
        raise ParameterError(f"k must be > 0, got {k!r}")
    if not (np.isfinite(smooth_px) and smooth_px >= 0):
        raise ParameterError(f"smooth_px must be >= 0 pixels, got {smooth_px!r}")
    name = _layer(ds, layer)
    i0, i1 = _date_index(ds, start, 0), _date_index(ds, end, -1)
    xc, yc = np.asarray(ds["x"].values, float), np.asarray(ds["y"].values, float)
    scale = metric_scale(
        coord_units(ds), float(np.mean(yc)) if coord_units(ds).startswith("deg") else 0.0
    )
    px = float(np.median(np.diff(xc))) * scale.sx
    py = float(np.median(np.diff(yc))) * scale.sy
    pix = math.sqrt(abs(px * py))
    g, gx, gy = _gradient(_change(ds, name, i0, i1), smooth_px, px, py)
    if threshold is not None:
        if not (np.isfinite(threshold) and threshold > 0):
            raise ParameterError(f"threshold must be > 0 mm/km, got {threshold!r}")
        hi = float(threshold) / 1000.0
    else:
        ref = _change(ds, "noise", i0, i1) if "noise" in ds else _change(ds, name, i0, i1)
        _, nx_, ny_ = _gradient(ref, smooth_px, px, py)
        s = robust_std(np.concatenate((nx_.ravel(), ny_.ravel())))
        # |grad| of Gaussian noise is Rayleigh(s): take the magnitude with the same tail
        # probability as a two-sided k-sigma Gaussian event
        tail = math.erfc(k / math.sqrt(2.0))
        hi = (
            s * math.sqrt(-2.0 * math.log(tail))
            if np.isfinite(s) and s > 0 and tail > 0
            else np.inf
        )
    lo = 0.7 * hi
    ridge = _nms(g, gx, gy) & (g >= lo)
    lab, nlab = ndimage.label(ridge, structure=np.ones((3, 3), bool))
    if nlab == 0:
        return []
    strong = np.zeros(nlab + 1, bool)
    strong[np.unique(lab[ridge & (g >= hi)])] = True
    strong[0] = False
    min_len = 10.0 * pix if min_length is None else float(min_length)
    tol = pix if simplify is None else float(simplify)
    found: list[tuple[float, np.ndarray]] = []
    objs = ndimage.find_objects(lab)
    for li in np.nonzero(strong)[0]:
        sl = objs[li - 1]
        rr, cc = np.nonzero(lab[sl] == li)
        rr, cc = rr + sl[0].start, cc + sl[1].start
        if rr.size < 3:
            continue
        path = _longest_path(rr, cc)
        pr, pc = rr[path], cc[path]
        pts_m = np.column_stack((pc * px, pr * py))
        length = float(np.hypot(*np.diff(pts_m, axis=0).T).sum())
        if length < min_len or np.hypot(*(pts_m[-1] - pts_m[0])) < min_straightness * length:
            continue
        simp = _douglas_peucker(pts_m, tol)
        line = np.column_stack(
            (
                np.interp(simp[:, 0] / px, np.arange(xc.size), xc),
                np.interp(simp[:, 1] / py, np.arange(yc.size), yc),
            )
        )
        found.append((float(g[pr, pc].sum()), line))
    found.sort(key=lambda t: -t[0])
    return [ln for _, ln in found[: int(max_candidates)]]
