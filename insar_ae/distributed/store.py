"""The output Zarr store of a block-wise run: template, per-block region writes, atomic finish.

A run writes into a hidden *state directory* beside the requested output::

    <parent>/.<name>.insar_ae-partial/
        store.zarr/         the output store, filled block by block (region writes)
        done/<iy>-<ix>      one empty marker per block whose region write completed
        fingerprint.json    what the store is being computed from (input, block layout, model
                            weights' SHA-256, every option that changes the output)
        attrs.json          output attributes of the model (from the first finished block)

Only when every block is done is ``store.zarr`` renamed onto ``<parent>/<name>`` (same
directory, so the rename is atomic): a killed run never leaves a half-written output under the
final name, and a rerun with the same fingerprint resumes from the blocks already done. State
files are written atomically; a state directory whose files do not parse (a disk filled up, a
hand edit) is reported with a warning and rebuilt from scratch, never trusted nor fatal.

Output blocks are aligned with the Zarr chunks in ``y`` and ``x`` (chunk = block size), so
concurrent writers never touch the same chunk.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from insar_ae.atomic import move_into_place
from insar_ae.atomic import write_text as atomic_write_text
from insar_ae.datamodel import OUTPUT_ATTRS
from insar_ae.errors import ParameterError

__all__ = ["OUTPUT_CUBES", "PartialStore", "output_template", "write_region"]

log = logging.getLogger(__name__)

#: Variables the model adds, (time, y, x) mm, same sign convention as ``displacement``: an alias
#: of the one (read-only) definition, :data:`insar_ae.datamodel.OUTPUT_ATTRS`.
OUTPUT_CUBES: Mapping[str, Mapping[str, str]] = OUTPUT_ATTRS
#: Zarr format of the outputs (v2, like ``insar_ae.io``'s canonical Zarr).
ZARR_FORMAT = 2
#: Target size of one Zarr chunk of a cube (bytes); the time chunk is chosen to stay near it.
_CHUNK_BYTES = 32 * 2**20


def _chunks_for(
    dims: tuple[str, ...], sizes: Mapping[str, int], block: int, itemsize: int
) -> tuple[int, ...]:
    """Zarr chunks: ``block`` in y/x (aligned with the blocks), time chunked to ~32 MiB."""
    out = []
    for d in dims:
        if d in ("y", "x"):
            out.append(max(1, min(block, sizes[d])))
        elif d == "time":
            per_date = itemsize * min(block, sizes.get("y", 1)) * min(block, sizes.get("x", 1))
            out.append(max(1, min(sizes[d], _CHUNK_BYTES // max(per_date, 1))))
        else:
            out.append(sizes[d])
    return tuple(out)


def output_template(ds: xr.Dataset, *, block: int) -> tuple[xr.Dataset, dict[str, dict[str, Any]]]:
    """Lazy all-empty template of the output and its Zarr encoding (nothing big is computed).

    The output holds every data variable of ``ds`` with ``y``/``x`` dims (copied block by block)
    plus ``deformation`` and ``noise`` (float32, (time, y, x), mm), laid out exactly as
    :func:`insar_ae.io.write_frame` writes canonical Zarr (CF attributes, grid mapping, time
    encoding; :func:`insar_ae.io.netcdf.to_cf`), so :func:`insar_ae.io.open_frame` reads it.
    Data variables are ``dask.array.empty`` so that ``to_zarr(compute=False)`` writes metadata
    and coordinates only. (``to_cf`` validates ``ds``: one date of a lazy input is read.)
    """
    import dask.array as dsa

    from insar_ae.io.netcdf import to_cf

    sizes = dict(ds.sizes)
    dropped = [k for k, v in ds.data_vars.items() if not {"y", "x"} & set(v.dims)]
    if dropped:
        log.warning(
            "variables without y/x dims are not carried to the block-wise output: %s", dropped
        )
    full = ds.drop_vars(dropped)
    for name, attrs in OUTPUT_CUBES.items():
        if name not in full.data_vars:
            placeholder = dsa.zeros(
                tuple(sizes[d] for d in ("time", "y", "x")), dtype=np.float32, chunks=-1
            )
            full[name] = (("time", "y", "x"), placeholder, dict(attrs))
    cube = _chunks_for(("time", "y", "x"), sizes, block, 4)
    cf, encoding = to_cf(full, cube_chunks=cube)
    data_vars: dict[str, Any] = {}
    for name, var in cf.data_vars.items():
        enc = dict(encoding.get(name, {}))
        enc.pop("chunksizes", None)
        chunks = _chunks_for(var.dims, sizes, block, var.dtype.itemsize)
        enc["chunks"] = chunks
        encoding[name] = enc
        empty = dsa.empty(var.shape, dtype=var.dtype, chunks=chunks)
        data_vars[name] = (var.dims, empty, var.attrs)
    coords = cf.coords.to_dataset().compute()
    template = xr.Dataset(data_vars, coords=coords.coords, attrs=cf.attrs)
    return template, encoding


def write_region(part: xr.Dataset, store: str | os.PathLike[str], *, y: slice, x: slice) -> None:
    """Write the data variables of ``part`` (already cropped to the block core) into ``store``.

    Coordinates and variables without ``y``/``x`` are not rewritten (the template has them).
    """
    keep = {k: v.variable for k, v in part.data_vars.items() if {"y", "x"} <= set(v.dims)}
    xr.Dataset(keep).to_zarr(
        os.fspath(store),
        region={"y": y, "x": x},
        mode="r+",
        zarr_format=ZARR_FORMAT,
        consolidated=True,
    )


class PartialStore:
    """State directory of one output (see the module docstring).

    Parameters
    ----------
    out
        Final output path (a Zarr directory store).
    fingerprint
        JSON-serialisable description of what is computed; a state directory with another
        fingerprint is discarded rather than resumed.
    """

    def __init__(self, out: str | os.PathLike[str], fingerprint: Mapping[str, Any]) -> None:
        self.out = Path(out).absolute()
        self.fingerprint = json.loads(json.dumps(dict(fingerprint), sort_keys=True, default=str))
        self.state = self.out.parent / f".{self.out.name}.insar_ae-partial"
        self.store = self.state / "store.zarr"
        self.done_dir = self.state / "done"

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def attrs_file(self) -> Path:
        """``attrs.json``: the model's output attributes, kept for :meth:`finish`."""
        return self.state / "attrs.json"

    def open(
        self, template: xr.Dataset, encoding: Mapping[str, Any], *, resume: bool = True
    ) -> set[str]:
        """Create (or resume) the state directory; return the keys of blocks already done."""
        if resume and self._matches():
            done = {p.name for p in self.done_dir.iterdir()}
            log.info("resuming %s: %d blocks already done", self.out, len(done))
            return done
        if self.state.exists():
            log.info("discarding stale partial output %s", self.state)
            shutil.rmtree(self.state)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.state.mkdir()
        self.done_dir.mkdir()
        template.to_zarr(
            os.fspath(self.store),
            mode="w",
            compute=False,
            encoding=dict(encoding),
            zarr_format=ZARR_FORMAT,
            consolidated=True,
        )
        atomic_write_text(
            self.state / "fingerprint.json", json.dumps(self.fingerprint, sort_keys=True, indent=1)
        )
        return set()

    def _matches(self) -> bool:
        """True when the state directory is intact and was made for the same fingerprint.

        A state file that does not parse is reported (warning) and makes the state be rebuilt.
        """
        f = self.state / "fingerprint.json"
        if not self.state.exists():
            return False
        if not (f.is_file() and self.store.is_dir() and self.done_dir.is_dir()):
            self._report_corrupt("incomplete (fingerprint.json, store.zarr or done/ missing)")
            return False
        try:
            found = json.loads(f.read_text())
        except (OSError, ValueError) as exc:
            self._report_corrupt(f"fingerprint.json does not parse ({exc})")
            return False
        if found != self.fingerprint:
            log.info("partial output %s was made for other inputs/options; not resumed", self.state)
            return False
        for meta in (self.attrs_file, self.store / ".zmetadata"):
            if not meta.exists():
                continue
            try:
                value = json.loads(meta.read_text())
                if not isinstance(value, dict):
                    raise ValueError(f"expected a JSON object, got {type(value).__name__}")
            except (OSError, ValueError) as exc:
                self._report_corrupt(f"{meta.relative_to(self.state)} does not parse ({exc})")
                return False
        return True

    def _report_corrupt(self, why: str) -> None:
        msg = (
            f"partial output {self.state} is corrupt: {why}; discarding it and starting "
            "this frame again"
        )
        log.warning(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=3)

    def write_attrs(self, var_attrs: Mapping[str, Mapping[str, Any]]) -> None:
        """Keep the model's output attributes (atomically; the first block's win)."""
        if not self.attrs_file.exists():
            atomic_write_text(self.attrs_file, json.dumps(_jsonable_nested(var_attrs)))

    def read_attrs(self) -> dict[str, dict[str, Any]]:
        """The attributes kept by :meth:`write_attrs` (``{}`` when none yet)."""
        if not self.attrs_file.exists():
            return {}
        return json.loads(self.attrs_file.read_text())

    def done(self) -> set[str]:
        """Keys of the blocks recorded as written."""
        return {p.name for p in self.done_dir.iterdir()} if self.done_dir.is_dir() else set()

    def finish(
        self,
        *,
        attrs: Mapping[str, Any] | None = None,
        var_attrs: Mapping[str, Mapping[str, Any]] | None = None,
        expected: Iterable[str] = (),
        overwrite: bool = False,
    ) -> Path:
        """Update attributes, consolidate metadata and rename the store onto the output path.

        Raises
        ------
        ParameterError
            Some ``expected`` block is not marked done.
        OutputExistsError
            The output appeared during the run and not ``overwrite``.
        """
        import zarr

        missing = set(expected) - self.done()
        if missing:
            raise ParameterError(
                f"cannot finish {self.out}: {len(missing)} blocks not written "
                f"(e.g. {sorted(missing)[:3]})"
            )
        group = zarr.open_group(os.fspath(self.store), mode="r+", zarr_format=ZARR_FORMAT)
        if attrs:
            group.attrs.update(_jsonable(attrs))
        for name, va in (var_attrs or {}).items():
            if name in group and va:
                group[name].attrs.update(_jsonable(va))
        zarr.consolidate_metadata(os.fspath(self.store), zarr_format=ZARR_FORMAT)
        move_into_place(self.store, self.out, overwrite=overwrite)
        shutil.rmtree(self.state, ignore_errors=True)
        return self.out

    def discard(self) -> None:
        """Remove the state directory (the final output, if any, is left alone)."""
        shutil.rmtree(self.state, ignore_errors=True)


def _jsonable(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes as JSON-compatible values (numpy scalars/arrays to Python, others to str)."""
    out: dict[str, Any] = {}
    for k, v in attrs.items():
        if isinstance(v, np.generic):
            v = v.item()
        elif isinstance(v, np.ndarray):
            v = v.tolist()
        try:
            json.dumps(v)
        except TypeError:
            v = str(v)
        out[str(k)] = v
    return out


def _jsonable_nested(var_attrs: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(k): _jsonable(v) for k, v in var_attrs.items()}
