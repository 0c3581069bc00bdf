"""NetCDF and Zarr in the canonical layout (and CF-style variants), reader and writer.

Canonical files are what :func:`write_netcdf`/:func:`write_zarr` produce: the
:mod:`insar_ae.datamodel` variables as they are, plus CF attributes (``Conventions``,
``standard_name``, ``axis``, a ``spatial_ref`` grid-mapping variable). The reader also accepts
CF-style variants: dimensions/coordinates named ``lat``/``lon``/``latitude``/``longitude``
(-> degrees, EPSG:4326), ``date``/``epoch`` for time, displacement named ``cum``, ``los``...,
DEM named ``hgt``/``dem``/``elevation``; displacement ``units`` of ``m``/``cm`` are converted to
mm. A displacement variable without units is rejected unless ``units=`` is passed.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from insar_ae import __version__
from insar_ae.atomic import atomic_path, check_output, input_paths
from insar_ae.datamodel import CUBE_VARS, DIMS, make_dataset, validate
from insar_ae.errors import FormatError
from insar_ae.io._common import (
    check_claimed_size,
    crs_units,
    files_size,
    finish,
    mm_per_unit,
    relative_to_first,
    want_lazy,
)
from insar_ae.io._dates import check_strictly_increasing, parse_dates

__all__ = ["canonicalize", "read_netcdf", "read_zarr", "write_netcdf", "write_zarr"]

log = logging.getLogger(__name__)

_TIME = ("time", "date", "dates", "epoch", "t", "imdates")
_Y = ("y", "lat", "latitude", "northing", "row", "rows")
_X = ("x", "lon", "longitude", "easting", "col", "cols")
_DISP = ("displacement", "cum", "los_displacement", "displacement_los", "timeseries", "los", "disp")
_HEIGHT = ("height", "hgt", "dem", "elevation", "topography", "topo")
_DEG = {
    "degrees",
    "degree",
    "deg",
    "degrees_north",
    "degree_north",
    "degrees_n",
    "degreen",
    "degrees_east",
    "degree_east",
    "degrees_e",
    "degreee",
}
LAYOUT_MARK = "insar_ae canonical"


def _pick(names: tuple[str, ...], present: Any) -> str | None:
    lower = {str(n).lower(): n for n in present}
    return next((lower[n] for n in names if n in lower), None)


def _crs_of(raw: xr.Dataset, var: xr.DataArray, coord: xr.DataArray, latlon: bool) -> str:
    if coord.attrs.get("crs"):
        return str(coord.attrs["crs"])
    gm = var.attrs.get("grid_mapping") or var.encoding.get("grid_mapping")
    gm_var = raw.get(gm) if gm else raw.get("spatial_ref", raw.get("crs"))
    if gm_var is not None:
        wkt = gm_var.attrs.get("crs_wkt") or gm_var.attrs.get("spatial_ref")
        if wkt:
            from pyproj import CRS

            try:
                c = CRS.from_wkt(str(wkt))
                epsg = c.to_epsg()
                return f"EPSG:{epsg}" if epsg else c.to_wkt()
            except Exception:
                log.warning("unreadable crs_wkt in grid mapping %r", gm)
    if raw.attrs.get("crs"):
        return str(raw.attrs["crs"])
    return "EPSG:4326" if latlon else "unknown"


def _xy(
    raw: xr.Dataset, var: xr.DataArray, dim: str, latlon: bool, source: str
) -> tuple[np.ndarray, str, str]:
    if dim not in raw.coords:
        return np.arange(raw.sizes[dim], dtype=np.float64), "pixel", "radar"
    c = raw[dim]
    units = str(c.attrs.get("units", "")).strip().lower()
    crs = _crs_of(raw, var, c, latlon)
    if units in _DEG:
        units = "degrees"
    elif units in {"m", "metre", "meter", "metres", "meters"}:
        units = "m"
    elif units == "pixel":
        crs = crs if crs != "unknown" else "radar"
    elif units == "km":
        return np.asarray(c.values, dtype=np.float64) * 1000.0, "m", crs
    elif not units:
        units = "degrees" if latlon else (crs_units(crs) if crs != "unknown" else "m")
        log.info("%s: coordinate %r has no units; assuming %s", source, dim, units)
    else:
        raise FormatError(
            f"{source}: coordinate {dim!r} has units {units!r}; expected metres, degrees or pixel"
        )
    return np.asarray(c.values, dtype=np.float64), units, crs


#: Variable attributes that describe the file's encoding or units, not the data (not carried).
_ENCODING_ATTRS = {
    "units",
    "scale_factor",
    "add_offset",
    "_FillValue",
    "missing_value",
    "grid_mapping",
    "coordinates",
    "dtype",
}


def canonicalize(
    raw: xr.Dataset,
    *,
    source: str,
    variable: str | None = None,
    units: str | None = None,
    sign: float = 1.0,
    attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Turn an opened NetCDF/Zarr dataset (canonical or CF-style) into the canonical layout."""
    dims = {"time": _pick(_TIME, raw.dims), "y": _pick(_Y, raw.dims), "x": _pick(_X, raw.dims)}
    if None in dims.values():
        raise FormatError(
            f"{source}: cannot find (time, y, x) dimensions among {list(raw.dims)}; "
            f"expected time in {_TIME}, y in {_Y}, x in {_X}"
        )
    latlon = str(dims["y"]).lower() in {"lat", "latitude"} or str(dims["x"]).lower() in {
        "lon",
        "longitude",
    }
    want = {dims["time"], dims["y"], dims["x"]}
    cubes = [n for n, v in raw.data_vars.items() if set(v.dims) == want]
    name = variable or _pick(_DISP, cubes) or (cubes[0] if len(cubes) == 1 else None)
    if name is None or name not in raw.data_vars:
        raise FormatError(
            f"{source}: no displacement variable {variable or ''!s}; (time, y, x) "
            f"variables present: {cubes}; expected one of {_DISP} or pass variable="
        )
    disp = raw[name]
    if set(disp.dims) != want:
        raise FormatError(
            f"{source}: variable {name!r} has dims {disp.dims}; expected {tuple(want)}"
        )
    order = (dims["time"], dims["y"], dims["x"])

    def cube(v: xr.DataArray, label: str, default_scale: float | None) -> Any:
        u = units if (label == name and units) else v.attrs.get("units")
        if u is None and default_scale is not None:
            scale = default_scale
        else:
            scale = mm_per_unit(u, source=source, what=f"variable {label!r}")
        data = v.transpose(*order).data.astype(np.float32, copy=False)
        return data * np.float32(scale * sign) if scale * sign != 1 else data

    displacement = cube(disp, name, None)
    canonical = str(raw.attrs.get("insar_ae_layout", "")) == LAYOUT_MARK
    if not canonical:
        displacement = relative_to_first(displacement, source=source)
    extra = {}
    for v, var in raw.data_vars.items():
        if v == name or set(var.dims) != want:
            continue
        if v in CUBE_VARS or str(var.attrs.get("units", "")).lower() in {"mm", "m", "cm"}:
            extra[str(v)] = cube(var, str(v), 1.0)
        else:
            log.info("%s: skipping (time, y, x) variable %r without length units", source, v)
    t = raw[dims["time"]].values if dims["time"] in raw.coords else None
    if t is None:
        raise FormatError(f"{source}: dimension {dims['time']!r} has no coordinate values (dates)")
    if np.issubdtype(np.asarray(t).dtype, np.datetime64):
        t = pd.DatetimeIndex(t)
        check_strictly_increasing(t, source=source, what=str(dims["time"]))
    else:
        t = parse_dates(np.asarray(t).tolist(), source=source, what=str(dims["time"]))
    y, y_units, crs = _xy(raw, disp, dims["y"], latlon, source)
    x, x_units, _ = _xy(raw, disp, dims["x"], latlon, source)
    if y_units != x_units:
        raise FormatError(
            f"{source}: y is in {y_units!r} but x in {x_units!r}; expected the same units"
        )

    hname = _pick(
        _HEIGHT, [n for n, v in raw.data_vars.items() if set(v.dims) == {dims["y"], dims["x"]}]
    )
    if hname is not None:
        h = raw[hname].transpose(dims["y"], dims["x"])
        hu = str(h.attrs.get("units", "m")).lower()
        hscale = {
            "m": 1.0,
            "metre": 1.0,
            "meter": 1.0,
            "metres": 1.0,
            "meters": 1.0,
            "km": 1000.0,
        }.get(hu)
        if hscale is None:
            raise FormatError(f"{source}: height variable {hname!r} has units {hu!r}; expected 'm'")
        height = h.data.astype(np.float32) * np.float32(hscale)
    else:
        warnings.warn(
            f"{source}: no height variable (one of {_HEIGHT}); height is NaN", stacklevel=3
        )
        height = np.full((len(y), len(x)), np.nan, dtype=np.float32)
    mask = None
    if "mask" in raw.data_vars and set(raw["mask"].dims) == {dims["y"], dims["x"]}:
        m = np.asarray(raw["mask"].transpose(dims["y"], dims["x"]).values)
        mask = m if m.dtype == bool else (np.isfinite(m) & (m != 0))
    keep = {
        k: v for k, v in raw.attrs.items() if k not in {"Conventions", "insar_ae_layout", "history"}
    }
    keep["source"] = source
    for k in ("wavelength_m", "heading_deg", "incidence_deg"):
        if k in keep:
            keep[k] = float(keep[k])
    ds = make_dataset(
        displacement, height, t, y, x, mask=mask, crs=crs, xy_units=x_units, extra=extra, attrs=keep
    )
    for v in extra:  # provenance of derived cubes (model name, SHA-256, tiling...) survives
        ds[v].attrs = {
            **{k: a for k, a in raw[v].attrs.items() if k not in _ENCODING_ATTRS},
            **ds[v].attrs,
        }
    if "bperp" in raw.coords and raw["bperp"].dims == (dims["time"],):
        ds = ds.assign_coords(
            bperp=(
                "time",
                np.asarray(raw["bperp"].values, dtype=np.float64),
                dict(raw["bperp"].attrs),
            )
        )
    for c in ("lat", "lon"):
        if (
            c in raw.coords
            and set(raw[c].dims) == {dims["y"], dims["x"]}
            and c not in dims.values()
        ):
            ds = ds.assign_coords(
                {
                    c: (
                        ("y", "x"),
                        np.asarray(raw[c].transpose(dims["y"], dims["x"]).values),
                        dict(raw[c].attrs),
                    )
                }
            )
    return finish(ds, attrs)


