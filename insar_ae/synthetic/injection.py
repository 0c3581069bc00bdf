"""Injection tests: add a known synthetic creeping fault to a real (or any) canonical frame.

``inject_creep(ds, step_mm)`` adds the LOS displacement of a vertical strike-slip fault creeping
steadily from the surface to ``locking_depth_m`` and crossing the whole frame through its
centre. The fault's final cross-fault step (LOS, positive toward the satellite) is ``step_mm``
at the last date and grows linearly in time from 0 at the first date. What a denoiser returns
for ``inject_creep(ds)`` minus what it returns for ``ds`` is then compared with the injected
signal: the real data's own noise is the noise (bench/real_noise.py).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from insar_ae.datamodel import validate
from insar_ae.errors import ParameterError
from insar_ae.synthetic.los import project_los
from insar_ae.synthetic.okada import fault_displacement

__all__ = ["inject_creep", "metric_grid"]

_EARTH_M_PER_DEG = 111_320.0


def metric_grid(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(east, north) metres of every pixel relative to the frame centre, (y, x) arrays.

    Geographic frames (``x`` in degrees) use a local equirectangular approximation."""
    x = np.asarray(ds["x"].values, dtype=float)
    y = np.asarray(ds["y"].values, dtype=float)
    xc, yc = 0.5 * (x[0] + x[-1]), 0.5 * (y[0] + y[-1])
    if str(ds["x"].attrs.get("units", "")).startswith("deg"):
        east = (x - xc) * _EARTH_M_PER_DEG * np.cos(np.radians(yc))
        north = (y - yc) * _EARTH_M_PER_DEG
    else:
        east, north = x - xc, y - yc
    return np.meshgrid(east, north)


def inject_creep(
    ds: xr.Dataset,
    step_mm: float = 5.0,
    *,
    strike_deg: float = 30.0,
    locking_depth_m: float = 2000.0,
    heading_deg: float | None = None,
    incidence_deg: float | None = None,
) -> tuple[xr.Dataset, xr.DataArray]:
    """``(ds + creep, creep)``: a copy of ``ds`` with a creeping fault added, and the creep.

    ``step_mm`` is the final LOS step across the fault (max minus min of the last date's
    creep map), reached linearly in time; the creep is 0 at the first date and NaN where
    ``ds['displacement']`` is NaN. Heading/incidence default to the frame's attrs (else
    Sentinel-1-like -12 deg / 39 deg). The input is not modified.
    """
    if not np.isfinite(step_mm) or step_mm <= 0:
        raise ParameterError(f"step_mm={step_mm!r} must be a positive number of millimetres")
    east, north = metric_grid(ds)
    extent = float(max(np.ptp(east), np.ptp(north)))
    heading = float(ds.attrs.get("heading_deg", -12.0) if heading_deg is None else heading_deg)
    incidence = float(
        ds.attrs.get("incidence_deg", 39.0) if incidence_deg is None else incidence_deg
    )
    if not 5.0 <= incidence <= 70.0:
        incidence = 39.0
    ue, un, uu = fault_displacement(
        east,
        north,
        x0_m=0.0,
        y0_m=0.0,
        strike_deg=strike_deg,
        dip_deg=90.0,
        top_depth_m=0.0,
        length_m=10.0 * extent,
        width_m=float(locking_depth_m),
        rake_deg=0.0,
        slip_m=1.0,
    )
    los = np.asarray(project_los(ue, un, uu, heading, incidence), dtype=float)
    los *= step_mm / float(np.ptp(los))
    days = (ds["time"].values - ds["time"].values[0]) / np.timedelta64(1, "D")
    frac = days / days[-1]
    cube = (frac[:, None, None] * los[None]).astype(np.float32)
    disp = ds["displacement"]
    cube = np.where(np.isfinite(disp.values), cube, np.float32(np.nan))
    creep = xr.DataArray(
        cube,
        dims=disp.dims,
        coords=disp.coords,
        attrs={
            "units": "mm",
            "long_name": "injected creep",
            "positive": "toward the satellite",
            "step_mm": float(step_mm),
        },
    )
    out = ds.copy()
    out["displacement"] = (disp + creep.fillna(0.0)).astype(np.float32).assign_attrs(disp.attrs)
    return validate(out), creep
