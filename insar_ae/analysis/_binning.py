"""Vectorised per-bin statistics (median, mean, quartiles, count) of many rows at once."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["BinIndex", "binned_stats"]

#: elements of the padded (rows, bins, max_count) block processed per chunk (float32)
_CHUNK_ELEMS = 4_000_000


class BinIndex:
    """Sample order grouped by bin, computed once and reused for every row (date, layer).

    ``order`` sorts the samples by bin; ``pos`` is each sorted sample's slot within its bin.
    """

    def __init__(self, bins: np.ndarray, n_bins: int) -> None:
        bins = np.asarray(bins, dtype=np.intp)
        self.n_bins = int(n_bins)
        self.order = np.argsort(bins, kind="stable")
        self.sorted_bins = bins[self.order]
        counts = np.bincount(self.sorted_bins, minlength=self.n_bins)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        self.pos = np.arange(self.sorted_bins.size) - starts[self.sorted_bins]
        self.max_count = int(counts.max()) if counts.size else 0


def _percentile_sorted(s: np.ndarray, cnt: np.ndarray, q: float) -> np.ndarray:
    """Linear-interpolation percentile (numpy's default) of rows sorted with NaN last."""
    h = q * np.maximum(cnt - 1, 0)
    lo = np.floor(h).astype(np.intp)
    hi = np.minimum(lo + 1, np.maximum(cnt - 1, 0))
    a = np.take_along_axis(s, lo[..., None], axis=-1)[..., 0]
    b = np.take_along_axis(s, hi[..., None], axis=-1)[..., 0]
    out = a + (h - lo).astype(np.float32) * (b - a)
    return np.where(cnt > 0, out, np.float32(np.nan)).astype(np.float32)


def _chunk_stats(v: np.ndarray, idx: BinIndex) -> tuple[np.ndarray, ...]:
    m = v.shape[0]
    pad = np.full((m, idx.n_bins, max(idx.max_count, 1)), np.nan, dtype=np.float32)
    if idx.max_count:
        pad[:, idx.sorted_bins, idx.pos] = v
    pad.sort(axis=-1)  # NaN sort last
    fin = np.isfinite(pad)
    cnt = fin.view(np.uint8).sum(axis=-1, dtype=np.int32)
    p25 = _percentile_sorted(pad, cnt, 0.25)
    med = _percentile_sorted(pad, cnt, 0.50)
    p75 = _percentile_sorted(pad, cnt, 0.75)
    np.copyto(pad, np.float32(0), where=~fin)
    tot = pad @ np.ones(pad.shape[-1], dtype=np.float32)  # BLAS row sums
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan).astype(np.float32)
    return med, mean, p25, p75, cnt.astype(np.int32)


def binned_stats(values: np.ndarray, idx: BinIndex, *, threads: int | None = None) -> dict[str, np.ndarray]:
    """Per-bin NaN-aware median, mean, p25, p75 and count of ``values`` (..., n_samples).

    ``values`` must already be in ``idx.order`` (sorted by bin). Leading dims are kept; the last
    becomes ``n_bins``. Empty bins give NaN statistics and count 0. Work is split in row chunks
    over up to ``threads`` threads (default: the CPUs available, at most 4); numpy releases the
    GIL in the sort, so this uses several cores without copying the data.
    """
    lead = values.shape[:-1]
    v = np.ascontiguousarray(values.reshape(int(np.prod(lead)), values.shape[-1]), dtype=np.float32)
    m = v.shape[0]
    per_row = idx.n_bins * max(idx.max_count, 1)
    step = max(1, min(m, _CHUNK_ELEMS // max(per_row, 1)))
    if threads is None:
        threads = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    if threads > 1 and m > 1:
        step = max(1, min(step, -(-m // threads)))
    chunks = [slice(i, min(i + step, m)) for i in range(0, m, step)] or [slice(0, 0)]
    if threads > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            res = list(pool.map(lambda s: _chunk_stats(v[s], idx), chunks))
    else:
        res = [_chunk_stats(v[s], idx) for s in chunks]
    names = ("median", "mean", "p25", "p75", "count")
    return {
        name: np.concatenate([r[i] for r in res], axis=0).reshape((*lead, idx.n_bins))
        for i, name in enumerate(names)
    }
