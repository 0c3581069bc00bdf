"""GeoTIFF stacks (via rioxarray / rasterio), reader and writer.

Reading accepts either **one multi-band file** whose band descriptions (or band ``date`` tags)
are the dates, or **one single-band file per date** (a directory, a glob pattern or a list)
whose date comes from the ``dates=`` argument, a ``date``/``TIFFTAG_DATETIME`` tag or the file
name (``YYYYMMDD`` or ``YYYY-MM-DD``; for ``ref_date``-``date`` names the common first date is
the reference and the second date is used). Values are LOS displacement **positive toward the
satellite** in **mm** unless a ``units`` tag (file or band) or ``units=`` says ``m``/``cm``;
``sign=-1`` flips range-increase products. The DEM (metres) comes from ``dem=`` or
``<stem>.dem.tif``, ``dem.tif``, ``hgt.tif``, ``height.tif`` beside the data and must share the
grid and CRS. Coordinates are pixel centres from the geotransform.

Writing (``what=``): ``"stack"`` (all dates, band descriptions = ISO dates, plus
``<stem>.dem.tif`` and ``<stem>.mask.tif`` sidecars), ``"date"`` (one date), ``"cumulative"``
(last date, i.e. cumulative since the first) or ``"velocity"`` (mm/yr, least-squares line; the
rate map of :func:`insar_ae.analysis.velocity`).
"""

from __future__ import annotations

import glob
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rasterio
import xarray as xr
from rasterio.transform import Affine

from insar_ae.atomic import atomic_path, check_output, input_paths
from insar_ae.datamodel import DIMS, make_dataset, validate
from insar_ae.errors import FormatError, ParameterError
from insar_ae.io._common import (
    check_claimed_size,
    crs_units,
    files_size,
    finish,
    mm_per_unit,
    relative_to_first,
    want_lazy,
)
from insar_ae.io._dates import check_strictly_increasing, date_in_name, parse_dates

__all__ = ["linear_velocity", "read_dem", "read_geotiff", "write_geotiff"]

log = logging.getLogger(__name__)
_DEM_NAMES = ("dem", "hgt", "height", "elevation")
_ATTR_TAGS = (
    "title",
    "sensor",
    "wavelength_m",
    "heading_deg",
    "incidence_deg",
    "reference_point",
    "reference_area",
)


def _files(path: Any) -> list[Path]:
    if isinstance(path, (list, tuple)):
        files = [Path(p).expanduser() for p in path]
    else:
        text = os.fspath(path)
        if any(ch in text for ch in "*?["):
            files = [Path(p) for p in sorted(glob.glob(os.path.expanduser(text)))]
            if not files:
                raise FileNotFoundError(f"no GeoTIFF matches the pattern {text}")
        else:
            p = Path(text).expanduser()
            if p.is_dir():
                files = sorted(
                    f
                    for f in p.iterdir()
                    if f.suffix.lower() in {".tif", ".tiff"}
                    and f.name.split(".")[0].lower() not in _DEM_NAMES
                    and not f.name.lower().endswith((".dem.tif", ".mask.tif"))
                )
                if not files:
                    raise FileNotFoundError(f"no GeoTIFF (*.tif) files in directory {p}")
            else:
                files = [p]
    for f in files:
        if not f.exists():
            raise FileNotFoundError(f"no such file: {f}")
    return files


def _tag(tags: dict[str, str], *names: str) -> str | None:
    low = {k.lower(): v for k, v in tags.items()}
    return next((low[n] for n in names if n in low and str(low[n]).strip()), None)


def _open(f: Path) -> rasterio.DatasetReader:
    try:
        return rasterio.open(f)
    except rasterio.errors.RasterioIOError as err:
        raise FormatError(
            f"{f}: cannot be read as GeoTIFF ({err}); expected a GeoTIFF raster"
        ) from None


