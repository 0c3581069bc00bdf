"""Vectorised per-bin statistics (median, mean, quartiles, count) of many rows at once.

Samples are grouped by bin once (``BinIndex``); every row (date, layer) is then scattered into a
padded (rows, bins, slots) block, sorted along the slots (NaN last) and reduced with index
arithmetic, so there is no Python loop over dates. Bins much fuller than typical (e.g. the
outer wedge of a polyline bend) are reduced separately so they do not inflate the padding.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["BinIndex", "binned_stats"]

#: elements of the padded (rows, bins, slots) block processed per chunk (float32)
_CHUNK_ELEMS = 4_000_000
_NAMES = ("median", "mean", "p25", "p75", "count")


class BinIndex:
    """Each sample's bin and slot within it, computed once and reused for every row (date, layer).

    Samples may come in any order (e.g. row-major pixel order, cache-friendly to gather). Bins
    with more than ``slots`` samples (the 98th percentile of the counts) are "heavy" and
    reduced in a second padded block.
    """

    def __init__(self, bins: np.ndarray, n_bins: int) -> None:
        bins = np.asarray(bins, dtype=np.intp)
        self.n_bins = int(n_bins)
        order = np.argsort(bins, kind="stable")
        self.counts = np.bincount(bins, minlength=self.n_bins)
        starts = np.concatenate(([0], np.cumsum(self.counts)[:-1]))
        self.bins = bins
        self.pos = np.empty_like(bins)
        self.pos[order] = np.arange(bins.size) - starts[bins[order]]
        nz = self.counts[self.counts > 0]
        self.slots = int(min(nz.max(), max(4, int(np.percentile(nz, 98))))) if nz.size else 1
        self.heavy = np.nonzero(self.counts > self.slots)[0]
        if self.heavy.size:  # second padded block for the heavy bins: (n_heavy, max count)
            hc = self.counts[self.heavy]
            self.heavy_slots = int(hc.max())
            self.heavy_members = np.concatenate(
                [order[starts[b] : starts[b] + c] for b, c in zip(self.heavy, hc, strict=True)]
            )
            self.heavy_row = np.repeat(np.arange(self.heavy.size), hc)
            self.heavy_pos = np.arange(hc.sum()) - np.repeat(np.cumsum(hc) - hc, hc)
        self.light_sel = np.nonzero(self.counts[bins] <= self.slots)[0]
        self.light_dest = bins[self.light_sel] * self.slots + self.pos[self.light_sel]  # flat slot


def _reduce_sorted(pad: np.ndarray) -> tuple[np.ndarray, ...]:
    """Median, mean, p25, p75, count over the last axis of ``pad`` (modified in place).

    Percentiles use numpy's default linear interpolation, from one gather of the six
    neighbouring order statistics of the rows sorted with NaN last.
    """
    pad.sort(axis=-1)  # NaN sort last
    fin = np.isfinite(pad)
    cnt = fin.view(np.uint8).sum(axis=-1, dtype=np.int32)
    last = np.maximum(cnt - 1, 0)
    h = np.stack([q * last for q in (0.25, 0.5, 0.75)], axis=-1)  # (..., 3)
    lo = h.astype(np.intp)
    both = np.concatenate((lo, np.minimum(lo + 1, last[..., None])), axis=-1)
    vals = np.take_along_axis(pad, both, axis=-1)
    a, b = vals[..., :3], vals[..., 3:]
    qs = a + (h - lo).astype(np.float32) * (b - a)
    qs[cnt == 0] = np.nan
    np.copyto(pad, np.float32(0), where=~fin)
    tot = pad @ np.ones(pad.shape[-1], dtype=np.float32)  # BLAS row sums
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan).astype(np.float32)
    return (
        np.ascontiguousarray(qs[..., 1], dtype=np.float32),
        mean,
        np.ascontiguousarray(qs[..., 0], dtype=np.float32),
        np.ascontiguousarray(qs[..., 2], dtype=np.float32),
        cnt,
    )


def _chunk_stats(v: np.ndarray, idx: BinIndex) -> tuple[np.ndarray, ...]:
    m = v.shape[0]
    pad = np.full((m, idx.n_bins * idx.slots), np.nan, dtype=np.float32)
    if idx.light_sel.size == v.shape[1]:
        pad[:, idx.light_dest] = v
    elif idx.light_sel.size:
        pad[:, idx.light_dest] = v[:, idx.light_sel]
    out = _reduce_sorted(pad.reshape(m, idx.n_bins, idx.slots))
    if idx.heavy.size:  # few, e.g. the outer wedge at a bend
        hpad = np.full((m, idx.heavy.size, idx.heavy_slots), np.nan, dtype=np.float32)
        hpad[:, idx.heavy_row, idx.heavy_pos] = v[:, idx.heavy_members]
        for arr, val in zip(out, _reduce_sorted(hpad), strict=True):
            arr[:, idx.heavy] = val
    return out


def binned_stats(
    values: np.ndarray, idx: BinIndex, *, threads: int | None = None
) -> dict[str, np.ndarray]:
    """Per-bin NaN-aware median, mean, p25, p75 and count of ``values`` (..., n_samples).

    ``values`` are in the sample order ``idx`` was built with. Leading dims are kept; the last
    becomes ``n_bins``. Empty bins give NaN statistics and count 0. Work is split in row chunks
    over up to ``threads`` threads (default: the CPUs available, at most 4); numpy releases the
    GIL in the sort, so this uses several cores without copying the data.
    """
    lead = values.shape[:-1]
    v = np.ascontiguousarray(values.reshape(int(np.prod(lead)), values.shape[-1]), dtype=np.float32)
    m = v.shape[0]
    per_row = idx.n_bins * idx.slots
    step = max(1, min(m, _CHUNK_ELEMS // max(per_row, 1)))
    if threads is None:
        ncpu = (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1
        )
        threads = min(4, ncpu)
    if threads > 1 and m > 1:
        step = max(1, min(step, -(-m // threads)))
    chunks = [slice(i, min(i + step, m)) for i in range(0, m, step)] or [slice(0, 0)]
    if threads > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            res = list(pool.map(lambda s: _chunk_stats(v[s], idx), chunks))
    else:
        res = [_chunk_stats(v[s], idx) for s in chunks]
    return {
        name: np.concatenate([r[i] for r in res], axis=0).reshape((*lead, idx.n_bins))
        for i, name in enumerate(_NAMES)
    }
