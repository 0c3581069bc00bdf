"""Denoised results shared by every session of every server process on this machine (on disk).

A result is stored once per (frame content, model SHA-256, options) as a compressed NetCDF
holding ``deformation`` only (``noise`` is ``displacement - deformation``, recomputed on
load), so a reload, a second user or a restarted server gets it at once instead of denoising
again. Writes are atomic (``insar_ae.atomic.atomic_path``); the folder is kept under a size
limit by removing the least recently used results.

Settings (server side only): ``INSAR_AE_RESULT_CACHE`` (folder; default
``$XDG_CACHE_HOME/insar_ae/results``, ``off`` disables it) and ``INSAR_AE_RESULT_CACHE_GB``
(size limit, default 5 GB).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from insar_ae.datamodel import output_attrs

__all__ = ["ResultCache", "default_cache", "frame_fingerprint", "model_sha256"]

log = logging.getLogger(__name__)
_SUFFIX = ".nc"


def frame_fingerprint(ds: xr.Dataset) -> str:
    """SHA-256 of what a denoised result depends on in the frame: shape, dates, coordinates
    and the displacement of the first, middle and last dates (cheap: three maps)."""
    h = hashlib.sha256()
    da = ds["displacement"].transpose("time", "y", "x")
    n = da.sizes["time"]
    h.update(repr(tuple(da.shape)).encode())
    for c in ("time", "y", "x"):
        h.update(np.ascontiguousarray(ds[c].values).tobytes())
    for i in sorted({0, n // 2, n - 1}):
        h.update(
            np.ascontiguousarray(np.asarray(da.isel(time=i).values, dtype=np.float32)).tobytes()
        )
    if "height" in ds:
        h.update(np.ascontiguousarray(np.asarray(ds["height"].values, dtype=np.float32)).tobytes())
    return h.hexdigest()


def model_sha256(model_name: str) -> str:
    """SHA-256 of a shipped model's weights, from the registry ("" when unknown)."""
    from insar_ae.model import read_registry

    try:
        return str(read_registry().get(model_name, {}).get("sha256", ""))
    except Exception:  # a broken registry is reported when denoising starts
        return ""


class ResultCache:
    """Folder of denoised results, keyed by frame fingerprint, model SHA-256 and options.

    Parameters
    ----------
    folder
        Where results live (created on first write).
    max_bytes
        Size limit of the folder; the least recently used results go first.
    """

    def __init__(self, folder: str | os.PathLike[str], max_bytes: int = 5 * 1024**3) -> None:
        self.folder = Path(folder)
        self.max_bytes = int(max_bytes)
        self._lock = threading.Lock()

    @staticmethod
    def key(fingerprint: str, model_sha: str, options: dict[str, Any]) -> str:
        """The file stem of a result: SHA-256 of its frame, model and options."""
        blob = json.dumps(
            {"frame": fingerprint, "model": model_sha, "options": options}, sort_keys=True
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    def path(self, key: str) -> Path:
        return self.folder / f"{key}{_SUFFIX}"

    def get(self, key: str, ds: xr.Dataset) -> xr.Dataset | None:
        """``ds`` with the stored ``deformation`` and ``noise`` (mm), or None when absent."""
        p = self.path(key)
        if not p.exists():
            return None
        try:
            with xr.open_dataset(p, engine="h5netcdf") as stored:
                deformation = stored["deformation"].load()
            os.utime(p)  # least recently used goes first
        except (OSError, ValueError, KeyError) as err:
            log.warning("unreadable cached result %s (%s): ignored", p.name, err)
            return None
        deformation = deformation.assign_coords({c: ds[c] for c in ("time", "y", "x")})
        deformation.attrs = {k: v for k, v in deformation.attrs.items() if k != "source"}
        noise = (ds["displacement"] - deformation).astype(np.float32)
        noise.attrs = output_attrs("noise")  # the one definition, insar_ae.datamodel
        return ds.assign(deformation=deformation, noise=noise)

    def put(self, key: str, result: xr.Dataset) -> Path | None:
        """Store ``result['deformation']`` (compressed, atomic), then trim to the size limit."""
        from insar_ae.atomic import atomic_path

        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(key)
        out = xr.Dataset({"deformation": result["deformation"].astype(np.float32)})
        out.attrs = {"insar_ae_cache_key": key}
        enc = {"deformation": {"zlib": True, "complevel": 1, "shuffle": True}}
        try:
            with atomic_path(target, overwrite=True) as tmp:
                out.to_netcdf(tmp, encoding=enc, engine="h5netcdf")
        except (OSError, ValueError) as err:
            log.warning("could not cache the denoised result (%s)", err)
            return None
        self.trim()
        return target

    def trim(self) -> list[Path]:
        """Remove least recently used results until the folder fits ``max_bytes``."""
        with self._lock:
            files = sorted(self.folder.glob(f"*{_SUFFIX}"), key=lambda p: p.stat().st_mtime)
            total = sum(p.stat().st_size for p in files)
            removed = []
            while files and total > self.max_bytes:
                p = files.pop(0)
                total -= p.stat().st_size
                p.unlink(missing_ok=True)
                removed.append(p)
            return removed

    def size_bytes(self) -> int:
        return (
            sum(p.stat().st_size for p in self.folder.glob(f"*{_SUFFIX}"))
            if self.folder.exists()
            else 0
        )


_default: ResultCache | None = None
_default_lock = threading.Lock()


def default_cache() -> ResultCache | None:
    """The server-wide cache from the environment (see module doc); None when switched off."""
    global _default
    folder = os.environ.get("INSAR_AE_RESULT_CACHE", "")
    if folder.lower() in ("off", "0", "none"):
        return None
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        folder = str(Path(base) / "insar_ae" / "results")
    limit = int(float(os.environ.get("INSAR_AE_RESULT_CACHE_GB", "5")) * 1024**3)
    with _default_lock:
        if _default is None or _default.folder != Path(folder) or _default.max_bytes != limit:
            _default = ResultCache(folder, limit)
        return _default