def _file_dates(files: list[Path], metas: list[dict[str, Any]]) -> list[Any]:
    out: list[Any] = []
    for f, m in zip(files, metas, strict=True):
        tag = _tag(m["tags"], "date", "acquisition_date") or _tag(m["band_tags"], "date")
        if tag is None and m["tags"].get("TIFFTAG_DATETIME"):
            tag = m["tags"]["TIFFTAG_DATETIME"][:10].replace(":", "-")
        if tag is None and m["descriptions"] and m["descriptions"][0]:
            desc = date_in_name(m["descriptions"][0])
            tag = f"{desc[0]:%Y-%m-%d}" if len(desc) == 1 else None
        out.append(tag if tag is not None else date_in_name(f.name))
    if all(isinstance(d, list) and len(d) == 2 for d in out) and len({d[0] for d in out}) == 1:
        return [d[1] for d in out]  # ref_date-date names relative to a common first date
    result = []
    for f, d in zip(files, out, strict=True):
        if isinstance(d, list):
            if len(d) != 1:
                raise FormatError(
                    f"{f}: cannot tell the acquisition date from the name "
                    f"({len(d)} dates found); expected one YYYYMMDD date in the "
                    "name, a 'date' tag, or pass dates=[...]"
                )
            d = d[0]
        result.append(d)
    return result


