"""Helpers for tests, notebooks and benchmarks: canonical frames with known content.

- :func:`tiny_frame`: a small in-memory frame (numpy), step signal plus white noise.
- :func:`lazy_frame`: a dask-backed frame of any size on the same grid with the same step
  signal, plus every noise component of a synthetic scene; nothing is computed when it is
  built, so a frame far larger than memory costs nothing until a block of it is read
  (out-of-core tests, scaling benchmarks).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from insar_ae.datamodel import make_dataset, validate

__all__ = ["assert_valid", "lazy_frame", "tiny_frame"]

#: Dataset attributes shared by the test frames (besides ``title`` and ``source``).
_ATTRS = {
    "sensor": "synthetic",
    "wavelength_m": 0.05546576,
    "heading_deg": -12.0,
    "incidence_deg": 39.0,
}


def assert_valid(ds: xr.Dataset) -> None:
    """Assert ``ds`` follows the data model (raises ``DataModelError`` with reasons otherwise)."""
    validate(ds)


def _grid(
    n_time: int, ny: int, nx: int, pixel_m: float
) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Dates every 12 days from 2020-01-01; ``y`` southward from 4 500 km, ``x`` eastward from
    500 km, ``pixel_m`` apart."""
    t = pd.date_range("2020-01-01", periods=n_time, freq="12D")
    x = np.arange(nx) * pixel_m + 500_000.0
    y = 4_500_000.0 - np.arange(ny) * pixel_m
    return t, y, x


def _step(n_time: int, x: np.ndarray, step_mm_per_date: float) -> np.ndarray:
    """The known signal, shape ``(n_time, 1, nx)`` float32 mm: a step across ``x = x.mean()``,
    the east side moving toward the satellite by ``step_mm_per_date`` per date."""
    east = (x > x.mean()).astype(np.float32)
    steps = np.arange(n_time, dtype=np.float32)[:, None, None] * np.float32(step_mm_per_date)
    return steps * east[None, None, :]


def tiny_frame(
    seed: int = 0,
    *,
    n_time: int = 12,
    ny: int = 32,
    nx: int = 40,
    pixel_m: float = 100.0,
    step_mm_per_date: float = 1.0,
    noise_mm: float = 0.5,
) -> xr.Dataset:
    """A small seeded canonical frame with a known signal, independent of the generator.

    The truth is a step across the vertical line ``x = x.mean()`` (east side moves toward the
    satellite by ``step_mm_per_date`` per date, west side still), plus white noise of
    ``noise_mm`` RMS. Dates every 12 days from 2020-01-01. Stored as ``deformation_true`` too.
    """
    rng = np.random.default_rng(seed)
    t, y, x = _grid(n_time, ny, nx, pixel_m)
    truth = np.broadcast_to(_step(n_time, x, step_mm_per_date), (n_time, ny, nx)).copy()
    noise = rng.normal(0.0, noise_mm, size=truth.shape).astype(np.float32)
    noise[0] = 0.0
    height = (1000.0 + 5.0 * np.add.outer(np.arange(ny), np.arange(nx))).astype(np.float32)
    ds = make_dataset(
        truth + noise,
        height,
        t,
        y,
        x,
        crs="local",
        extra={"deformation_true": truth},
        attrs={"title": "tiny test frame", "source": "insar_ae.testing.tiny_frame", **_ATTRS},
    )
    return validate(ds)


def lazy_frame(
    seed: int = 0,
    *,
    n_time: int = 12,
    ny: int = 256,
    nx: int = 256,
    chunk: int = 128,
    pixel_m: float = 100.0,
    step_mm_per_date: float = 1.0,
    noise_mm: float = 2.0,
) -> xr.Dataset:
    """A seeded, dask-backed canonical frame with a known signal and its noise components.

    ``deformation_true``: the step of :func:`tiny_frame`, on the same grid. ``turbulent``:
    white noise of ``noise_mm`` RMS. ``stratified``: ``k_t * (height - 1000 m)`` with ``k_t`` ~
    N(0, 2 mm/km) per date. ``ramp``: a plane per date (N(0, 1 mm) per 10 km).
    ``displacement`` is their sum; every component is 0 at the first date (mm, LOS, positive
    toward the satellite). Chunks: all dates x ``chunk`` x ``chunk`` pixels.
    """
    import dask.array as da

    rng = np.random.default_rng(seed)
    t, y, x = _grid(n_time, ny, nx, pixel_m)
    chunks = (n_time, chunk, chunk)
    later = (np.arange(n_time) > 0).astype(np.float32)[:, None, None]
    height = (
        1000.0 + 300.0 * np.sin(np.add.outer(np.arange(ny) / 97.0, np.arange(nx) / 131.0))
    ).astype(np.float32)
    truth = da.broadcast_to(
        da.from_array(_step(n_time, x, step_mm_per_date), chunks=(n_time, 1, chunk)),
        (n_time, ny, nx),
        chunks=chunks,
    )
    turbulent = (
        da.random.default_rng(seed).standard_normal(
            (n_time, ny, nx), chunks=chunks, dtype=np.float32
        )
        * np.float32(noise_mm)
        * later
    )
    k = rng.normal(0.0, 2e-3, n_time).astype(np.float32)[:, None, None] * later
    stratified = da.from_array(height - 1000.0, chunks=(chunk, chunk))[None] * k
    a, b = rng.normal(0.0, 1e-4, (2, n_time)).astype(np.float32)
    shape = (n_time, ny, nx)
    yy = da.broadcast_to(
        da.from_array((y - y.mean()).astype(np.float32)[None, :, None], chunks=(1, chunk, 1)),
        shape,
        chunks=chunks,
    )
    xx = da.broadcast_to(
        da.from_array((x - x.mean()).astype(np.float32)[None, None, :], chunks=(1, 1, chunk)),
        shape,
        chunks=chunks,
    )
    ramp = (a * later[:, 0, 0])[:, None, None] * yy + (b * later[:, 0, 0])[:, None, None] * xx
    parts = {
        "deformation_true": truth,
        "turbulent": turbulent,
        "stratified": stratified,
        "ramp": ramp,
    }
    parts = {k: v.astype(np.float32).rechunk(chunks) for k, v in parts.items()}
    displacement = sum(parts.values())
    ds = make_dataset(
        displacement,
        height,
        t,
        y,
        x,
        crs="local",
        extra=parts,
        attrs={
            "title": f"lazy test frame {ny}x{nx}x{n_time}",
            "source": "insar_ae.testing.lazy_frame",
            **_ATTRS,
            "seed": seed,
        },
    )
    return validate(ds)
