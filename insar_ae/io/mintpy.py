"""MintPy ``timeseries.h5`` reader and writer.

MintPy layout (as written by ``mintpy.utils.writefile``): ``/timeseries`` float32
(date, row, col) in **metres**, LOS **positive toward the satellite**, relative to ``REF_DATE``
and zero at pixel ``REF_Y, REF_X``; ``/date`` ``YYYYMMDD`` bytes; optional ``/bperp`` (m).
Geocoded files carry ``X_FIRST, Y_FIRST`` = outer (north-west) corner of the first pixel and
``X_STEP, Y_STEP`` (so pixel centres are ``X_FIRST + (i + 0.5) * X_STEP``); radar-coded files
have none and keep pixel coordinates. Geometry (``/height`` m, ``/incidenceAngle`` deg,
``/azimuthAngle`` deg, ``/latitude``/``/longitude`` in radar geometry) lives in
``geometryGeo.h5``/``geometryRadar.h5``; the valid-pixel mask in ``maskTempCoh.h5:/mask``.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import xarray as xr

from insar_ae.atomic import atomic_path, check_output, input_paths
from insar_ae.datamodel import DIMS, make_dataset, validate
from insar_ae.errors import FormatError, ParameterError
from insar_ae.io._common import (
    centre_coords,
    centre_value,
    check_claimed_size,
    check_shape,
    crs_units,
    finish,
    format_point,
    mm_per_unit,
    nearest_index,
    sensor_name,
    want_lazy,
)
from insar_ae.io._dates import parse_dates, to_yyyymmdd
from insar_ae.io._h5 import dataset_array, decode_attrs, open_h5

__all__ = ["is_mintpy", "read_mintpy", "write_mintpy"]

log = logging.getLogger(__name__)

# Attributes recomputed on write (never copied from a previous MintPy file).
_GRID_KEYS = {
    "FILE_TYPE",
    "UNIT",
    "DATA_TYPE",
    "LENGTH",
    "WIDTH",
    "X_FIRST",
    "Y_FIRST",
    "X_STEP",
    "Y_STEP",
    "X_UNIT",
    "Y_UNIT",
    "EPSG",
    "REF_DATE",
    "REF_Y",
    "REF_X",
    "REF_LAT",
    "REF_LON",
    "WAVELENGTH",
    "HEADING",
    "ORBIT_DIRECTION",
    "PLATFORM",
    "INSAR_AE_VARIABLE",
    "INSAR_AE_CRS",
}
_PLATFORM_CODES = {
    "Sentinel-1": "Sen",
    "Envisat": "Env",
    "ERS": "Ers",
    "ALOS": "Alos",
    "ALOS-2": "Alos2",
    "COSMO-SkyMed": "Csk",
    "TerraSAR-X": "Tsx",
    "RADARSAT-2": "Rsat2",
    "NISAR": "Ni",
}


def is_mintpy(h5: h5py.File) -> bool:
    """True for a MintPy time-series file (``/timeseries`` dataset)."""
    return isinstance(h5.get("timeseries"), h5py.Dataset)


def heading_from_azimuth(az_deg: float) -> float:
    """Satellite heading (clockwise from north) from MintPy's ``azimuthAngle``.

    MintPy's azimuth angle is that of the ground-to-satellite LOS vector, from north,
    anticlockwise positive; for a right-looking radar the flight direction is 90 degrees less,
    and heading is its clockwise counterpart, wrapped to [-180, 180).
    """
    return float((90.0 - az_deg + 180.0) % 360.0 - 180.0)


def _find_sidecar(
    ts_path: Path, given: Any, names: list[str], shape: tuple[int, int], *, what: str
) -> Path | None:
    if given is False:
        return None
    if given is not None:
        p = Path(given).expanduser()
        if not p.is_absolute():
            p = ts_path.parent / p if not p.exists() else p
        if not p.exists():
            raise FileNotFoundError(f"{what} file not found: {p}")
        return p
    for name in names:
        p = ts_path.parent / name.format(stem=ts_path.stem)
        if not p.is_file():
            continue
        try:
            with h5py.File(p, "r") as f:
                a = decode_attrs(f.attrs)
                ok = (int(a.get("LENGTH", -1)), int(a.get("WIDTH", -1))) == shape or any(
                    isinstance(d, h5py.Dataset) and d.shape[-2:] == shape for d in f.values()
                )
        except (OSError, ValueError):
            ok = False
        if ok:
            return p
        log.info("%s: skipping %s %s (different grid)", ts_path, what, p)
    return None


def _geometry(path: Path, shape: tuple[int, int]) -> dict[str, Any]:
    out: dict[str, Any] = {"source": str(path.resolve())}
    with open_h5(path, expected="a MintPy geometry file (geometryGeo.h5 / geometryRadar.h5)") as g:
        if "height" not in g:
            raise FormatError(
                f"{path}: MintPy geometry file has no /height dataset (DEM in m); "
                f"datasets present: {sorted(g.keys())}"
            )
        check_shape(g["height"].shape, shape, source=str(path), what="/height")
        out["height"] = np.asarray(g["height"][()], dtype=np.float32)
        if "incidenceAngle" in g and g["incidenceAngle"].shape == shape:
            out["incidence_deg"] = centre_value(g["incidenceAngle"][()])
        if "azimuthAngle" in g and g["azimuthAngle"].shape == shape:
            az = np.asarray(g["azimuthAngle"][()], dtype=np.float64)
            az = az[np.isfinite(az) & (az != 0)]
            if az.size:
                out["heading_deg"] = heading_from_azimuth(float(np.median(az)))
        for name in ("latitude", "longitude"):
            if name in g and g[name].shape == shape:
                out[name] = np.asarray(g[name][()], dtype=np.float64)
        out["attrs"] = decode_attrs(g.attrs)
    return out


def _mask(path: Path, shape: tuple[int, int]) -> np.ndarray:
    with open_h5(path, expected="a MintPy mask file (maskTempCoh.h5, dataset /mask)") as m:
        names = [n for n in ("mask", "waterMask") if n in m] or [
            n for n, d in m.items() if isinstance(d, h5py.Dataset) and d.ndim == 2
        ]
        if not names:
            raise FormatError(
                f"{path}: no /mask dataset (2-D, nonzero = valid) found; "
                f"datasets present: {sorted(m.keys())}"
            )
        check_shape(m[names[0]].shape, shape, source=str(path), what=f"/{names[0]}")
        a = np.asarray(m[names[0]][()])
    return np.isfinite(a) & (a != 0) if a.dtype.kind == "f" else a.astype(bool)


def _grid(meta: dict[str, Any], ny: int, nx: int) -> tuple[np.ndarray, np.ndarray, str, str]:
    if "X_FIRST" not in meta or "Y_FIRST" not in meta:
        return (np.arange(ny, dtype=np.float64), np.arange(nx, dtype=np.float64), "radar", "pixel")
    x = centre_coords(float(meta["X_FIRST"]), float(meta["X_STEP"]), nx)
    y = centre_coords(float(meta["Y_FIRST"]), float(meta["Y_STEP"]), ny)
    epsg = str(meta.get("EPSG", "")).strip()
    if epsg and epsg.lower() not in {"none", "nan"}:
        crs = f"EPSG:{int(float(epsg))}"
    elif str(meta.get("X_UNIT", "degrees")).lower().startswith("deg"):
        crs = "EPSG:4326"
    elif str(meta.get("UTM_ZONE", "")):
        zone = str(meta["UTM_ZONE"]).upper()
        crs = f"EPSG:{32600 if zone.endswith('N') else 32700}{int(zone[:-1]):02d}"
    else:
        crs = str(meta.get("INSAR_AE_CRS", "unknown"))
    units = (
        crs_units(crs)
        if crs != "unknown"
        else ("degrees" if str(meta.get("X_UNIT", "")).lower().startswith("deg") else "m")
    )
    return y, x, crs, units


def read_mintpy(
    path: str | Path,
    *,
    geometry: str | Path | bool | None = None,
    mask: str | Path | bool | None = None,
    lazy: bool | None = None,
    chunks: Any = None,
    apply_mask: bool = False,
    attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Read a MintPy time series into the canonical Dataset (mm, positive toward the satellite).

    Parameters
    ----------
    path
        ``timeseries*.h5`` (geocoded or radar-coded).
    geometry, mask
        Geometry / mask file; None = look beside ``path`` (``<stem>_geometryGeo.h5``,
        ``geometryGeo.h5``, ``geometryRadar.h5``, ``inputs/...``; ``<stem>_mask.h5``,
        ``maskTempCoh.h5``), False = do not use one. Files on another grid are skipped when
        found automatically and rejected (FormatError) when given explicitly.
    lazy, chunks
        Dask-backed arrays (None: when the file is large); dask chunk spec.
    apply_mask
        Set displacement to NaN where the mask is False (default: keep values, add ``mask``).
    attrs
        Attributes to set or override (e.g. ``{"incidence_deg": 39.7}``).
    """
    path = Path(path).expanduser()
    src = str(path.resolve()) if path.exists() else str(path)
    with open_h5(path, expected="a MintPy timeseries.h5") as f:
        missing = [n for n in ("timeseries", "date") if n not in f]
        if missing:
            raise FormatError(
                f"{path}: not a MintPy time-series file — missing dataset(s) {missing}; expected "
                "/timeseries (date, row, col) in metres and /date (YYYYMMDD bytes)"
            )
        meta = decode_attrs(f.attrs)
        ts = f["timeseries"]
        if ts.ndim != 3:
            raise FormatError(
                f"{path}: /timeseries has shape {ts.shape}; expected 3-D (date, row, col)"
            )
        n_t, ny, nx = ts.shape
        dates = parse_dates(f["date"][()], source=str(path), what="/date")
        if len(dates) != n_t:
            raise FormatError(
                f"{path}: /date has {len(dates)} entries but /timeseries has {n_t} dates"
            )
        bperp = np.asarray(f["bperp"][()], dtype=np.float64) if "bperp" in f else None
        check_claimed_size(
            ts.shape,
            ts.dtype.itemsize,
            ts.id.get_storage_size(),
            source=str(path),
            what="/timeseries",
        )
        is_lazy = want_lazy([path], lazy, nbytes=ts.size * ts.dtype.itemsize)
        cube = dataset_array(f, "timeseries", lazy=is_lazy, chunks=chunks)
    unit = meta.get("UNIT")
    if unit is None:
        log.info("%s: no UNIT attribute; MintPy time series are in metres", path)
        unit = "m"
    scale = np.float32(mm_per_unit(unit, source=str(path), what="/timeseries (attribute UNIT)"))
    cube = cube.astype(np.float32, copy=False) * scale
    ref_date = meta.get("REF_DATE")
    if ref_date and parse_dates([ref_date], source=str(path), what="REF_DATE")[0] != dates[0]:
        log.info(
            "%s: REF_DATE %s is not the first date; re-referencing to %s",
            path,
            ref_date,
            dates[0].date(),
        )
        cube = cube - cube[0:1]
    y, x, crs, xy_units = _grid(meta, ny, nx)

    out_attrs: dict[str, Any] = {
        "title": str(meta.get("PROJECT_NAME") or path.stem),
        "source": src,
        "format": "mintpy",
        "sensor": sensor_name(meta.get("PLATFORM")),
        "wavelength_m": float(meta.get("WAVELENGTH", "nan")),
        "heading_deg": float(meta.get("HEADING", "nan")),
        "incidence_deg": float(
            meta.get("CENTER_INCIDENCE_ANGLE", meta.get("INCIDENCE_ANGLE", "nan"))
        ),
    }
    if meta.get("ORBIT_DIRECTION"):
        out_attrs["orbit_direction"] = str(meta["ORBIT_DIRECTION"]).lower()
    if "REF_Y" in meta and "REF_X" in meta:
        ry, rx = int(float(meta["REF_Y"])), int(float(meta["REF_X"]))
        if 0 <= ry < ny and 0 <= rx < nx:
            out_attrs["reference_point"] = format_point(y[ry], x[rx])
        else:
            warnings.warn(
                f"{path}: REF_Y/REF_X = {ry}/{rx} outside the {ny}x{nx} grid; ignored", stacklevel=3
            )
    out_attrs["mintpy_attrs"] = json.dumps(
        {k: str(v) for k, v in meta.items() if k not in _GRID_KEYS}
    )

    height = np.full((ny, nx), np.nan, dtype=np.float32)
    geo_names = [
        "{stem}_geometryGeo.h5",
        "{stem}_geometryRadar.h5",
        "geometryGeo.h5",
        "geometryRadar.h5",
        "inputs/geometryGeo.h5",
        "inputs/geometryRadar.h5",
    ]
    if crs == "radar":
        geo_names = [n for n in geo_names if "Radar" in n] + [n for n in geo_names if "Geo" in n]
    geo_path = _find_sidecar(path, geometry, geo_names, (ny, nx), what="geometry")
    lat = lon = None
    if geo_path is not None:
        geo = _geometry(geo_path, (ny, nx))
        height = geo["height"]
        out_attrs["height_source"] = geo["source"]
        if np.isnan(out_attrs["incidence_deg"]):
            out_attrs["incidence_deg"] = geo.get("incidence_deg", float("nan"))
        if np.isnan(out_attrs["heading_deg"]):
            out_attrs["heading_deg"] = geo.get("heading_deg", float("nan"))
        lat, lon = geo.get("latitude"), geo.get("longitude")
    elif geometry is not False:
        warnings.warn(
            f"{path}: no MintPy geometry file with /height found (looked for "
            f"{', '.join(n.format(stem=path.stem) for n in geo_names)} beside it); "
            "height is NaN — give the geometry file (CLI --geometry FILE, Python "
            "geometry=FILE)",
            stacklevel=3,
        )
    mask_path = _find_sidecar(
        path, mask, ["{stem}_mask.h5", "maskTempCoh.h5"], (ny, nx), what="mask"
    )
    valid = None
    if mask_path is not None:
        valid = _mask(mask_path, (ny, nx))
        out_attrs["mask_source"] = str(mask_path.resolve())
        if apply_mask:
            cube = cube * np.where(valid, np.float32(1), np.float32(np.nan))[None]
    ds = make_dataset(
        cube, height, dates, y, x, mask=valid, crs=crs, xy_units=xy_units, attrs=out_attrs
    )
    if bperp is not None and bperp.shape == (n_t,):
        ds = ds.assign_coords(
            bperp=("time", bperp, {"units": "m", "long_name": "perpendicular baseline"})
        )
    if lat is not None and lon is not None and crs == "radar":
        ds = ds.assign_coords(
            lat=(("y", "x"), lat, {"units": "degrees_north"}),
            lon=(("y", "x"), lon, {"units": "degrees_east"}),
        )
    return finish(ds, attrs)


