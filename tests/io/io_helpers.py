"""Builders of small native-format files (written with h5py directly, not with our writers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

DATES = pd.date_range("2021-01-01", periods=6, freq="12D")
NY, NX = 10, 12
X_FIRST, Y_FIRST, STEP = 30.0, 40.0, 0.01  # degrees, outer corner of the first pixel


def known_cube_mm(ny: int = NY, nx: int = NX, nt: int = len(DATES)) -> np.ndarray:
    """Known signal: row r, col c, date k -> k * (c - r) / 2 mm (0 on the first date)."""
    k = np.arange(nt, dtype=np.float32)[:, None, None]
    r = np.arange(ny, dtype=np.float32)[None, :, None]
    c = np.arange(nx, dtype=np.float32)[None, None, :]
    return (k * (c - r) / 2).astype(np.float32)


def write_mintpy_ts(
    path: Path,
    *,
    cube_m: np.ndarray | None = None,
    dates: Any = None,
    attrs: dict[str, Any] | None = None,
    geocoded: bool = True,
) -> Path:
    cube_m = known_cube_mm() / 1000.0 if cube_m is None else cube_m
    nt, ny, nx = cube_m.shape
    dates = [f"{d:%Y%m%d}" for d in DATES[:nt]] if dates is None else dates
    a = {
        "FILE_TYPE": "timeseries",
        "UNIT": "m",
        "LENGTH": str(ny),
        "WIDTH": str(nx),
        "REF_DATE": dates[0],
        "REF_Y": "2",
        "REF_X": "3",
        "WAVELENGTH": "0.0555",
        "HEADING": "-12.0",
        "ORBIT_DIRECTION": "ASCENDING",
        "PLATFORM": "Sen",
    }
    if geocoded:
        a.update(
            X_FIRST=str(X_FIRST),
            Y_FIRST=str(Y_FIRST),
            X_STEP=str(STEP),
            Y_STEP=str(-STEP),
            X_UNIT="degrees",
            Y_UNIT="degrees",
            EPSG="4326",
        )
    a.update(attrs or {})
    with h5py.File(path, "w") as f:
        f.create_dataset("timeseries", data=np.asarray(cube_m, dtype=np.float32))
        f.create_dataset("date", data=np.array(dates, dtype="S"))
        f.attrs.update({k: v for k, v in a.items() if v is not None})
    return path


def write_mintpy_geometry(
    path: Path,
    *,
    shape: tuple[int, int] = (NY, NX),
    radar: bool = False,
    incidence: float | None = 38.0,
    azimuth: float | None = 102.0,
) -> Path:
    ny, nx = shape
    with h5py.File(path, "w") as g:
        g.create_dataset("height", data=np.arange(ny * nx, dtype=np.float32).reshape(ny, nx) + 100)
        if incidence is not None:
            g.create_dataset("incidenceAngle", data=np.full(shape, incidence, dtype=np.float32))
        if azimuth is not None:
            g.create_dataset("azimuthAngle", data=np.full(shape, azimuth, dtype=np.float32))
        if radar:
            lat, lon = np.meshgrid(
                np.linspace(40, 39.9, ny), np.linspace(30, 30.1, nx), indexing="ij"
            )
            g.create_dataset("latitude", data=lat.astype(np.float32))
            g.create_dataset("longitude", data=lon.astype(np.float32))
        g.attrs.update(FILE_TYPE="geometry", LENGTH=str(ny), WIDTH=str(nx))
    return path


def write_licsbas_cum(
    path: Path,
    *,
    cube_mm: np.ndarray | None = None,
    imdates: Any = None,
    refarea: Any = b"3:4/2:3",
    geocoded: bool = True,
    hgt: bool = True,
    enu: tuple[float, float, float] | None = None,
) -> Path:
    cube_mm = known_cube_mm() if cube_mm is None else cube_mm
    nt, ny, nx = cube_mm.shape
    imdates = (
        np.array([int(f"{d:%Y%m%d}") for d in DATES[:nt]], dtype=np.int32)
        if imdates is None
        else imdates
    )
    with h5py.File(path, "w") as f:
        f.create_dataset("cum", data=cube_mm.astype(np.float32))
        f.create_dataset("imdates", data=imdates)
        if refarea is not None:
            f.create_dataset("refarea", data=refarea)
        if geocoded:
            f.create_dataset("corner_lat", data=Y_FIRST - STEP / 2)
            f.create_dataset("corner_lon", data=X_FIRST + STEP / 2)
            f.create_dataset("post_lat", data=-STEP)
            f.create_dataset("post_lon", data=STEP)
        if hgt:
            f.create_dataset("hgt", data=np.arange(ny * nx, dtype=np.float32).reshape(ny, nx) + 100)
        if enu is not None:
            for name, v in zip(("E.geo", "N.geo", "U.geo"), enu, strict=True):
                f.create_dataset(name, data=np.full((ny, nx), v, dtype=np.float32))
    return path
