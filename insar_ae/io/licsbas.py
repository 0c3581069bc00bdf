"""LiCSBAS ``cum.h5`` / ``cum_filt.h5`` reader.

LiCSBAS layout (``LiCSBAS13_sb_inv.py``, ``LiCSBAS16_filt_ts.py``): ``cum`` float32
(date, row, col) in **mm**, LOS **positive toward the satellite** ("LOS decrease; uplift"),
first date 0; ``imdates`` int ``YYYYMMDD``; geocoded files have scalar ``corner_lat``,
``corner_lon`` = **centre** of the first pixel (GAMMA grid registration) and ``post_lat`` < 0,
``post_lon`` > 0; ``refarea`` = ``"x1:x2/y1:y2"`` (0-based, end-exclusive pixel ranges, bytes or
str); optional ``bperp``, ``hgt`` (m), ``E.geo``/``N.geo``/``U.geo`` (ground-to-satellite LOS
unit vector). Beside it, in ``TS_GEOCml*/``: ``results/hgt`` and ``results/mask`` (raw
little-endian float32 (rows, cols); mask 1 = valid, 0/NaN = masked), and in the sibling
``GEOCml*/``: ``hgt``, ``slc.mli.par`` (``radar_frequency``, ``sensor``), ``[ENU].geo``.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import xarray as xr

from insar_ae.datamodel import make_dataset
from insar_ae.errors import FormatError
from insar_ae.io._common import (
    check_claimed_size,
    check_shape,
    finish,
    format_point,
    sensor_name,
    want_lazy,
)
from insar_ae.io._dates import parse_dates
from insar_ae.io._h5 import dataset_array, open_h5, read_scalar

__all__ = ["is_licsbas", "read_licsbas"]

SPEED_OF_LIGHT = 299_792_458.0  # m/s


def is_licsbas(h5: h5py.File) -> bool:
    """True for a LiCSBAS cumulative-displacement file (``cum`` and ``imdates`` datasets)."""
    return isinstance(h5.get("cum"), h5py.Dataset) and "imdates" in h5


def _geoc_dirs(ts_dir: Path) -> list[Path]:
    """``GEOCml*`` directories that go with a ``TS_GEOCml*`` directory (best match first)."""
    out: list[Path] = []
    if ts_dir.name.startswith("TS_"):
        out.append(ts_dir.parent / ts_dir.name[3:])
    out += sorted(p for p in ts_dir.parent.glob("GEOCml*") if p.is_dir() and p not in out)
    return [p for p in out if p.is_dir()]


def read_raw_float32(path: Path, shape: tuple[int, int], *, what: str) -> np.ndarray:
    """A LiCSBAS raw float32 image (rows, cols); FormatError if its size does not fit ``shape``."""
    size, want = path.stat().st_size, 4 * shape[0] * shape[1]
    if size != want:
        raise FormatError(
            f"{path}: {what} has {size} bytes but a float32 {shape[0]}x{shape[1]} "
            f"image needs {want} bytes; expected the same grid as the time series"
        )
    return np.fromfile(path, dtype="<f4").reshape(shape)


def _read_par(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text(errors="replace").splitlines():
        if ":" in line:
            key, _, value = line.partition(":")
            out[key.strip()] = value.strip()
    return out


def _parse_refarea(text: str, shape: tuple[int, int], *, source: str) -> tuple[int, int, int, int]:
    m = re.fullmatch(r"\s*(\d+):(\d+)/(\d+):(\d+)\s*", text)
    if not m:
        raise FormatError(
            f"{source}: refarea = {text!r} does not parse; expected 'x1:x2/y1:y2' "
            "(0-based, end-exclusive pixel ranges)"
        )
    x1, x2, y1, y2 = (int(v) for v in m.groups())
    if not (0 <= x1 < x2 <= shape[1] and 0 <= y1 < y2 <= shape[0]):
        raise FormatError(
            f"{source}: refarea = {text!r} lies outside the {shape[0]}x{shape[1]} grid"
        )
    return x1, x2, y1, y2


def _height(
    path: Path, f: h5py.File, shape: tuple[int, int], given: Any
) -> tuple[np.ndarray | None, str]:
    """Height from ``given``, ``hgt`` in the file, results/hgt, cum.h5 beside, GEOCml*/hgt."""
    if given is False:
        return None, ""
    if given is not None:
        p = Path(given).expanduser()
        if not p.exists():
            raise FileNotFoundError(f"height file not found: {p}")
        if p.suffix.lower() in {".tif", ".tiff"}:
            from insar_ae.io.geotiff import read_dem

            return read_dem(p, shape=shape), str(p.resolve())
        if p.suffix.lower() in {".h5", ".hdf5"}:
            with open_h5(p) as g:
                name = next((n for n in ("hgt", "height") if n in g), None)
                if name is None:
                    raise FormatError(f"{p}: no 'hgt' or 'height' dataset (DEM in m)")
                check_shape(g[name].shape, shape, source=str(p), what=name)
                return np.asarray(g[name][()], dtype=np.float32), str(p.resolve())
        return read_raw_float32(p, shape, what="height (raw float32)"), str(p.resolve())
    if "hgt" in f:
        check_shape(f["hgt"].shape, shape, source=str(path), what="hgt")
        return np.asarray(f["hgt"][()], dtype=np.float32), str(path.resolve())
    ts_dir = path.parent
    cands = [ts_dir / "results" / "hgt"] + [d / "hgt" for d in _geoc_dirs(ts_dir)]
    sibling = ts_dir / "cum.h5"
    if path.name != "cum.h5" and sibling.is_file():
        try:
            with h5py.File(sibling, "r") as g:
                if "hgt" in g and g["hgt"].shape == shape:
                    return np.asarray(g["hgt"][()], dtype=np.float32), str(sibling.resolve())
        except OSError:
            pass
    for c in cands:
        if c.is_file():
            return read_raw_float32(c, shape, what="LiCSBAS hgt"), str(c.resolve())
    return None, ""


def _los(f: h5py.File, geoc: list[Path], shape: tuple[int, int]) -> dict[str, float]:
    """Centre incidence and heading from the ground-to-satellite LOS unit vector E/N/U."""
    comps: dict[str, float] = {}
    for c in ("E", "N", "U"):
        arr = None
        if f"{c}.geo" in f and f[f"{c}.geo"].shape == shape:
            arr = np.asarray(f[f"{c}.geo"][()], dtype=np.float64)
        else:
            for d in geoc:
                p = d / f"{c}.geo"
                if p.is_file() and p.stat().st_size == 4 * shape[0] * shape[1]:
                    arr = np.fromfile(p, dtype="<f4").reshape(shape).astype(np.float64)
                    break
        if arr is None:
            return {}
        arr = arr[np.isfinite(arr) & (arr != 0)]
        if arr.size == 0:
            return {}
        comps[c] = float(np.median(arr))
    inc = float(np.degrees(np.arccos(np.clip(comps["U"], -1, 1))))
    # Right-looking: flight heading = azimuth of the ground->satellite vector + 90 degrees.
    head = (float(np.degrees(np.arctan2(comps["E"], comps["N"]))) + 90.0 + 180.0) % 360.0 - 180.0
    return {"incidence_deg": inc, "heading_deg": head}


def read_licsbas(
    path: str | Path,
    *,
    height: str | Path | bool | None = None,
    mask: str | Path | bool | None = None,
    lazy: bool | None = None,
    chunks: Any = None,
    apply_mask: bool = False,
    attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Read a LiCSBAS ``cum.h5``/``cum_filt.h5`` into the canonical Dataset (mm, toward satellite).

    Parameters
    ----------
    height
        DEM file (raw float32, GeoTIFF or HDF5 with ``hgt``); None = ``hgt`` in the file, else
        ``results/hgt``, ``cum.h5`` beside a ``cum_filt.h5``, ``../GEOCml*/hgt``; if none is
        found height is NaN (with a warning; ``False`` = NaN without one).
    mask
        Mask file (raw float32, 1 = valid); None = ``results/mask`` when present; False = none.
    lazy, chunks, apply_mask, attrs
        As for :func:`insar_ae.io.mintpy.read_mintpy`.
    """
    path = Path(path).expanduser()
    src = str(path.resolve()) if path.exists() else str(path)
    with open_h5(path, expected="a LiCSBAS cum.h5") as f:
        missing = [n for n in ("cum", "imdates") if n not in f]
        if missing:
            raise FormatError(
                f"{path}: not a LiCSBAS file — missing dataset(s) {missing}; expected "
                "cum (date, row, col) in mm and imdates (YYYYMMDD)"
            )
        if f["cum"].ndim != 3:
            raise FormatError(
                f"{path}: cum has shape {f['cum'].shape}; expected 3-D (date, row, col)"
            )
        n_t, ny, nx = f["cum"].shape
        shape = (ny, nx)
        dates = parse_dates(np.atleast_1d(f["imdates"][()]), source=str(path), what="imdates")
        if len(dates) != n_t:
            raise FormatError(f"{path}: imdates has {len(dates)} entries but cum has {n_t} dates")
        cum = f["cum"]
        check_claimed_size(
            cum.shape, cum.dtype.itemsize, cum.id.get_storage_size(), source=str(path), what="/cum"
        )
        cube = dataset_array(
            f,
            "cum",
            lazy=want_lazy([path], lazy, nbytes=cum.size * cum.dtype.itemsize),
            chunks=chunks,
        )
        cube = cube.astype(np.float32, copy=False)
        geocoded = all(k in f for k in ("corner_lat", "corner_lon", "post_lat", "post_lon"))
        if geocoded:
            lat1, lon1 = float(read_scalar(f, "corner_lat")), float(read_scalar(f, "corner_lon"))
            dlat, dlon = float(read_scalar(f, "post_lat")), float(read_scalar(f, "post_lon"))
            y = lat1 + np.arange(ny, dtype=np.float64) * dlat
            x = lon1 + np.arange(nx, dtype=np.float64) * dlon
            crs, xy_units = "EPSG:4326", "degrees"
        else:
            y, x = np.arange(ny, dtype=np.float64), np.arange(nx, dtype=np.float64)
            crs, xy_units = "radar", "pixel"
        out_attrs: dict[str, Any] = {
            "title": f"{path.parent.name}/{path.name}",
            "source": src,
            "format": "licsbas",
            "sensor": "unknown",
            "wavelength_m": float("nan"),
        }
        if "refarea" in f:
            ref = read_scalar(f, "refarea")
            x1, x2, y1, y2 = _parse_refarea(str(ref), shape, source=str(path))
            out_attrs["reference_point"] = format_point(np.mean(y[y1:y2]), np.mean(x[x1:x2]))
            if (x2 - x1) * (y2 - y1) > 1:
                out_attrs["reference_area"] = (
                    f"{x1}:{x2}/{y1}:{y2} (LiCSBAS pixel ranges x1:x2/y1:y2)"
                )
        bperp = np.asarray(f["bperp"][()], dtype=np.float64) if "bperp" in f else None
        geoc = _geoc_dirs(path.parent)
        out_attrs.update(_los(f, geoc, shape))
        hgt, hgt_src = _height(path, f, shape, height)
    for d in geoc:
        par = d / "slc.mli.par"
        if par.is_file():
            p = _read_par(par)
            if "radar_frequency" in p:
                out_attrs["wavelength_m"] = SPEED_OF_LIGHT / float(p["radar_frequency"].split()[0])
            if "sensor" in p:
                out_attrs["sensor"] = sensor_name(p["sensor"])
            break
    if hgt is None:
        if height is not False:
            warnings.warn(
                f"{path}: no height found (no 'hgt' dataset, results/hgt or ../GEOCml*/hgt); "
                "height is NaN — pass height=...",
                stacklevel=3,
            )
        hgt = np.full(shape, np.nan, dtype=np.float32)
    else:
        out_attrs["height_source"] = hgt_src
    valid = None
    mask_path = (
        None
        if mask is False
        else (Path(mask) if mask not in (None, True) else path.parent / "results" / "mask")
    )
    if mask_path is not None and (mask_path.is_file() or mask not in (None, True)):
        if not mask_path.exists():
            raise FileNotFoundError(f"mask file not found: {mask_path}")
        m = read_raw_float32(mask_path, shape, what="LiCSBAS mask")
        valid = np.isfinite(m) & (m != 0)
        out_attrs["mask_source"] = str(mask_path.resolve())
        if apply_mask:
            cube = cube * np.where(valid, np.float32(1), np.float32(np.nan))[None]
    ds = make_dataset(
        cube, hgt, dates, y, x, mask=valid, crs=crs, xy_units=xy_units, attrs=out_attrs
    )
    if bperp is not None and bperp.shape == (n_t,):
        ds = ds.assign_coords(
            bperp=("time", bperp, {"units": "m", "long_name": "perpendicular baseline"})
        )
    return finish(ds, attrs)