# ---------------------------------------------------------------------------------------- write
def _regular_step(c: np.ndarray, name: str) -> float:
    c = np.asarray(c, dtype=np.float64)
    if c.size < 2:
        raise ParameterError(f"coordinate {name!r} needs at least 2 values to define a MintPy grid")
    d = np.diff(c)
    if not np.allclose(d, d[0], rtol=1e-5, atol=0):
        raise ParameterError(
            f"coordinate {name!r} is not regularly spaced (steps {d.min()}..{d.max()}); "
            "MintPy needs a regular grid"
        )
    return float(d[0])


def mintpy_attributes(ds: xr.Dataset, variable: str) -> dict[str, str]:
    """The MintPy attribute dictionary describing ``ds[variable]`` (values as strings)."""
    a: dict[str, Any] = {
        k: v
        for k, v in json.loads(ds.attrs.get("mintpy_attrs", "{}")).items()
        if k not in _GRID_KEYS
    }
    _, ny, nx = ds[variable].shape
    a.update(
        FILE_TYPE="timeseries",
        UNIT="m",
        DATA_TYPE="float32",
        LENGTH=ny,
        WIDTH=nx,
        REF_DATE=to_yyyymmdd(ds["time"].values[:1])[0],
        INSAR_AE_VARIABLE=variable,
    )
    a.setdefault("PROCESSOR", "insar_ae")
    a.setdefault("PROJECT_NAME", str(ds.attrs.get("title", "insar_ae")).replace(" ", "_"))
    units = str(ds["x"].attrs.get("units", "m")).lower()
    if units != "pixel":
        dx, dy = _regular_step(ds["x"].values, "x"), _regular_step(ds["y"].values, "y")
        a.update(
            X_FIRST=repr(float(ds["x"][0]) - dx / 2),
            Y_FIRST=repr(float(ds["y"][0]) - dy / 2),
            X_STEP=repr(dx),
            Y_STEP=repr(dy),
        )
        deg = units.startswith("deg")
        a.update(X_UNIT="degrees" if deg else "meters", Y_UNIT="degrees" if deg else "meters")
        crs = str(ds["x"].attrs.get("crs", ds.attrs.get("crs", "")))
        if crs.upper().startswith("EPSG:"):
            a["EPSG"] = crs.split(":")[1]
        elif deg:
            a["EPSG"] = "4326"
        elif crs:
            a["INSAR_AE_CRS"] = crs
    ref = str(ds.attrs.get("reference_point", ""))
    if ref:
        try:
            ry, rx = (float(v) for v in ref.split(","))
        except ValueError:
            ry = rx = float("nan")
        iy, ix = nearest_index(ds["y"].values, ry), nearest_index(ds["x"].values, rx)
        if iy is not None and ix is not None:
            a.update(REF_Y=iy, REF_X=ix)
            if units.startswith("deg"):
                a.update(REF_LAT=repr(float(ds["y"][iy])), REF_LON=repr(float(ds["x"][ix])))
    for key, attr in (("WAVELENGTH", "wavelength_m"), ("HEADING", "heading_deg")):
        v = float(ds.attrs.get(attr, np.nan))
        if np.isfinite(v):
            a[key] = repr(v)
    if "HEADING" in a:
        a["ORBIT_DIRECTION"] = "ASCENDING" if abs(float(a["HEADING"])) < 90 else "DESCENDING"
    sensor = str(ds.attrs.get("sensor", ""))
    if sensor in _PLATFORM_CODES:
        a["PLATFORM"] = _PLATFORM_CODES[sensor]
    return {k: str(v) for k, v in a.items()}