def read_dem(
    path: str | Path, *, shape: tuple[int, int], transform: Affine | None = None, crs: Any = None
) -> np.ndarray:
    """A DEM GeoTIFF (metres) as float32; FormatError unless it has ``shape`` (and grid/CRS)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"DEM file not found: {p}")
    with _open(p) as src:
        if (src.height, src.width) != tuple(shape):
            raise FormatError(
                f"{p}: DEM has shape {(src.height, src.width)} but the displacement "
                f"grid is {tuple(shape)} (rows, columns); expected the same grid"
            )
        if crs is not None and src.crs is not None and src.crs != crs:
            raise FormatError(
                f"{p}: DEM CRS is {src.crs} but the displacement CRS is {crs}; "
                "expected the same CRS (reproject the DEM first)"
            )
        if transform is not None and not src.transform.almost_equals(
            transform, precision=1e-3 * abs(transform.a)
        ):
            raise FormatError(
                f"{p}: DEM geotransform {tuple(src.transform)[:6]} differs from the "
                f"displacement grid {tuple(transform)[:6]}; expected the same grid"
            )
        a = src.read(1, masked=True).astype(np.float32)
    return a.filled(np.nan)


def read_geotiff(
    path: Any,
    *,
    dem: str | Path | bool | None = None,
    dates: list[Any] | None = None,
    units: str | None = None,
    sign: float = 1.0,
    lazy: bool | None = None,
    chunks: Any = None,
    attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Read a GeoTIFF stack into the canonical Dataset (see the module docstring)."""
    import rioxarray

    files = _files(path)
    metas = []
    for f in files:
        with _open(f) as src:
            metas.append(
                {
                    "count": src.count,
                    "shape": (src.height, src.width),
                    "crs": src.crs,
                    "transform": src.transform,
                    "descriptions": list(src.descriptions),
                    "tags": src.tags(),
                    "band_tags": src.tags(1) if src.count else {},
                    "units": src.units[0] if src.units else None,
                    "itemsize": np.dtype(src.dtypes[0]).itemsize if src.count else 4,
                    "band_dates": [_tag(src.tags(b), "date") for b in range(1, src.count + 1)],
                }
            )
    first = metas[0]
    for f, m in zip(files[1:], metas[1:], strict=True):
        if (
            m["shape"] != first["shape"]
            or m["crs"] != first["crs"]
            or not m["transform"].almost_equals(
                first["transform"], precision=1e-3 * abs(first["transform"].a)
            )
        ):
            raise FormatError(
                f"{f}: grid {m['shape']} {m['crs']} {tuple(m['transform'])[:6]} differs "
                f"from {files[0]}; expected all dates on the same grid"
            )
        if m["count"] != 1:
            raise FormatError(f"{f}: has {m['count']} bands; one file per date must be single-band")
    if len(files) == 1 and first["count"] > 1:
        raw = dates or [
            d or b for d, b in zip(first["descriptions"], first["band_dates"], strict=True)
        ]
        if len(raw) != first["count"] or any(r is None for r in raw):
            raise FormatError(
                f"{files[0]}: {first['count']} bands but band descriptions/'date' tags "
                f"{raw} do not give a date for each; expected YYYY-MM-DD or YYYYMMDD "
                "per band, or pass dates=[...]"
            )
        t = parse_dates(raw, source=str(files[0]), what="band dates")
    else:
        raw = list(dates) if dates is not None else _file_dates(files, metas)
        if len(raw) != len(files):
            raise ParameterError(f"dates has {len(raw)} entries for {len(files)} files")
        t = parse_dates(raw, source=str(files[0].parent), what="file dates", check_increasing=False)
        order = np.argsort(t.asi8, kind="stable")
        files, t = [files[i] for i in order], t[order]
        check_strictly_increasing(t, source=str(files[0].parent), what="file dates")
    src_units = (
        units
        or _tag(first["tags"], "units", "unit")
        or _tag(first["band_tags"], "units")
        or first["units"]
    )
    if src_units is None:
        log.info("%s: no units tag; GeoTIFF displacement is taken as millimetres", files[0])
    scale = np.float32(
        mm_per_unit(src_units or "mm", source=str(files[0]), what="displacement") * sign
    )
    claimed = sum(m["count"] for m in metas)
    check_claimed_size(
        (claimed, *first["shape"]),
        first["itemsize"],
        files_size(files),
        source=str(files[0]),
        what="the raster stack",
    )
    lazy_ = want_lazy(
        files, lazy, nbytes=claimed * first["itemsize"] * int(np.prod(first["shape"]))
    )
    opened = [
        rioxarray.open_rasterio(f, masked=True, chunks=(chunks or True) if lazy_ else None)
        for f in files
    ]
    cube_da = xr.concat(opened, dim="band") if len(opened) > 1 else opened[0]
    data = cube_da.data if lazy_ else np.asarray(cube_da.values)
    data = data.astype(np.float32, copy=False) * scale
    data = relative_to_first(data, source=str(files[0]))
    y, x = np.asarray(cube_da["y"].values, np.float64), np.asarray(cube_da["x"].values, np.float64)
    tags = first["tags"]
    if first["crs"] is not None:
        epsg = first["crs"].to_epsg()
        crs = f"EPSG:{epsg}" if epsg else first["crs"].to_wkt()
        xy_units = crs_units(crs)
    else:
        crs = tags.get("insar_ae_crs", "unknown")
        xy_units = tags.get("insar_ae_xy_units", "pixel" if first["transform"].is_identity else "m")
    shape = first["shape"]
    dem_path = None
    if dem is not False:
        if dem not in (None, True):
            dem_path = Path(dem)
        else:
            stem = files[0].name.split(".")[0]
            cands = [files[0].with_name(f"{stem}.dem.tif")] + [
                files[0].parent / f"{n}.tif" for n in _DEM_NAMES
            ]
            dem_path = next((c for c in cands if c.is_file()), None)
    out_attrs: dict[str, Any] = {
        "title": files[0].stem if len(files) == 1 else files[0].parent.name,
        "source": "; ".join(str(f.resolve()) for f in files),
        "format": "geotiff",
        "sensor": "unknown",
    }
    for k in _ATTR_TAGS:
        if k in tags:
            out_attrs[k] = float(tags[k]) if k.endswith(("_m", "_deg")) else tags[k]
    if dem_path is not None:
        height = read_dem(dem_path, shape=shape, transform=first["transform"], crs=first["crs"])
        out_attrs["height_source"] = str(dem_path.resolve())
    else:
        if dem is not False:
            warnings.warn(
                f"{files[0]}: no DEM found (dem.tif / <stem>.dem.tif beside it); height is NaN "
                "— give the DEM (CLI --geometry FILE, Python dem=FILE)",
                stacklevel=3,
            )
        height = np.full(shape, np.nan, dtype=np.float32)
    mask = None
    mask_path = files[0].with_name(f"{files[0].name.split('.')[0]}.mask.tif")
    if len(files) == 1 and mask_path.is_file():
        mask = read_dem(mask_path, shape=shape) > 0
        out_attrs["mask_source"] = str(mask_path.resolve())
    ds = make_dataset(data, height, t, y, x, mask=mask, crs=crs, xy_units=xy_units, attrs=out_attrs)
    return finish(ds, attrs)


