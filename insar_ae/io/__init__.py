"""Readers and writers: one module per format, one :func:`open_frame` / :func:`write_frame` pair.

Every reader returns a validated canonical Dataset (``insar_ae.datamodel``): displacement in
**mm**, LOS **positive toward the satellite**, relative to the first date; ``x``/``y`` at pixel
centres. Large files open lazily (dask), see ``LAZY_THRESHOLD_BYTES``. Formats:

=========  ===========================================  =====================================
format     read                                         write
=========  ===========================================  =====================================
mintpy     ``timeseries*.h5`` (+ geometry, mask)        ``timeseries.h5`` (+ sidecars)
licsbas    ``cum.h5``, ``cum_filt.h5`` (+ results/)     —
netcdf     canonical or CF-style ``.nc``                canonical CF NetCDF-4
zarr       canonical or CF-style store                  canonical Zarr (v2)
geotiff    multi-band file or one file per date + DEM   stack / date / cumulative / velocity
=========  ===========================================  =====================================

See ``docs/data-formats.md`` for conventions.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import xarray as xr

from insar_ae.errors import FormatError, OutputExistsError, ParameterError
from insar_ae.io._common import LAZY_THRESHOLD_BYTES

__all__ = [
    "FORMATS",
    "LAZY_THRESHOLD_BYTES",
    "WRITE_FORMATS",
    "OutputExistsError",
    "open_frame",
    "output_format",
    "output_paths",
    "sniff_format",
    "write_frame",
]

FORMATS: tuple[str, ...] = ("mintpy", "licsbas", "netcdf", "zarr", "geotiff")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_EXT_WRITE = {
    ".nc": "netcdf",
    ".nc4": "netcdf",
    ".netcdf": "netcdf",
    ".zarr": "zarr",
    ".tif": "geotiff",
    ".tiff": "geotiff",
    ".h5": "mintpy",
    ".he5": "mintpy",
    ".hdf5": "mintpy",
}


def _sniff_hdf5(p: Path) -> str:
    from insar_ae.io._h5 import open_h5
    from insar_ae.io.licsbas import is_licsbas
    from insar_ae.io.mintpy import is_mintpy

    with open_h5(p, expected="MintPy, LiCSBAS or NetCDF-4") as f:
        if is_mintpy(f):
            return "mintpy"
        if is_licsbas(f):
            return "licsbas"
        netcdf_like = "_NCProperties" in f.attrs or any(
            isinstance(d, h5py.Dataset) and "DIMENSION_LIST" in d.attrs for d in f.values()
        )
        if netcdf_like:
            return "netcdf"
        names = sorted(f.keys())
    raise FormatError(
        f"{p}: HDF5 file is neither MintPy (needs /timeseries and /date), LiCSBAS (needs cum and "
        f"imdates) nor NetCDF-4; datasets present: {names}"
    )


def sniff_format(path: Any) -> str:
    """Guess the format of ``path`` from its content (magic bytes, HDF5 datasets) and name.

    Lists, tuples, glob patterns and directories of ``*.tif`` are GeoTIFF stacks; directories
    with Zarr metadata are Zarr. Raises FileNotFoundError or FormatError.
    """
    if isinstance(path, (list, tuple)):
        return "geotiff"
    text = os.fspath(path)
    if "://" in text and not text.startswith("file://"):
        ext = Path(text.rstrip("/")).suffix.lower()
        if ext in {".zarr", ""}:
            return "zarr"
        return {".nc": "netcdf", ".nc4": "netcdf", ".h5": "netcdf"}.get(ext, "netcdf")
    if any(ch in text for ch in "*?["):
        return "geotiff"
    p = Path(text.removeprefix("file://")).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"no such file or directory: {p}")
    if p.is_dir():
        if any((p / m).exists() for m in (".zgroup", ".zarray", "zarr.json", ".zmetadata")):
            return "zarr"
        if any(f.suffix.lower() in {".tif", ".tiff"} for f in p.iterdir()):
            return "geotiff"
        raise FormatError(f"{p}: directory is neither a Zarr store nor a folder of GeoTIFFs")
    with open(p, "rb") as fh:
        magic = fh.read(8)
    if magic == _HDF5_MAGIC:
        return _sniff_hdf5(p)
    if magic[:3] == b"CDF":
        return "netcdf"
    if magic[:4] in _TIFF_MAGIC:
        return "geotiff"
    if p.suffix.lower() in {".h5", ".hdf5", ".he5", ".nc", ".nc4"}:
        raise FormatError(
            f"{p}: not an HDF5/NetCDF file (bad signature {magic!r}); the file may be "
            "truncated or corrupt"
        )
    raise FormatError(f"{p}: unrecognised format (signature {magic!r}); expected one of {FORMATS}")


def _reader(fmt: str) -> Callable[..., xr.Dataset]:
    if fmt == "mintpy":
        from insar_ae.io.mintpy import read_mintpy as r
    elif fmt == "licsbas":
        from insar_ae.io.licsbas import read_licsbas as r
    elif fmt == "netcdf":
        from insar_ae.io.netcdf import read_netcdf as r
    elif fmt == "zarr":
        from insar_ae.io.netcdf import read_zarr as r
    elif fmt == "geotiff":
        from insar_ae.io.geotiff import read_geotiff as r
    else:
        raise ParameterError(f"format={fmt!r}; expected one of {FORMATS} or None (sniff)")
    return r


def open_frame(path: Any, *, format: str | None = None, **kw: Any) -> xr.Dataset:
    """Open any supported file as a validated canonical Dataset.

    Parameters
    ----------
    path
        File, directory (Zarr store or folder of GeoTIFFs), glob pattern, list of GeoTIFFs, or
        URL (``file://``; remote NetCDF/Zarr through fsspec).
    format
        One of :data:`FORMATS`; None sniffs the content.
    **kw
        Passed to the reader: common ones are ``lazy`` (None = when large), ``chunks``,
        ``attrs`` (override/add attributes, e.g. ``{"incidence_deg": 39.7}``); per format
        ``geometry``/``mask`` (MintPy), ``height``/``mask`` (LiCSBAS), ``variable``/``units``
        (NetCDF/Zarr), ``dem``/``dates``/``units`` (GeoTIFF).

    Returns
    -------
    xarray.Dataset
        Displacement in mm, LOS positive toward the satellite, relative to the first date.
    """
    if isinstance(path, str) and path.startswith("file://"):
        path = path[len("file://") :]
    fmt = format or sniff_format(path)
    return _reader(fmt)(path, **kw)


#: Formats :func:`write_frame` writes; the first two hold every variable, the others one cube.
WRITE_FORMATS: tuple[str, ...] = ("netcdf", "zarr", "mintpy", "geotiff")


def output_format(path: str | os.PathLike[str], format: str | None = None) -> str:
    """The format :func:`write_frame` will use for ``path`` (``format``, else from the suffix).

    Raises ParameterError for an unsupported format or suffix, before anything is computed.
    """
    fmt = format or _EXT_WRITE.get(Path(path).suffix.lower())
    if fmt not in WRITE_FORMATS:
        got = f"format {format!r}" if format else f"suffix {Path(path).suffix or '(none)'!r}"
        raise ParameterError(
            f"cannot write {path}: unsupported {got}; expected one of {WRITE_FORMATS} "
            f"(suffixes {', '.join(sorted(_EXT_WRITE))})"
        )
    return fmt


def output_paths(path: str | os.PathLike[str], format: str | None = None) -> list[Path]:
    """Every file :func:`write_frame` may create for ``path``: the output first, then the side
    files of the format (MintPy ``<stem>_geometryGeo.h5``/``..Radar.h5``/``<stem>_mask.h5``,
    GeoTIFF ``<name>.dem.tif``/``<name>.mask.tif``); lets callers check them all up front."""
    out = Path(path)
    fmt = output_format(out, format)
    if fmt == "mintpy":
        return [out] + [
            out.with_name(f"{out.stem}{s}")
            for s in ("_geometryGeo.h5", "_geometryRadar.h5", "_mask.h5")
        ]
    if fmt == "geotiff":
        base = out.name.split(".")[0]
        return [out, out.with_name(f"{base}.dem.tif"), out.with_name(f"{base}.mask.tif")]
    return [out]


def write_frame(
    ds: xr.Dataset,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    overwrite: bool = False,
    **kw: Any,
) -> Path:
    """Write ``ds`` atomically; never onto one of its inputs; existing outputs need overwrite=True.

    ``format`` defaults from the suffix: ``.nc`` netcdf, ``.zarr`` zarr, ``.tif`` geotiff
    (``what="stack"|"date"|"cumulative"|"velocity"``), ``.h5`` mintpy (``variable=``). Returns
    the written path. Raises OutputExistsError (a FileExistsError) when the output exists.
    """
    fmt = output_format(path, format)
    if fmt == "mintpy":
        from insar_ae.io.mintpy import write_mintpy as w
    elif fmt == "netcdf":
        from insar_ae.io.netcdf import write_netcdf as w
    elif fmt == "zarr":
        from insar_ae.io.netcdf import write_zarr as w
    elif fmt == "geotiff":
        from insar_ae.io.geotiff import write_geotiff as w
    return w(ds, path, overwrite=overwrite, **kw)
