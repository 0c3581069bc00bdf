"""``denoise(ds) -> ds``: run the Denoiser over a whole frame, tile by tile, window by window.

Order of work: for each T-date window (lazily loaded, one window-stack in memory), the frame is
cut into overlapping tiles, tiles are batched through the model and blended back
(``tiling.blend_weights``), and the window's estimate is folded into an
``IncrementStitcher``. Peak memory: the output cube, one window of frames, one batch of tiles.

NaN handling: a date's NaN pixels are zero-filled and flagged invalid (mask channel) for every
window containing that date; the output is NaN exactly where the input displacement is NaN
(or +-inf, which is treated as NaN with a warning), where ``height`` is not finite, or where the
optional ``mask`` is False. A NaN never spreads to valid neighbours.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import threading
import warnings
from collections.abc import Callable

import numpy as np
import torch
import xarray as xr

from insar_ae.datamodel import OUTPUT_ATTRS, output_attrs, validate
from insar_ae.errors import Cancelled, DataModelError, ParameterError
from insar_ae.model.denoisers import Denoiser, SeriesDenoiser
from insar_ae.model.devices import autocast_context, resolve_device
from insar_ae.model.options import DenoiseOptions, merge
from insar_ae.model.temporal_basis import date_weights, legendre_basis
from insar_ae.model.tiling import (
    IncrementStitcher,
    blend_weights,
    tile_origins,
    window_starts,
)

__all__ = [
    "Cancelled",
    "DenoiseOptions",
    "denoise",
]  # Cancelled is defined in insar_ae.errors, re-exported here

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]


def denoise(
    ds: xr.Dataset,
    options: DenoiseOptions | None = None,
    *,
    model: Denoiser | SeriesDenoiser | str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    **overrides: object,
) -> xr.Dataset:
    """Estimate the deformation of every date of ``ds``; return ``ds`` + ``deformation``, ``noise``.

    Parameters
    ----------
    ds
        Canonical Dataset (``insar_ae.datamodel``): ``displacement`` (time, y, x) mm, LOS,
        positive toward the satellite, relative to the first date; ``height`` (y, x) m. At least
        the model's ``min_dates`` dates (T = 9 for a window model), any frame size; numpy- or
        dask-backed (read one window at a time).
    options
        :class:`DenoiseOptions` (weights, device, tile / overlap in pixels, batch size, time
        stride); None for the defaults. Frames smaller than a tile are reflect-padded and
        cropped; ``time_stride`` applies to window models only (the last window always ends
        on the last date).
    model
        A loaded :class:`SeriesDenoiser` / :class:`Denoiser` (used instead of
        ``options.model``), or a registry name / weights path (replaces ``options.model``).
    progress
        ``progress(fraction, message)`` called after every batch.
    cancel
        When set, the next batch raises :class:`Cancelled`.
    **overrides
        Fields of :class:`DenoiseOptions` replacing those of ``options`` (``tile=64``,
        ``device="cpu"``, ...); an unknown name raises ParameterError.

    Returns
    -------
    xarray.Dataset
        A new Dataset (inputs untouched) with ``deformation`` (mm, same convention, 0 at the
        first date) and ``noise = displacement - deformation``.
    """
    opts = merge(options, **overrides)
    if isinstance(model, str | os.PathLike):
        opts, model = opts.replace(model=model), None
    validate(ds)
    tile, overlap, batch_size = opts.tile, opts.overlap, opts.batch_size
    dev = resolve_device(opts.device)
    net = _with_symmetries(_prepare_model(opts.model if model is None else model, dev), opts)
    if isinstance(net, SeriesDenoiser):
        return _denoise_series(ds, net, dev, tile, overlap, batch_size, progress, cancel)
    T = net.T
    disp = ds["displacement"]
    n = disp.sizes["time"]
    if n < T:
        raise ParameterError(
            f"ds has {n} dates; denoise needs at least T={T} consecutive dates "
            "(the model's window); no padding in time is attempted"
        )
    starts = window_starts(n, T, opts.time_stride)
    h, w = disp.sizes["y"], disp.sizes["x"]
    dem = np.asarray(ds["height"].values, dtype=np.float32)
    static_valid = np.isfinite(dem)
    if "mask" in ds:
        static_valid &= np.asarray(ds["mask"].values, dtype=bool)
    origins = tile_origins((max(h, tile), max(w, tile)), tile, overlap)
    n_batches = -(-len(origins) // batch_size)
    total = len(starts) * n_batches
    stitcher = IncrementStitcher(n, (h, w), T)
    finite = np.zeros((n, h, w), dtype=bool)
    frames: dict[int, np.ndarray] = {}
    done = 0
    for wi, k in enumerate(starts):
        for i in range(k, k + T):
            if i not in frames:
                frames[i] = _load_date(disp, i, ds)
                finite[i] = np.isfinite(frames[i])
        for i in [i for i in frames if i < k]:
            del frames[i]
        slab = np.stack([frames[i] for i in range(k, k + T)]) - frames[k]
        acc = None
        for bi, est_part in enumerate(
            _run_tiles(
                net, slab, dem, static_valid, origins, tile, overlap, batch_size, dev, cancel
            )
        ):
            acc = est_part
            done += 1
            if progress is not None:
                progress(
                    done / total, f"window {wi + 1}/{len(starts)}, tile batch {bi + 1}/{n_batches}"
                )
        stitcher.add(k, acc)
    deformation = stitcher.result()
    deformation[~(finite & static_valid)] = np.nan
    return _assemble(ds, deformation, net, tile, overlap, opts.time_stride)


def _static_valid(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """DEM (float32, m) and the static validity (finite DEM and the optional mask)."""
    dem = np.asarray(ds["height"].values, dtype=np.float32)
    valid = np.isfinite(dem)
    if "mask" in ds:
        valid &= np.asarray(ds["mask"].values, dtype=bool)
    return dem, valid


def _denoise_series(
    ds: xr.Dataset,
    net: SeriesDenoiser,
    dev: torch.device,
    tile: int,
    overlap: int,
    batch_size: int,
    progress: Progress | None,
    cancel: threading.Event | None,
) -> xr.Dataset:
    """The series model: every date of every tile at once, tiles blended in space."""
    disp = ds["displacement"]
    n = disp.sizes["time"]
    if n < net.min_dates:
        raise ParameterError(f"ds has {n} dates; the series model needs at least {net.min_dates}")
    h, w = disp.sizes["y"], disp.sizes["x"]
    dem, static_valid = _static_valid(ds)
    days = (ds["time"].values - ds["time"].values[0]) / np.timedelta64(1, "D")
    days_t = torch.as_tensor(days.astype(np.float64), device=dev)
    cube = np.empty((n, h, w), dtype=np.float32)
    for i in range(n):
        cube[i] = _load_date(disp, i, ds)
    finite = np.isfinite(cube)
    cube_p, dem_p, valid_p = _pad_to(cube, tile), _pad_to(dem, tile), _pad_to(static_valid, tile)
    hp, wp = cube_p.shape[-2:]
    origins = tile_origins((hp, wp), tile, overlap)
    wgt = blend_weights(tile, overlap)
    date_w = (
        _frame_date_weights(net, cube, finite & static_valid, days_t)
        if net.date_weighting
        else None
    )
    acc = np.zeros((n, hp, wp), dtype=np.float32)
    wsum = np.zeros((hp, wp), dtype=np.float32)
    n_batches = -(-len(origins) // batch_size)
    for bi, b0 in enumerate(range(0, len(origins), batch_size)):
        if cancel is not None and cancel.is_set():
            raise Cancelled("denoise cancelled by the caller")
        batch = origins[b0 : b0 + batch_size]
        ser = np.stack([cube_p[:, y : y + tile, x : x + tile] for y, x in batch])
        dm = np.stack([dem_p[y : y + tile, x : x + tile] for y, x in batch])
        mk = np.stack([valid_p[y : y + tile, x : x + tile] for y, x in batch])
        with torch.inference_mode(), autocast_context(dev):
            out = net(
                torch.from_numpy(ser).to(dev),
                torch.from_numpy(dm).to(dev),
                torch.from_numpy(mk).to(dev),
                days_t,
                date_w,
            )
        out = out.float().cpu().numpy()
        for (y, x), o in zip(batch, out, strict=True):
            acc[:, y : y + tile, x : x + tile] += o * wgt
            wsum[y : y + tile, x : x + tile] += wgt
        if progress is not None:
            progress((bi + 1) / n_batches, f"tile batch {bi + 1}/{n_batches} (all {n} dates)")
    deformation = (acc / wsum)[:, :h, :w]
    deformation[~(finite & static_valid)] = np.nan
    return _assemble(ds, deformation, net, tile, overlap, 1)


def _frame_date_weights(
    net: SeriesDenoiser,
    cube: np.ndarray,
    valid: np.ndarray,
    days: torch.Tensor,
    max_pixels: int = 65536,
) -> torch.Tensor:
    """Per-date projection weights (N,) from the whole frame (``temporal_basis.date_weights``
    on a regular subsample of at most ~``max_pixels`` pixels), shared by every tile."""
    h, w = cube.shape[-2:]
    stride = max(1, math.ceil(math.sqrt(h * w / max_pixels)))
    sub = torch.from_numpy(np.ascontiguousarray(cube[:, ::stride, ::stride]))[None]
    ok = torch.from_numpy(np.ascontiguousarray(valid[:, ::stride, ::stride]))[None]
    basis = legendre_basis(days.cpu(), net.K)
    return date_weights(torch.nan_to_num(sub), ok, basis, stride=1)[0].to(days.device)


def _prepare_model(
    model: Denoiser | SeriesDenoiser | str, dev: torch.device
) -> Denoiser | SeriesDenoiser:
    from insar_ae.model.weights import load_model

    if isinstance(model, str):
        return load_model(model, device=dev)
    if not isinstance(model, Denoiser | SeriesDenoiser):
        raise ParameterError(
            f"model must be a Denoiser/SeriesDenoiser, a weights name/path or None, "
            f"got {type(model).__name__}"
        )
    current = next(model.parameters()).device
    if current != dev and not (current.type == dev.type and dev.index is None):
        model = copy.deepcopy(model).to(dev)  # never move the caller's module
    return model


def _with_symmetries(
    net: Denoiser | SeriesDenoiser, opts: DenoiseOptions
) -> Denoiser | SeriesDenoiser:
    """``net`` averaging ``opts.symmetries`` passes (a copy when that changes it: the caller's
    module is never modified); ``None`` keeps the weights' own."""
    if opts.symmetries is None:
        return net
    if not isinstance(net, SeriesDenoiser):
        raise ParameterError(
            f"symmetries={opts.symmetries} applies to series models only; "
            f"{getattr(net, 'weights_name', 'this model')!r} is a window model"
        )
    if net.tta != opts.symmetries:
        net = copy.deepcopy(net)
        net.tta = opts.symmetries
    return net