# ---------------------------------------------------------------------------------------- write
def linear_velocity(da: xr.DataArray) -> xr.DataArray:
    """Per-pixel linear rate (mm/yr) of a (time, y, x) mm cube: the rate map of the notebooks
    and the dashboard, :func:`insar_ae.analysis.velocity` with its defaults (one algorithm).

    Weighted least squares ``d = c + v t`` on each pixel's finite dates, ``t`` in years of
    365.25 days from the first date; NaN where fewer than 80 % of the dates are finite
    (``min_valid=0.8``). Sign as the input (positive toward the satellite). This is what
    ``write_geotiff(what="velocity")`` writes; kept under this name for old imports.
    """
    from insar_ae.analysis.velocity import velocity  # lazy: insar_ae.io stays light to import

    return velocity(da).assign_attrs(long_name="LOS velocity")


def _transform(ds: xr.Dataset) -> Affine:
    out = []
    for dim in ("x", "y"):
        c = np.asarray(ds[dim].values, dtype=np.float64)
        d = np.diff(c) if c.size > 1 else np.array([1.0 if dim == "x" else -1.0])
        if not np.allclose(d, d[0], rtol=1e-5, atol=0):
            raise ParameterError(
                f"coordinate {dim!r} is not regularly spaced; GeoTIFF needs a regular grid"
            )
        out.append((c[0], d[0]))
    (x0, dx), (y0, dy) = out
    return Affine(dx, 0.0, x0 - dx / 2, 0.0, dy, y0 - dy / 2)


def _write_raster(
    path: Path,
    bands: list[Any],
    ds: xr.Dataset,
    descriptions: list[str],
    tags: dict[str, Any],
    dtype: str = "float32",
    *,
    overwrite: bool = False,
    role: str = "output",
) -> None:
    ny, nx = ds.sizes["y"], ds.sizes["x"]
    crs_text = str(ds["x"].attrs.get("crs", ds.attrs.get("crs", "")))
    crs = (
        crs_text
        if crs_text.upper().startswith(("EPSG:", "GEOGCRS", "PROJCRS", "GEOGCS", "PROJCS"))
        else None
    )
    profile = {
        "driver": "GTiff",
        "height": ny,
        "width": nx,
        "count": len(bands),
        "dtype": dtype,
        "crs": crs,
        "transform": _transform(ds),
        "compress": "deflate",
        "BIGTIFF": "IF_SAFER",
        "nodata": np.nan if dtype == "float32" else None,
    }
    if ny >= 256 and nx >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    extra = (
        {}
        if crs
        else {
            "insar_ae_crs": crs_text or "unknown",
            "insar_ae_xy_units": str(ds["x"].attrs.get("units", "m")),
        }
    )
    with (
        atomic_path(path, overwrite=overwrite, role=role) as tmp,
        rasterio.open(tmp, "w", **profile) as dst,
    ):
        for i, (band, desc) in enumerate(zip(bands, descriptions, strict=True), start=1):
            a = np.asarray(getattr(band, "values", band), dtype=dtype)
            if a.dtype.kind == "f" and np.isinf(a).any():  # +-inf is not data: NaN
                a = np.where(np.isinf(a), np.array(np.nan, a.dtype), a)
            dst.write(a, i)
            dst.set_band_description(i, desc)
        dst.update_tags(**{k: str(v) for k, v in {**tags, **extra}.items()})


