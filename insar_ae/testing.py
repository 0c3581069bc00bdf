"""Helpers for tests and notebooks: small canonical frames with known content."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from insar_ae.datamodel import make_dataset, validate

__all__ = ["assert_valid", "tiny_frame"]


def assert_valid(ds: xr.Dataset) -> None:
    """Assert ``ds`` follows the data model (raises ``DataModelError`` with reasons otherwise)."""
    validate(ds)


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
    t = pd.date_range("2020-01-01", periods=n_time, freq="12D")
    x = np.arange(nx) * pixel_m + 500_000.0
    y = 4_500_000.0 - np.arange(ny) * pixel_m
    east = (x > x.mean()).astype(np.float32)
    truth = (
        np.arange(n_time, dtype=np.float32)[:, None, None] * step_mm_per_date * east[None, None, :]
    )
    truth = np.broadcast_to(truth, (n_time, ny, nx)).copy()
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
        attrs={
            "title": "tiny test frame",
            "source": "insar_ae.testing.tiny_frame",
            "sensor": "synthetic",
            "wavelength_m": 0.05546576,
            "heading_deg": -12.0,
            "incidence_deg": 39.0,
        },
    )
    return validate(ds)
