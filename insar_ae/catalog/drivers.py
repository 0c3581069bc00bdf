"""Intake (v1-style) data sources for the catalogs (``insar_ae/catalog/catalog.yaml`` and lab ones).

- :class:`SyntheticFrame` (``driver: insar_ae.catalog.drivers.SyntheticFrame``): a preset of
  :func:`insar_ae.synthetic.make_scene`, generated deterministically on first use and cached
  (see :mod:`insar_ae.catalog.cache`).
- :class:`FrameFile` (``driver: insar_ae.catalog.drivers.FrameFile``): any file
  :func:`insar_ae.io.open_frame` reads (MintPy, LiCSBAS, NetCDF, Zarr, GeoTIFF); a relative
  ``path`` (and ``geometry``, ``mask``, ``height``, ``dem``) is resolved against the directory
  of the catalog file, and refused before anything is opened unless it lies under that
  directory or a data root the catalog declares (``insar_ae_data_roots``).

Both return canonical, validated ``xarray.Dataset`` objects from ``read()`` (and ``to_dask()``,
which opens lazily); ``discover()`` answers from the entry metadata without reading data. The
validation is the reader's (:func:`insar_ae.io.open_frame`, also behind the synthetic cache):
the drivers trust it and do not check again (one validation per boundary, decision 81).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import xarray as xr
from intake.source.base import DataSource, Schema

from insar_ae import __version__
from insar_ae.errors import CatalogError

__all__ = ["FrameFile", "SyntheticFrame", "resolve_path"]

_PATH_ARGS = ("geometry", "mask", "height", "dem")


def resolve_path(
    path: str | os.PathLike[str],
    catalog_dir: str | None,
    *,
    roots: list[str] | None = None,
    what: str = "catalog entry",
) -> str:
    """``path`` made absolute against ``catalog_dir`` when relative (URLs are left alone).

    With ``roots`` (folders, or URL prefixes), the path is resolved (``..`` and symbolic links
    followed, nothing opened) and refused with a :class:`CatalogError` unless it lies under one
    of them: what a catalog may name (see :mod:`insar_ae.catalog`)."""
    text = os.fspath(path)
    if "://" in text or Path(text).expanduser().is_absolute() or not catalog_dir:
        full = str(Path(text).expanduser()) if "://" not in text else text
    else:
        base = catalog_dir.removeprefix("file://")
        if "://" in base:
            full = base.rstrip("/") + "/" + text
        else:
            full = str((Path(base) / text).resolve())
    if roots is not None:
        _check_inside(text, full, roots, what)
    return full


def _check_inside(text: str, full: str, roots: list[str], what: str) -> None:
    """Refuse ``full`` (from ``text``) unless it is under one of ``roots``."""
    if "://" in full:
        ok = any("://" in r and full.startswith(r.rstrip("/") + "/") for r in roots)
    else:
        real = os.path.realpath(full)
        ok = any(
            "://" not in r
            and os.path.commonpath([real, os.path.realpath(r)]) == os.path.realpath(r)
            for r in roots
        )
    if not ok:
        where = full if "://" in full else os.path.realpath(full)
        raise CatalogError(
            f"{what}: path {text!r} resolves to {where}, outside the catalog's "
            f"folder and its data roots {roots}; refused before "
            "opening. A catalog may name files under its own folder or under a folder "
            "listed in its metadata 'insar_ae_data_roots'"
        )


def _roots(metadata: dict[str, Any] | None) -> list[str] | None:
    """The folders a catalog entry may name: from the catalog (``insar_ae.catalog`` puts them in
    the entry metadata), else the catalog's folder; None outside a catalog (no check)."""
    md = metadata or {}
    roots = md.get("insar_ae_data_roots")
    if roots:
        return [str(r) for r in roots]
    d = md.get("catalog_dir")
    return [d.removeprefix("file://")] if d else None


class _FrameSource(DataSource):
    container = "xarray"
    version = __version__
    partition_access = False

    def _get_schema(self) -> Schema:
        md = self.metadata or {}
        dates = md.get("dates") or {}
        shape = md.get("shape")
        n = dates.get("n_dates")
        return Schema(
            datashape=None,
            dtype=None,
            shape=(n, *shape) if (n and shape) else None,
            npartitions=1,
            extra_metadata={},
        )

    def _get_partition(self, i: int) -> xr.Dataset:
        return self.read()

    def to_dask(self) -> xr.Dataset:
        """The frame with dask-backed arrays (nothing loaded)."""
        return self._open(lazy=True)

    def read(self) -> xr.Dataset:
        """The frame as a canonical Dataset (small files in memory, large ones lazily)."""
        return self._open(lazy=None)

    def _open(self, lazy: bool | None) -> xr.Dataset:
        raise NotImplementedError

    def _close(self) -> None:
        pass


class SyntheticFrame(_FrameSource):
    """A cached synthetic scene: ``make_scene(preset, seed, shape=shape, n_dates=n_dates, **overrides)``."""

    name = "insar_ae_synthetic"

    def __init__(
        self,
        preset: str,
        seed: int = 0,
        shape: Any = (256, 256),
        n_dates: int | None = None,
        overrides: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        storage_options: dict[str, Any] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(metadata=metadata)
        try:
            self.shape_yx = (int(shape[0]), int(shape[1]))
        except (TypeError, ValueError, IndexError):
            raise CatalogError(
                f"synthetic frame {preset!r}: shape={shape!r}; expected [ny, nx]"
            ) from None
        self.preset = str(preset)
        self.seed = int(seed)
        self.n_dates = None if n_dates in (None, "", "None") else int(n_dates)
        self.overrides = {**(overrides or {}), **kw}

    def _open(self, lazy: bool | None) -> xr.Dataset:
        from insar_ae.catalog.cache import cached_scene

        ds = cached_scene(
            self.preset, self.seed, shape=self.shape_yx, n_dates=self.n_dates, **self.overrides
        )
        if lazy and ds["displacement"].chunks is None:
            ds = ds.chunk({"time": 1})
        return ds  # validated by the reader of the cached NetCDF


class FrameFile(_FrameSource):
    """A user file opened with :func:`insar_ae.io.open_frame` (``format`` None = sniffed)."""

    name = "insar_ae_file"

    def __init__(
        self,
        path: str,
        format: str | None = None,
        metadata: dict[str, Any] | None = None,
        storage_options: dict[str, Any] | None = None,
        **open_kwargs: Any,
    ) -> None:
        super().__init__(metadata=metadata)
        if not path:
            raise CatalogError("FrameFile needs a path (set the entry's 'path' parameter)")
        catalog_dir, roots = (metadata or {}).get("catalog_dir"), _roots(metadata)
        self.path = resolve_path(path, catalog_dir, roots=roots, what="catalog entry path")
        self.format = format or None
        self.open_kwargs = dict(open_kwargs)
        for key in _PATH_ARGS:  # sidecar files given in the catalog are relative to it too
            if isinstance(self.open_kwargs.get(key), str) and self.open_kwargs[key]:
                self.open_kwargs[key] = resolve_path(
                    self.open_kwargs[key], catalog_dir, roots=roots, what=f"catalog entry {key}"
                )
        if storage_options:
            self.open_kwargs["storage_options"] = storage_options

    def _open(self, lazy: bool | None) -> xr.Dataset:
        from insar_ae.io import open_frame

        kw = dict(self.open_kwargs)
        if lazy is not None:
            kw["lazy"] = lazy
        return open_frame(self.path, format=self.format, **kw)
