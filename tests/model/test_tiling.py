"""Spatial tiles, blending weights, temporal windows and increment stitching."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from insar_ae.errors import ParameterError
from insar_ae.model.tiling import (
    IncrementStitcher,
    blend_weights,
    check_tiling,
    stitch_windows,
    tile_origins,
    tile_starts,
    window_starts,
)


@pytest.mark.parametrize(
    ("n", "tile", "overlap"), [(128, 128, 32), (300, 128, 32), (129, 64, 16), (1000, 96, 48)]
)
def test_tiles_cover_the_axis_with_at_least_the_overlap(n, tile, overlap):
    starts = tile_starts(n, tile, overlap)
    assert starts[0] == 0 and starts[-1] == n - tile
    cover = np.zeros(n, int)
    for s in starts:
        cover[s : s + tile] += 1
    assert cover.min() >= 1
    assert all(b - a <= tile - overlap for a, b in itertools.pairwise(starts))


def test_blend_weights_are_smooth_positive_and_one_in_the_centre():
    w = blend_weights(64, 16)
    assert w.shape == (64, 64) and w.min() > 0 and w[32, 32] == 1.0
    np.testing.assert_allclose(w, w.T)
    assert np.abs(np.diff(w[32])).max() < np.pi / 16 / 2 + 1e-6  # raised cosine slope bound


def test_overlapping_weights_sum_to_a_smooth_partition():
    """Two raised-cosine ramps crossing over the overlap sum to exactly one."""
    tile, overlap = 64, 16
    ramp = blend_weights(tile, overlap)[tile // 2]
    step = tile - overlap
    total = np.zeros(tile + step)
    total[:tile] += ramp
    total[step:] += ramp
    np.testing.assert_allclose(total[step:tile], 1.0, atol=1e-6)


def test_origins_grid():
    assert tile_origins((200, 130), 128, 32) == [(0, 0), (0, 2), (72, 0), (72, 2)]


@pytest.mark.parametrize(("n", "stride"), [(9, 1), (12, 1), (20, 1), (20, 3), (23, 8)])
def test_stitching_an_oracle_reproduces_the_series_exactly(n, stride):
    rng = np.random.default_rng(n + stride)
    series = rng.normal(0, 5, size=(n, 3, 4)).cumsum(axis=0).astype(np.float32)
    series -= series[0]
    estimates = {k: series[k : k + 9] - series[k] for k in window_starts(n, 9, stride)}
    np.testing.assert_allclose(stitch_windows(estimates, n), series, atol=1e-4)


def test_stitching_averages_the_increments_of_overlapping_windows():
    n, T = 10, 9
    st = IncrementStitcher(n, (1,), T)
    st.add(0, np.arange(T, dtype=np.float32)[:, None] * 1.0)  # increments 1
    st.add(1, np.arange(T, dtype=np.float32)[:, None] * 3.0)  # increments 3
    out = st.result()[:, 0]
    expected = np.concatenate([[0, 1], 1 + np.cumsum([2.0] * 7), [1 + 14 + 3]])
    np.testing.assert_allclose(out, expected)


def test_window_starts_always_end_on_the_last_date():
    assert window_starts(20, 9, 4) == [0, 4, 8, 11]
    assert window_starts(9, 9, 1) == [0]


def test_bad_windows_and_tiles_raise():
    with pytest.raises(ParameterError, match="at least T=9"):
        window_starts(8, 9)
    with pytest.raises(ParameterError, match="time_stride"):
        window_starts(20, 9, 9)
    with pytest.raises(ParameterError, match="tile"):
        check_tiling(100, 10)
    with pytest.raises(ParameterError, match="overlap"):
        check_tiling(64, 40)
