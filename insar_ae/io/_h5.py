"""HDF5 helpers shared by the MintPy and LiCSBAS readers.

:class:`H5Array` is a picklable array-like over one HDF5 dataset: it holds only the file path
and dataset name, opens the file on first access in each process (and again after
unpickling), so dask graphs built on it run in threads, processes or on a distributed cluster.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import dask.array as da
import h5py
import numpy as np
from dask.base import tokenize

from insar_ae.errors import FormatError

__all__ = ["H5Array", "dataset_array", "decode_attrs", "open_h5", "read_scalar"]

_CHUNK_LIMIT = "16MiB"


def open_h5(path: str | os.PathLike[str], *, expected: str = "an HDF5 file") -> h5py.File:
    """Open ``path`` read-only; a missing file raises FileNotFoundError, a corrupt one FormatError."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file: {p}")
    try:
        return h5py.File(p, "r")
    except OSError as err:
        raise FormatError(
            f"{p}: cannot be read as HDF5 ({err}); the file may be truncated or corrupt — "
            f"expected {expected}"
        ) from None


def decode_attrs(attrs: Any) -> dict[str, Any]:
    """HDF5 attributes as plain Python values (bytes -> str, 0-d arrays -> scalars)."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if isinstance(value, (bytes, np.bytes_)):
            value = value.decode("utf-8", errors="replace")
        elif isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        elif isinstance(value, np.generic):
            value = value.item()
        out[str(key)] = value
    return out


def read_scalar(h5: h5py.File, name: str) -> Any:
    """A scalar dataset as a Python value (bytes decoded to str)."""
    value = h5[name][()]
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size == 1 else value
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", errors="replace")
    return value.item() if isinstance(value, np.generic) else value


class H5Array:
    """Lazy, picklable view of ``path[name]`` with ``shape``, ``dtype`` and ``__getitem__``."""

    def __init__(self, path: str | os.PathLike[str], name: str) -> None:
        self.path = str(Path(path).resolve())
        self.name = name
        with h5py.File(self.path, "r") as f:
            dset = f[name]
            self.shape: tuple[int, ...] = tuple(dset.shape)
            self.dtype = np.dtype(dset.dtype)
            self.storage_chunks: tuple[int, ...] | None = dset.chunks
        self.ndim = len(self.shape)
        self._file: h5py.File | None = None
        self._lock = threading.Lock()

    def _dataset(self) -> h5py.Dataset:
        with self._lock:
            if self._file is None or not self._file.id.valid:
                self._file = h5py.File(self.path, "r")
            return self._file[self.name]

    def __getitem__(self, key: Any) -> np.ndarray:
        return np.asarray(self._dataset()[key])

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_file"] = None
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __del__(self) -> None:
        f = getattr(self, "_file", None)
        if f is not None:
            try:
                f.close()
            except Exception:
                pass

    def __repr__(self) -> str:
        return f"H5Array({self.path!r}, {self.name!r}, shape={self.shape}, dtype={self.dtype})"


def dataset_array(
    h5: h5py.File, name: str, *, lazy: bool, chunks: Any = None
) -> np.ndarray | da.Array:
    """``h5[name]`` as numpy (``lazy=False``) or as a dask array over :class:`H5Array`.

    Dask chunks default to multiples of the on-disk chunks up to about 16 MiB (a dask task
    reads its whole chunk, so smaller chunks make single-date and single-pixel reads cheap).
    """
    if not lazy:
        return np.asarray(h5[name][()])
    arr = H5Array(h5.filename, name)
    norm = da.core.normalize_chunks(
        chunks if chunks is not None else "auto",
        shape=arr.shape,
        limit=_CHUNK_LIMIT,
        dtype=arr.dtype,
        previous_chunks=arr.storage_chunks,
    )
    token = "h5-" + tokenize(arr.path, name, os.path.getmtime(arr.path), norm)
    return da.from_array(arr, chunks=norm, name=token, lock=False, asarray=True, fancy=False)