def _open(
    path: Any,
    opener: Any,
    lazy: bool | None,
    chunks: Any,
    *,
    files: list[Path] | None = None,
    **kw: Any,
) -> xr.Dataset:
    """Open lazily, check the claimed array sizes against the files' size (``files``), then
    load unless ``lazy`` (None: decided by :func:`want_lazy` on the arrays' size)."""
    spec = chunks if chunks is not None else {}
    try:
        raw = opener(path, chunks=spec, **kw)
    except ValueError as err:
        if "decode" not in str(err).lower() and "time" not in str(err).lower():
            raise
        raw = opener(path, chunks=spec, decode_times=False, **kw)
    if files is not None:
        stored = files_size(files)
        biggest = max(raw.data_vars.values(), key=lambda v: v.nbytes, default=None)
        if biggest is not None:
            check_claimed_size(
                biggest.shape,
                biggest.dtype.itemsize,
                stored,
                source=str(files[0]),
                what=f"variable {biggest.name!r}",
            )
        lazy = want_lazy(files, lazy, nbytes=int(raw.nbytes))
    if not lazy:
        raw = raw.load()
        raw.close()
    return raw


def read_netcdf(
    path: str | os.PathLike[str],
    *,
    variable: str | None = None,
    units: str | None = None,
    sign: float = 1.0,
    lazy: bool | None = None,
    chunks: Any = None,
    storage_options: dict[str, Any] | None = None,
    attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Read a NetCDF file (canonical or CF-style) into the canonical Dataset.

    ``units`` declares the displacement units when the file does not ("mm", "cm", "m");
    ``sign=-1`` flips files whose positive direction is away from the satellite.
    """
    text = os.fspath(path)
    if "://" in text and not text.startswith("file://"):
        import fsspec

        fobj = fsspec.open(text, mode="rb", **(storage_options or {})).open()
        raw = _open(fobj, xr.open_dataset, bool(lazy), chunks, engine="h5netcdf")
        return canonicalize(
            raw, source=text, variable=variable, units=units, sign=sign, attrs=attrs
        )
    p = Path(text.removeprefix("file://")).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"no such file: {p}")
    with open(p, "rb") as fh:
        magic = fh.read(8)
    engine = "scipy" if magic[:3] == b"CDF" else "h5netcdf"
    try:
        raw = _open(p, xr.open_dataset, lazy, chunks, files=[p], engine=engine)
    except FormatError:
        raise
    except (OSError, ValueError) as err:
        raise FormatError(
            f"{p}: cannot be read as NetCDF ({err}); the file may be truncated or "
            "corrupt — expected NetCDF-4/HDF5 or NetCDF-3"
        ) from None
    return canonicalize(
        raw, source=str(p.resolve()), variable=variable, units=units, sign=sign, attrs=attrs
    )


def read_zarr(
    path: str | os.PathLike[str],
    *,
    variable: str | None = None,
    units: str | None = None,
    sign: float = 1.0,
    lazy: bool | None = None,
    chunks: Any = None,
    storage_options: dict[str, Any] | None = None,
    attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Read a Zarr store (canonical or CF-style) into the canonical Dataset (see read_netcdf)."""
    text = os.fspath(path)
    remote = "://" in text and not text.startswith("file://")
    target: Any = text if remote else Path(text.removeprefix("file://")).expanduser()
    if not remote and not Path(target).exists():
        raise FileNotFoundError(f"no such file or directory: {target}")
    try:
        raw = _open(
            target,
            xr.open_zarr,
            True if remote else lazy,
            chunks,
            files=None if remote else [Path(target)],
            storage_options=storage_options,
        )
    except FormatError:
        raise
    except (OSError, ValueError, KeyError) as err:
        raise FormatError(
            f"{target}: cannot be read as Zarr ({err}); expected a Zarr v2/v3 store"
        ) from None
    source = text if remote else str(Path(target).resolve())
    return canonicalize(raw, source=source, variable=variable, units=units, sign=sign, attrs=attrs)


# ---------------------------------------------------------------------------------------- write
def _clean_attr(v: Any) -> Any:
    if isinstance(v, bool | np.bool_):
        return int(v)
    if isinstance(v, str | int | float | np.integer | np.floating):
        return v
    if isinstance(v, (np.datetime64, pd.Timestamp)):
        return str(pd.Timestamp(v))
    if isinstance(v, np.ndarray) and v.dtype.kind in "iuf":
        return v
    return json.dumps(v, default=str)


def to_cf(
    ds: xr.Dataset, *, cube_chunks: tuple[int, int, int] | None = None
) -> tuple[xr.Dataset, dict[str, dict[str, Any]]]:
    """A CF-annotated shallow copy of canonical ``ds`` and its encoding (for NetCDF and Zarr)."""
    validate(ds)
    out = ds.copy(deep=False)
    for v in out.variables.values():
        v.encoding = {}
    out.attrs = {k: _clean_attr(v) for k, v in ds.attrs.items() if v is not None}
    out.attrs.update(
        Conventions="CF-1.8",
        insar_ae_layout=LAYOUT_MARK,
        history=f"{pd.Timestamp.now('UTC'):%Y-%m-%dT%H:%M:%SZ} written by insar_ae {__version__}",
    )
    crs = str(ds["x"].attrs.get("crs", ds.attrs.get("crs", "")))
    deg = str(ds["x"].attrs.get("units", "")).lower().startswith("deg")
    for dim, axis in (("x", "X"), ("y", "Y")):
        a = dict(ds[dim].attrs)
        if deg:
            a.update(
                standard_name="longitude" if dim == "x" else "latitude",
                units="degrees_east" if dim == "x" else "degrees_north",
            )
        elif a.get("units") == "m":
            a["standard_name"] = f"projection_{dim}_coordinate"
        a["axis"] = axis
        out[dim].attrs = {k: _clean_attr(v) for k, v in a.items()}
    out["time"].attrs = {"standard_name": "time", "axis": "T", "long_name": "acquisition date"}
    gm = None
    if crs.upper().startswith(("EPSG:", "GEOGCRS", "PROJCRS", "GEOGCS", "PROJCS")):
        from pyproj import CRS

        c = CRS.from_user_input(crs)
        gm = {k: _clean_attr(v) for k, v in c.to_cf().items()}
        gm["spatial_ref"] = c.to_wkt()
        out["spatial_ref"] = xr.DataArray(np.int32(0), attrs=gm)
        out = out.set_coords("spatial_ref")
    t0 = pd.Timestamp(ds["time"].values[0]).normalize()
    enc: dict[str, dict[str, Any]] = {
        "time": {
            "units": f"days since {t0:%Y-%m-%d}",
            "calendar": "proleptic_gregorian",
            "dtype": "float64",
        }
    }
    nt, ny, nx = ds.sizes["time"], ds.sizes["y"], ds.sizes["x"]
    chunks = cube_chunks or (min(nt, 8), min(ny, 256), min(nx, 256))
    for name in list(out.data_vars):  # +-inf is not data: written as NaN
        var = out[name]
        if var.dtype.kind == "f" and (var.chunks is not None or bool(np.isinf(var.values).any())):
            out[name] = var.where(~np.isinf(var)).assign_attrs(var.attrs)
    for name, var in out.data_vars.items():
        var.attrs = {k: _clean_attr(v) for k, v in var.attrs.items()}
        if gm is not None and var.dims[-2:] == ("y", "x"):
            var.attrs["grid_mapping"] = "spatial_ref"
        if var.dtype.kind == "f":
            enc[name] = {"dtype": "float32", "_FillValue": np.float32(np.nan)}
            if var.dims == DIMS:
                enc[name]["chunksizes"] = chunks
    return out, enc


def write_netcdf(
    ds: xr.Dataset, path: str | os.PathLike[str], *, overwrite: bool = False, compress: bool = False
) -> Path:
    """Write canonical ``ds`` (all variables) to NetCDF-4 (h5netcdf), atomically.

    ``compress`` adds zlib level 4 (smaller, slower). Lazy (dask) data are streamed.
    """
    out = check_output(path, overwrite=overwrite, inputs=input_paths(ds))
    cf, enc = to_cf(ds)
    if compress:
        for name in cf.data_vars:
            if name in enc:
                enc[name].update(zlib=True, complevel=4)
    with atomic_path(out, overwrite=overwrite) as tmp:
        cf.to_netcdf(tmp, engine="h5netcdf", encoding=enc)
    return out


def write_zarr(ds: xr.Dataset, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write canonical ``ds`` to a Zarr (format 2, consolidated) directory store, atomically."""
    out = check_output(path, overwrite=overwrite, inputs=input_paths(ds))
    cf, enc = to_cf(ds)
    chunks = None
    for e in enc.values():
        if "chunksizes" in e:
            chunks = e.pop("chunksizes")
            e["chunks"] = chunks
    if chunks is not None:
        cf = cf.chunk({"time": chunks[0], "y": chunks[1], "x": chunks[2]})
    with atomic_path(out, overwrite=overwrite) as tmp:
        cf.to_zarr(tmp, mode="w", encoding=enc, zarr_format=2, consolidated=True)
    return out