def _load_date(disp: xr.DataArray, i: int, ds: xr.Dataset) -> np.ndarray:
    a = np.asarray(disp.isel(time=i).values, dtype=np.float32)
    if np.isinf(a).any():
        warnings.warn(
            f"displacement at date index {i} has {int(np.isinf(a).sum())} infinite "
            "values; treated as NaN (no data)",
            RuntimeWarning,
            stacklevel=3,
        )
        a = np.where(np.isinf(a), np.float32(np.nan), a)
    if not np.isfinite(a).any():
        date = str(ds["time"].values[i])[:10]
        raise DataModelError(
            f"displacement at date {date} (index {i}) is all NaN; drop that "
            f"date (ds.drop_isel(time=[{i}])) before denoising"
        )
    return a


def _pad_to(a: np.ndarray, tile: int) -> np.ndarray:
    ph, pw = max(0, tile - a.shape[-2]), max(0, tile - a.shape[-1])
    if not (ph or pw):
        return a
    pad = [(0, 0)] * (a.ndim - 2) + [(0, ph), (0, pw)]
    return np.pad(a, pad, mode="reflect" if a.dtype != bool else "symmetric")


def _run_tiles(
    net: Denoiser,
    slab: np.ndarray,
    dem: np.ndarray,
    valid: np.ndarray,
    origins: list[tuple[int, int]],
    tile: int,
    overlap: int,
    batch_size: int,
    dev: torch.device,
    cancel: threading.Event | None,
):
    """Yield after every batch; the last yield is the blended (T, H, W) window estimate."""
    t, h, w = slab.shape
    slab_p, dem_p, valid_p = _pad_to(slab, tile), _pad_to(dem, tile), _pad_to(valid, tile)
    hp, wp = slab_p.shape[-2:]
    wgt = blend_weights(tile, overlap)
    acc = np.zeros((t, hp, wp), dtype=np.float32)
    wsum = np.zeros((hp, wp), dtype=np.float32)
    for b0 in range(0, len(origins), batch_size):
        if cancel is not None and cancel.is_set():
            raise Cancelled("denoise cancelled by the caller")
        batch = origins[b0 : b0 + batch_size]
        win = np.stack([slab_p[:, y : y + tile, x : x + tile] for y, x in batch])
        dm = np.stack([dem_p[y : y + tile, x : x + tile] for y, x in batch])
        mk = np.stack([valid_p[y : y + tile, x : x + tile] for y, x in batch])
        with torch.inference_mode(), autocast_context(dev):
            out = net(
                torch.from_numpy(win).to(dev),
                torch.from_numpy(dm).to(dev),
                torch.from_numpy(mk).to(dev),
            )
        out = out.float().cpu().numpy()
        for (y, x), o in zip(batch, out, strict=True):
            acc[:, y : y + tile, x : x + tile] += o * wgt
            wsum[y : y + tile, x : x + tile] += wgt
        yield None if b0 + batch_size < len(origins) else (acc / wsum)[:, :h, :w]


def _assemble(
    ds: xr.Dataset,
    deformation: np.ndarray,
    net: Denoiser,
    tile: int,
    overlap: int,
    time_stride: int,
) -> xr.Dataset:
    disp = ds["displacement"]
    attrs = {
        **OUTPUT_ATTRS["deformation"],
        "reference_date": str(ds["time"].values[0])[:10],
        "model": str(getattr(net, "weights_name", "custom")),
        "model_sha256": str(getattr(net, "weights_sha256", "")),
        "tile": tile,
        "overlap": overlap,
        "time_stride": time_stride,
    }
    if isinstance(net, SeriesDenoiser):
        attrs["symmetries"] = int(net.tta)
    deform = xr.DataArray(deformation, dims=disp.dims, coords=disp.coords, attrs=attrs)
    noise = (disp - deform).astype(np.float32)
    noise.attrs = output_attrs("noise")
    out = ds.copy()
    out["deformation"] = deform
    out["noise"] = noise
    return validate(out)
