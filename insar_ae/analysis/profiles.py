"""Swath profiles along polylines and point/area time series, on native-resolution data.

Sign convention: values keep the data's (mm, LOS positive toward the satellite). Along-line
distance starts at 0 at the first vertex; the signed across-line distance is positive on the
LEFT of the line when walking from its first to its last vertex.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import xarray as xr

from insar_ae.analysis._binning import BinIndex, binned_stats
from insar_ae.analysis.geometry import (
    area_selection,
    as_polyline,
    coord_units,
    metric_scale,
    pixel_size_m,
    positive_length,
    swath_geometry,
)
from insar_ae.datamodel import CUBE_VARS
from insar_ae.errors import ParameterError

__all__ = ["default_layers", "point_timeseries", "swath_profile", "valid_pixel_near"]

#: layers profiled by default when a Dataset is given (those present, in this order)
DEFAULT_LAYERS: tuple[str, ...] = ("displacement", "deformation", "deformation_true")
STAT_VARS: tuple[str, ...] = ("median", "mean", "p25", "p75", "count")


def default_layers(ds: xr.Dataset, layers: Sequence[str] | str | None = None) -> list[str]:
    """Validate/choose the mm layers of ``ds`` to analyse (default: raw, denoised, truth present)."""
    if isinstance(layers, str):
        layers = [layers]
    if layers is None:
        chosen = [v for v in DEFAULT_LAYERS if v in ds]
        if not chosen:
            chosen = [v for v in CUBE_VARS if v in ds]
    else:
        chosen = list(layers)
        missing = [v for v in chosen if v not in ds]
        if missing:
            raise ParameterError(
                f"layers {missing} not in the dataset; available: {list(ds.data_vars)}"
            )
    bad = [v for v in chosen if not {"y", "x"} <= set(ds[v].dims)]
    if bad or not chosen:
        raise ParameterError(
            f"layers must be (time, y, x) or (y, x) variables, got {chosen or 'none'}"
        )
    return chosen


def _gather(da: xr.DataArray, iy: np.ndarray, ix: np.ndarray) -> np.ndarray:
    """Values at pixels (iy, ix): array (..., n) with the non-spatial dims of ``da`` first."""
    da = da.transpose(..., "y", "x")
    if isinstance(da.data, np.ndarray):
        arr = da.data
        if arr.flags.c_contiguous:
            flat = iy.astype(np.int64) * arr.shape[-1] + ix
            return np.take(arr.reshape(*arr.shape[:-2], -1), flat, axis=-1)
        return arr[..., iy, ix]
    sub = da.isel(y=xr.DataArray(iy, dims="sample"), x=xr.DataArray(ix, dims="sample"))
    return np.asarray(sub.transpose(..., "sample").values)


def swath_profile(
    da: xr.DataArray | xr.Dataset,
    line: Sequence[Sequence[float]] | np.ndarray,
    *,
    half_width: float,
    bin_size: float | None = None,
    layers: Sequence[str] | str | None = None,
    samples: bool = False,
    threads: int | None = None,
) -> xr.Dataset:
    """Swath profile along a polyline: per-bin median, mean, 25/75 percentiles and count.

    Parameters
    ----------
    da
        A DataArray with dims (y, x) or (time, y, x) [mm], or a Dataset: then the ``layers``
        (default: ``displacement``, ``deformation``, ``deformation_true`` where present) are
        profiled together along a new leading dim ``layer`` (a single name as a string: no
        ``layer`` dim).
    line
        (n >= 2, 2) vertices in map coordinates (x, y), in the dataset's units.
    half_width
        Swath half-width, > 0, in the dataset's x/y units: metres, or arc degrees for a
        degree dataset (converted with the local WGS84 scale at the line's mean latitude).
    bin_size
        Bin length along the line in the same units (default: the pixel size).
    samples
        Also return the samples' values (``sample_value``, dims (..., sample)).
    threads
        Threads used for the per-bin sort (default: available CPUs, at most 4).

    Returns
    -------
    xr.Dataset
        Vars ``median``, ``mean``, ``p25``, ``p75`` (float32, units of the data) and ``count``
        (int32, finite samples per bin) with dims ([layer,] [time,] distance); bins with no
        valid sample (outside the frame, NaN areas) have count 0 and NaN statistics.
        Coordinate ``distance`` (bin centres, from the first vertex, in the dataset's units) and
        ``distance_m`` (metres). Per sample (dim ``sample``): ``sample_distance`` (along),
        ``sample_across`` (signed, positive left of the line), ``sample_x``, ``sample_y``.
        attrs: ``line_x``, ``line_y``, ``half_width``, ``bin_size``, ``units``,
        ``metres_per_unit``, ``length``.
    """
    if isinstance(da, xr.Dataset) and isinstance(layers, str):
        return swath_profile(
            da[default_layers(da, layers)[0]],
            line,
            half_width=half_width,
            bin_size=bin_size,
            samples=samples,
            threads=threads,
        )
    verts = as_polyline(line)
    hw = positive_length(half_width, "half_width")
    units = coord_units(da)
    scale = metric_scale(units, float(np.mean(verts[:, 1])))
    hw_m = hw * scale.unit_m
    bs_m = (
        pixel_size_m(da, scale)
        if bin_size is None
        else positive_length(bin_size, "bin_size") * scale.unit_m
    )
    xc = np.asarray(da["x"].values, dtype=float)
    yc = np.asarray(da["y"].values, dtype=float)
    geo = swath_geometry(xc, yc, verts, hw_m, scale)
    n_bins = max(1, math.ceil(geo.length_m / bs_m - 1e-9))
    order = np.lexsort((geo.ix, geo.iy))  # row-major: cache-friendly gathers
    iy, ix = geo.iy[order], geo.ix[order]
    along, across = geo.along_m[order], geo.across_m[order]
    idx = BinIndex(np.minimum((along / bs_m).astype(np.intp), n_bins - 1), n_bins)

    if isinstance(da, xr.Dataset):
        names = default_layers(da, layers)
        arrays = [da[v] for v in names]
        ref = arrays[0]
        if any(a.dims != ref.dims for a in arrays):
            raise ParameterError(f"layers {names} must share dims, got {[a.dims for a in arrays]}")
        values = np.stack([_gather(a, iy, ix) for a in arrays])
        lead_dims: tuple[str, ...] = ("layer", *[d for d in ref.transpose(..., "y", "x").dims[:-2]])
        out_attrs = dict(ref.attrs)
    else:
        if not {"y", "x"} <= set(da.dims):
            raise ParameterError(f"da must have dims (y, x) or (time, y, x), got {da.dims}")
        names = None
        values = _gather(da, iy, ix)
        lead_dims = tuple(d for d in da.transpose(..., "y", "x").dims[:-2])
        ref = da
        out_attrs = dict(da.attrs)

    stats = binned_stats(values, idx, threads=threads)
    centres_m = (np.arange(n_bins) + 0.5) * bs_m
    coords: dict[str, object] = {
        "distance": (
            "distance",
            centres_m / scale.unit_m,
            {"units": units, "long_name": "distance along line"},
        ),
        "distance_m": ("distance", centres_m, {"units": "m", "long_name": "distance along line"}),
    }
    for d in lead_dims:
        if d == "layer":
            coords["layer"] = ("layer", list(names or []))
        elif d in ref.coords:
            coords[d] = ref[d].values
    dims = (*lead_dims, "distance")
    vunits = out_attrs.get("units", "mm")
    data_vars: dict[str, object] = {
        k: (dims, stats[k], {"units": vunits if k != "count" else "1"}) for k in STAT_VARS
    }
    data_vars["sample_distance"] = ("sample", along / scale.unit_m, {"units": units})
    data_vars["sample_across"] = (
        "sample",
        across / scale.unit_m,
        {"units": units, "positive": "left of the line"},
    )
    data_vars["sample_x"] = ("sample", xc[ix], {"units": units})
    data_vars["sample_y"] = ("sample", yc[iy], {"units": units})
    if samples:
        data_vars["sample_value"] = (
            (*lead_dims, "sample"),
            values.astype(np.float32, copy=False),
            {"units": vunits},
        )
    attrs = {
        "line_x": verts[:, 0].tolist(),
        "line_y": verts[:, 1].tolist(),
        "half_width": hw,
        "bin_size": bs_m / scale.unit_m,
        "units": units,
        "metres_per_unit": scale.unit_m,
        "length": geo.length_m / scale.unit_m,
        "across_sign": "positive left of the line (walking first -> last vertex)",
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def point_timeseries(
    da: xr.DataArray | xr.Dataset,
    *,
    x: float,
    y: float,
    radius: float = 0.0,
    box: float | tuple[float, float] | None = None,
    stat: str = "mean",
    layers: Sequence[str] | str | None = None,
) -> xr.DataArray | xr.Dataset:
    """Time series at a point: nearest pixel (``radius=0``) or NaN-aware mean/median in an area.

    Parameters
    ----------
    da
        (time, y, x) DataArray [mm], or a Dataset (then one variable per layer, default
        ``displacement``, ``deformation``, ``deformation_true`` present).
    x, y
        Map coordinates of the point (dataset units).
    radius, box
        Circle radius, or box half sides (scalar or (half_x, half_y)), in the dataset's units
        (metres; arc degrees for degree datasets). ``radius=0`` and no box: nearest pixel.
    stat
        ``"mean"`` or ``"median"`` over the valid pixels of the area at each date.

    Returns
    -------
    DataArray (time) [mm] with coordinate ``n_valid`` (valid pixels used per date; 0 gives NaN)
    and attrs ``x``, ``y``, ``radius``/``box``, ``stat``. For a Dataset, a Dataset of them whose
    counts are named ``n_valid_<layer>`` (layers may differ in their NaN patterns).
    """
    if stat not in ("mean", "median"):
        raise ParameterError(f"stat must be 'mean' or 'median', got {stat!r}")
    if box is not None and radius == 0.0:
        radius = None  # type: ignore[assignment]
    ys, xs, mask, _ = area_selection(da, x=x, y=y, radius=radius, box=box)
    if isinstance(da, xr.Dataset):
        names = default_layers(da, layers)
        # layers may have different NaN patterns: each keeps its own count, n_valid_<layer>
        return xr.Dataset(
            {
                v: point_timeseries(da[v], x=x, y=y, radius=radius, box=box, stat=stat).rename(
                    n_valid=f"n_valid_{v}"
                )
                for v in names
            },
            attrs={"x": float(x), "y": float(y), "stat": stat},
        )
    if "time" not in da.dims:
        raise ParameterError(f"da must have a 'time' dim for a time series, got dims {da.dims}")
    sub = da.isel(y=ys, x=xs).transpose("time", "y", "x").values
    vals = sub[:, mask]
    n_valid = np.isfinite(vals).sum(axis=1)
    reduce = np.nanmean if stat == "mean" else np.nanmedian
    out = np.full(vals.shape[0], np.nan, dtype=np.float64)
    ok = n_valid > 0
    if ok.any():
        out[ok] = reduce(vals[ok], axis=1)
    attrs = dict(da.attrs)
    attrs.update({"x": float(x), "y": float(y), "stat": stat, "n_pixels": int(mask.sum())})
    if box is not None:
        attrs["box"] = list(np.broadcast_to(np.asarray(box, float), (2,)))
    else:
        attrs["radius"] = float(radius or 0.0)
    return xr.DataArray(
        out.astype(np.float32),
        dims=("time",),
        coords={"time": da["time"].values, "n_valid": ("time", n_valid.astype(np.int32))},
        name=da.name,
        attrs=attrs,
    )


def valid_pixel_near(
    ds: xr.Dataset, *, x: float | None = None, y: float | None = None, layer: str = "displacement"
) -> tuple[float, float]:
    """(x, y) of the valid pixel nearest (x, y) (default: the frame centre), in pixel steps.

    Valid: ``mask`` True where a mask exists and ``layer`` finite at the last date. Falls back
    to the point itself when the frame has no valid pixel at all.
    """
    xs = np.asarray(ds["x"].values, dtype=float)
    ys = np.asarray(ds["y"].values, dtype=float)
    cx = xs[xs.size // 2] if x is None else float(x)
    cy = ys[ys.size // 2] if y is None else float(y)
    da = ds[layer].transpose("time", "y", "x") if "time" in ds[layer].dims else ds[layer]
    last = da.isel(time=-1) if "time" in da.dims else da
    ok = np.isfinite(np.asarray(last.values, dtype=float))
    if "mask" in ds:
        ok &= np.asarray(ds["mask"].transpose("y", "x").values, dtype=bool)
    if not ok.any():
        return (float(cx), float(cy))
    i0 = int(np.argmin(np.abs(ys - cy)))
    j0 = int(np.argmin(np.abs(xs - cx)))
    rows, cols = np.nonzero(ok)
    k = int(np.argmin((rows - i0) ** 2 + (cols - j0) ** 2))
    return (float(xs[cols[k]]), float(ys[rows[k]]))