def write_geotiff(
    ds: xr.Dataset,
    path: str | Path,
    *,
    what: str = "stack",
    date: Any = None,
    variable: str = "displacement",
    overwrite: bool = False,
    dem: bool = True,
) -> Path:
    """Write a GeoTIFF: ``what`` = "stack" | "date" | "cumulative" | "velocity" (module docstring)."""
    validate(ds)
    if variable not in ds or ds[variable].dims != DIMS:
        cubes = [n for n in ds.data_vars if ds[n].dims == DIMS]
        raise ParameterError(
            f"variable={variable!r} is not a (time, y, x) cube; choose one of {cubes}"
        )
    kinds = ("stack", "date", "cumulative", "velocity")
    if what not in kinds:
        raise ParameterError(f"what={what!r}; expected one of {kinds}")
    inputs = input_paths(ds)
    out = check_output(path, overwrite=overwrite, inputs=inputs)
    da = ds[variable]
    times = pd.DatetimeIndex(ds["time"].values)
    tags: dict[str, Any] = {
        "variable": variable,
        "units": "mm",
        "positive": "toward the satellite",
        "reference_date": f"{times[0]:%Y-%m-%d}",
    }
    tags.update({k: ds.attrs[k] for k in _ATTR_TAGS if k in ds.attrs})
    if what == "stack":
        bands = [da.isel(time=i) for i in range(len(times))]  # computed one at a time
        desc = [f"{t:%Y-%m-%d}" for t in times]
    elif what == "velocity":
        rate = linear_velocity(da)
        bands, desc = [rate.values], [f"velocity {times[0]:%Y-%m-%d}..{times[-1]:%Y-%m-%d}"]
        tags.update(
            units="mm/yr",
            start=f"{times[0]:%Y-%m-%d}",
            end=f"{times[-1]:%Y-%m-%d}",
            rate_model=f"{rate.attrs['model']} (insar_ae.analysis.velocity)",
        )
    else:
        if what == "date":
            if date is None:
                raise ParameterError("what='date' needs date=YYYY-MM-DD")
            when = pd.Timestamp(date)
            if when not in times:
                raise ParameterError(
                    f"date={date!r} is not an acquisition date; dates run from "
                    f"{times[0]:%Y-%m-%d} to {times[-1]:%Y-%m-%d} ({len(times)} dates)"
                )
        else:
            when = times[-1]
        bands, desc = [da.sel(time=when).values], [f"{when:%Y-%m-%d}"]
        tags["date"] = f"{when:%Y-%m-%d}"
    side = {
        "dem": out.with_name(f"{out.name.split('.')[0]}.dem.tif"),
        "mask": out.with_name(f"{out.name.split('.')[0]}.mask.tif"),
    }
    write_side = dem and what == "stack"
    if write_side:
        check_output(side["dem"], overwrite=overwrite, inputs=inputs, role="DEM file")
        if "mask" in ds:
            check_output(side["mask"], overwrite=overwrite, inputs=inputs, role="mask file")
    _write_raster(out, bands, ds, desc, tags, overwrite=overwrite)
    if write_side:
        _write_raster(
            side["dem"],
            [ds["height"].values],
            ds,
            ["height"],
            {"units": "m"},
            overwrite=overwrite,
            role="DEM file",
        )
        if "mask" in ds:
            _write_raster(
                side["mask"],
                [ds["mask"].values.astype(np.uint8)],
                ds,
                ["valid"],
                {},
                "uint8",
                overwrite=overwrite,
                role="mask file",
            )
    return out