def _write_cube(f: h5py.File, da: xr.DataArray) -> None:
    t, ny, nx = da.shape
    dset = f.create_dataset(
        "timeseries",
        shape=(t, ny, nx),
        dtype="float32",
        chunks=(min(t, 8), min(ny, 256), min(nx, 256)),
    )
    step = max(1, (256 * 2**20) // max(1, ny * nx * 4))
    for i0 in range(0, t, step):
        block = np.asarray(da.isel(time=slice(i0, i0 + step)).values, dtype=np.float32)
        block = np.where(np.isinf(block), np.float32(np.nan), block)  # +-inf is not data
        dset[i0 : i0 + block.shape[0]] = block / np.float32(1000.0)


def write_mintpy(
    ds: xr.Dataset,
    path: str | Path,
    *,
    variable: str = "displacement",
    overwrite: bool = False,
    sidecars: bool = True,
) -> Path:
    """Write ``ds[variable]`` as a MintPy ``timeseries.h5`` (metres, positive toward the satellite).

    With ``sidecars`` also writes ``<stem>_geometryGeo.h5`` (or ``...Radar.h5``: ``/height``,
    constant ``/incidenceAngle`` and ``/azimuthAngle`` when known, ``/latitude``/``/longitude``
    in radar geometry) and ``<stem>_mask.h5`` (``/mask``) when ``ds`` has a mask; the reader
    finds them again. ``REF_Y/REF_X`` are written only when ``ds.attrs['reference_point']`` is
    set. Returns the path of the time-series file.
    """
    validate(ds)
    if variable not in ds or ds[variable].dims != DIMS:
        cubes = [n for n in ds.data_vars if ds[n].dims == DIMS]
        raise ParameterError(
            f"variable={variable!r} is not a (time, y, x) cube of this dataset; "
            f"choose one of {cubes}"
        )
    inputs = input_paths(ds)
    out = check_output(path, overwrite=overwrite, inputs=inputs)
    attrs = mintpy_attributes(ds, variable)
    radar = "X_FIRST" not in attrs
    geo_out = out.with_name(f"{out.stem}_geometry{'Radar' if radar else 'Geo'}.h5")
    mask_out = out.with_name(f"{out.stem}_mask.h5")
    if sidecars:
        check_output(geo_out, overwrite=overwrite, inputs=inputs, role="geometry file")
        if "mask" in ds:
            check_output(mask_out, overwrite=overwrite, inputs=inputs, role="mask file")
    bperp = (
        np.asarray(ds["bperp"].values, dtype=np.float32)
        if "bperp" in ds.coords
        else np.zeros(ds.sizes["time"], dtype=np.float32)
    )
    with atomic_path(out, overwrite=overwrite) as tmp, h5py.File(tmp, "w") as f:
        _write_cube(f, ds[variable])
        f.create_dataset("date", data=np.array(to_yyyymmdd(ds["time"].values), dtype="S8"))
        f.create_dataset("bperp", data=bperp)
        f.attrs.update(attrs)
    if sidecars:
        _write_geometry(ds, geo_out, attrs, overwrite=overwrite)
        if "mask" in ds:
            with (
                atomic_path(mask_out, overwrite=overwrite, role="mask file") as tmp,
                h5py.File(tmp, "w") as f,
            ):
                f.create_dataset("mask", data=np.asarray(ds["mask"].values, dtype=bool))
                f.attrs.update(
                    {**_aux_attrs(attrs), "FILE_TYPE": "mask", "UNIT": "1", "DATA_TYPE": "bool"}
                )
    return out


def _aux_attrs(attrs: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in attrs.items() if not k.startswith("REF_") and k != "INSAR_AE_VARIABLE"}


def _write_geometry(ds: xr.Dataset, path: Path, attrs: dict[str, str], *, overwrite: bool) -> None:
    shape = (ds.sizes["y"], ds.sizes["x"])
    with (
        atomic_path(path, overwrite=overwrite, role="geometry file") as tmp,
        h5py.File(tmp, "w") as g,
    ):
        g.create_dataset("height", data=np.asarray(ds["height"].values, dtype=np.float32))
        inc, head = (
            float(ds.attrs.get("incidence_deg", np.nan)),
            float(ds.attrs.get("heading_deg", np.nan)),
        )
        if np.isfinite(inc):
            g.create_dataset("incidenceAngle", data=np.full(shape, inc, dtype=np.float32))
        if np.isfinite(head):
            az = (90.0 - head + 180.0) % 360.0 - 180.0
            g.create_dataset("azimuthAngle", data=np.full(shape, az, dtype=np.float32))
        for name in ("lat", "lon"):
            if name in ds.coords and ds[name].dims == ("y", "x"):
                g.create_dataset(
                    {"lat": "latitude", "lon": "longitude"}[name],
                    data=np.asarray(ds[name].values, dtype=np.float32),
                )
        g.attrs.update({**_aux_attrs(attrs), "FILE_TYPE": "geometry", "UNIT": "m"})
