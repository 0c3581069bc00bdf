"""On-disk cache of generated synthetic frames (NetCDF, written atomically).

Location: ``$INSAR_AE_CACHE`` or ``platformdirs.user_cache_dir("insar_ae")`` — never the
repository. The file name carries the preset, seed, shape, number of dates and a hash of every
generator argument plus the package version, so a new version or any changed parameter makes a
new file; an unreadable cached file is regenerated.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import xarray as xr

from insar_ae import __version__
from insar_ae.errors import DataModelError, FormatError, OutputExistsError

__all__ = ["cache_dir", "cache_path", "cached_scene"]

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """``$INSAR_AE_CACHE`` or the platform user cache directory for insar_ae (created)."""
    env = os.environ.get("INSAR_AE_CACHE")
    if env:
        d = Path(env).expanduser()
    else:
        import platformdirs

        d = Path(platformdirs.user_cache_dir("insar_ae"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def cache_path(
    preset: str,
    seed: int,
    shape: tuple[int, int],
    n_dates: int | None,
    overrides: dict[str, Any] | None = None,
) -> Path:
    """Cache file for one generator call (key: preset, seed, shape, n_dates, overrides, version)."""
    key = {
        "preset": preset,
        "seed": int(seed),
        "shape": [int(v) for v in shape],
        "n_dates": None if n_dates is None else int(n_dates),
        "overrides": overrides or {},
        "version": __version__,
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:12]
    n = "default" if n_dates is None else str(int(n_dates))
    name = (
        f"{preset}_seed{int(seed)}_{int(shape[0])}x{int(shape[1])}_t{n}_v{__version__}_{digest}.nc"
    )
    return cache_dir() / name


def cached_scene(
    preset: str,
    seed: int = 0,
    *,
    shape: tuple[int, int] = (256, 256),
    n_dates: int | None = None,
    **overrides: Any,
) -> xr.Dataset:
    """``insar_ae.synthetic.make_scene(...)`` generated once, then read from the cache.

    The returned Dataset is read back from the cached NetCDF (lazily when large), so what a
    caller sees on first and later use is identical.
    """
    from insar_ae.io import open_frame, write_frame

    path = cache_path(preset, seed, shape, n_dates, overrides)
    if path.exists():
        try:
            return open_frame(path, format="netcdf")
        except (FormatError, DataModelError, OSError) as err:
            log.warning("cached frame %s is unreadable (%s); regenerating", path, err)
            path.unlink(missing_ok=True)
    from insar_ae.synthetic import make_scene

    log.info(
        "generating synthetic frame %s (seed %s, shape %s, n_dates %s) into %s",
        preset,
        seed,
        shape,
        n_dates,
        path,
    )
    ds = make_scene(preset, seed, shape=tuple(shape), n_dates=n_dates, **overrides)
    ds.attrs["generator"] = ds.attrs.get("source", "insar_ae.synthetic.make_scene")
    try:
        write_frame(ds, path, format="netcdf")
    except OutputExistsError:
        log.info("%s was written meanwhile by another process", path)
    return open_frame(path, format="netcdf")
