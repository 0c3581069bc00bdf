"""Checks made before a frame is denoised, so that a run that cannot give a useful result stops
in one line *before* any computing (used by ``insar-ae denoise`` and the block-wise runs).

- :func:`check_height`: the model needs the DEM; an all-NaN ``height`` would give an all-NaN
  deformation cube.
- :func:`empty_dates`, :func:`drop_dates`: dates without any finite displacement, and removing
  dates (re-referenced to the new first date when the first one goes).
- :func:`check_memory`: an in-memory run of a frame far larger than the machine's memory is
  refused with the size and the ``--block`` alternative.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import xarray as xr

from insar_ae.datamodel import CUBE_VARS, validate
from insar_ae.errors import DataModelError, ParameterError

__all__ = ["IN_MEMORY_FACTOR", "check_height", "check_memory", "drop_dates", "empty_dates"]

#: Bytes an in-memory ``denoise`` holds per input cube byte (input, deformation, noise, the
#: stitcher's float64 sums and a few window buffers): a generous estimate.
IN_MEMORY_FACTOR: float = 6.0


def check_height(
    ds: xr.Dataset, *, hint: str = "pass the DEM (Python: geometry=/height=/dem=)"
) -> None:
    """DataModelError when ``height`` holds no finite value on the valid pixels.

    The model takes the DEM as an input channel and returns NaN where it is not finite, so such
    a frame would come back 100 % NaN. ``hint`` says how to give the DEM (CLI: ``--geometry``).
    """
    h = np.asarray(ds["height"].values)
    valid = np.isfinite(h)
    if "mask" in ds:
        valid &= np.asarray(ds["mask"].values, dtype=bool)
    if not valid.any():
        src = ds.attrs.get("source", "the input")
        raise DataModelError(
            f"{src}: height (DEM, m) is NaN on every valid pixel (for MintPy: no geometryGeo.h5 "
            "was found or given); the model needs the DEM and would return an all-NaN "
            f"deformation — {hint}"
        )


def empty_dates(ds: xr.Dataset) -> list[str]:
    """Dates (YYYY-MM-DD) on which ``displacement`` has no finite value (reads the cube)."""
    finite = np.isfinite(ds["displacement"]).any(dim=("y", "x"))
    keep = np.asarray(finite.values, dtype=bool)
    return [
        f"{pd.Timestamp(t):%Y-%m-%d}"
        for t, ok in zip(ds["time"].values, keep, strict=True)
        if not ok
    ]


def drop_dates(ds: xr.Dataset, dates: Iterable[str]) -> xr.Dataset:
    """``ds`` without ``dates`` (YYYY-MM-DD or YYYYMMDD); ParameterError for a date not in it.

    When the first date is dropped, every (time, y, x) cube is re-referenced to the new first
    date (the data model wants 0 there).
    """
    wanted = [str(d).strip() for d in dates if str(d).strip()]
    if not wanted:
        return ds
    times = pd.DatetimeIndex(ds["time"].values)
    drop = []
    for d in wanted:
        try:
            when = pd.Timestamp(d)
        except (ValueError, TypeError):
            raise ParameterError(
                f"--drop-dates: {d!r} is not a date; expected YYYY-MM-DD"
            ) from None
        if when not in times:
            raise ParameterError(
                f"--drop-dates: {d} is not an acquisition date of the frame "
                f"({times[0]:%Y-%m-%d} .. {times[-1]:%Y-%m-%d}, {len(times)} dates)"
            )
        drop.append(when)
    first_dropped = times[0] in drop
    out = ds.drop_sel(time=drop)
    if out.sizes["time"] == 0:
        raise ParameterError("--drop-dates removes every date of the frame")
    if first_dropped:
        for name in CUBE_VARS:
            if name in out:
                out[name] = (out[name] - out[name].isel(time=0)).assign_attrs(out[name].attrs)
        out.attrs["reference_date"] = f"{pd.Timestamp(out['time'].values[0]):%Y-%m-%d}"
    return validate(out)


def check_memory(
    ds: xr.Dataset,
    *,
    available: int | None = None,
    hint: str = "use --block N to stream it block by block to a .zarr output",
) -> None:
    """ParameterError when denoising ``ds`` in memory would need more than ``available`` bytes
    (default: what the machine has free now, from psutil)."""
    cube = int(np.prod([ds.sizes[d] for d in ("time", "y", "x")], dtype=np.float64)) * 4
    need = cube * IN_MEMORY_FACTOR
    if available is None:
        import psutil

        available = int(psutil.virtual_memory().available)
    if need > available:
        shape = " x ".join(str(ds.sizes[d]) for d in ("time", "y", "x"))
        raise ParameterError(
            f"the frame is {shape} ({cube / 1e9:.3g} GB per float32 cube); denoising it in "
            f"memory needs about {need / 1e9:.3g} GB but {available / 1e9:.3g} GB is available "
            f"— {hint}"
        )
