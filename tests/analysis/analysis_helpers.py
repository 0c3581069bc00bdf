"""Seeded synthetic arrays with known answers for the analysis tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from insar_ae.datamodel import make_dataset


def grid(
    ny: int = 60, nx: int = 80, pixel: float = 100.0, x0: float = 500_000.0, y0: float = 4_000_000.0
) -> tuple[np.ndarray, np.ndarray]:
    """x increasing, y decreasing (north-up), pixel centres in metres."""
    return x0 + pixel * np.arange(nx), y0 - pixel * np.arange(ny)


def cube_da(
    values: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    units: str = "m",
    start: str = "2020-01-01",
    freq: str = "12D",
) -> xr.DataArray:
    """(time, y, x) or (y, x) DataArray in mm with coordinates and units."""
    dims = ("time", "y", "x") if values.ndim == 3 else ("y", "x")
    coords: dict[str, object] = {"y": ("y", y, {"units": units}), "x": ("x", x, {"units": units})}
    if values.ndim == 3:
        coords["time"] = pd.date_range(start, periods=values.shape[0], freq=freq)
    return xr.DataArray(
        values.astype(np.float32),
        dims=dims,
        coords=coords,
        name="displacement",
        attrs={"units": "mm"},
    )


def fault_dataset(
    seed: int = 0,
    *,
    ny: int = 64,
    nx: int = 64,
    nt: int = 10,
    pixel: float = 100.0,
    slip_per_date: float = 2.0,
    depth_m: float = 500.0,
    noise_mm: float = 0.5,
    strike_point: tuple[float, float] = (0.3, 1.0),
) -> tuple[xr.Dataset, np.ndarray]:
    """Canonical Dataset with a shallow-creep fault along a slanted line; returns (ds, trace).

    The trace runs through the frame centre with direction ``strike_point`` (dx, dy).
    ``deformation`` is the truth plus a little noise, ``noise`` = displacement - deformation.
    """
    rng = np.random.default_rng(seed)
    x, y = grid(ny, nx, pixel)
    cx, cy = x.mean(), y.mean()
    u = np.asarray(strike_point, float) / np.hypot(*strike_point)
    n = np.array([-u[1], u[0]])
    X, Y = np.meshgrid(x, y)
    across = (X - cx) * n[0] + (Y - cy) * n[1]
    z = across / depth_m
    shape = (0.5 * np.pi * np.sign(z) - np.arctan(z)) / np.pi
    t = np.arange(nt, dtype=float)
    truth = slip_per_date * t[:, None, None] * shape[None]
    atmos = rng.normal(0.0, 3.0, truth.shape)
    atmos[0] = 0.0
    defo = truth + rng.normal(0.0, 0.05, truth.shape)
    disp = truth + atmos
    half = 0.5 * pixel * max(nx, ny) * 1.5
    trace = np.array([[cx - half * u[0], cy - half * u[1]], [cx + half * u[0], cy + half * u[1]]])
    ds = make_dataset(
        disp,
        np.zeros((ny, nx)),
        pd.date_range("2020-01-01", periods=nt, freq="12D"),
        y,
        x,
        extra={"deformation_true": truth, "deformation": defo, "noise": disp - defo},
        attrs={"title": "fault test"},
    )
    return ds, trace
