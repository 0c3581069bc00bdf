"""Dask-backed synthetic frames of any size, for out-of-core tests and scaling benchmarks.

Nothing is computed when a frame is built: every cube is a lazy, seeded dask array, so a frame
far larger than memory costs nothing until a block of it is read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from insar_ae.datamodel import make_dataset, validate

__all__ = ["lazy_frame"]


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

    ``deformation_true``: a step across ``x = x.mean()`` (east side moves toward the satellite
    by ``step_mm_per_date`` per date). ``turbulent``: white noise of ``noise_mm`` RMS.
    ``stratified``: ``k_t * (height - 1000 m)`` with ``k_t`` ~ N(0, 2 mm/km) per date.
    ``ramp``: a plane per date (N(0, 1 mm) per 10 km). ``displacement`` is their sum; every
    component is 0 at the first date (mm, LOS, positive toward the satellite). Dates every 12
    days from 2020-01-01. Chunks: all dates x ``chunk`` x ``chunk`` pixels.
    """
    import dask.array as da

    rng = np.random.default_rng(seed)
    t = pd.date_range("2020-01-01", periods=n_time, freq="12D")
    x = np.arange(nx) * pixel_m + 500_000.0
    y = 4_500_000.0 - np.arange(ny) * pixel_m
    chunks = (n_time, chunk, chunk)
    later = (np.arange(n_time) > 0).astype(np.float32)[:, None, None]
    height = (
        1000.0 + 300.0 * np.sin(np.add.outer(np.arange(ny) / 97.0, np.arange(nx) / 131.0))
    ).astype(np.float32)
    east = (x > x.mean()).astype(np.float32)
    steps = np.arange(n_time, dtype=np.float32)[:, None, None] * np.float32(step_mm_per_date)
    truth = da.broadcast_to(
        da.from_array(steps * east[None, None, :], chunks=(n_time, 1, chunk)),
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
            "source": "insar_ae.distributed.testing.lazy_frame",
            "sensor": "synthetic",
            "wavelength_m": 0.05546576,
            "heading_deg": -12.0,
            "incidence_deg": 39.0,
            "seed": seed,
        },
    )
    return validate(ds)
