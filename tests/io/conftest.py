"""Fixtures for the I/O tests (file builders live in io_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from io_helpers import NX, NY, write_mintpy_geometry, write_mintpy_ts


@pytest.fixture()
def mintpy_dir(tmp_path: Path) -> Path:
    """A MintPy folder: timeseries.h5 + geometryGeo.h5 (+ maskTempCoh.h5)."""
    write_mintpy_ts(tmp_path / "timeseries.h5")
    write_mintpy_geometry(tmp_path / "geometryGeo.h5")
    mask = np.ones((NY, NX), dtype=bool)
    mask[0, 0] = False
    with h5py.File(tmp_path / "maskTempCoh.h5", "w") as f:
        f.create_dataset("mask", data=mask)
        f.attrs.update(FILE_TYPE="mask", LENGTH=str(NY), WIDTH=str(NX))
    return tmp_path
