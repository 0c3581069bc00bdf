"""bench/gain_by_signal.py measures what it says: the gain of a known scaling of the truth, and
the signal-to-atmosphere ratio of each sample, on generator samples."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

from gain_by_signal import per_sample  # noqa: E402


def test_gain_and_ratio_of_a_model_that_keeps_a_known_share_of_the_truth():
    from insar_ae.synthetic import sample_batch

    g = torch.Generator().manual_seed(3)
    batches = [sample_batch(4, 10, 32, g, "cpu", noise_only_fraction=0.25) for _ in range(2)]
    truth = iter([b.truth for b in batches])

    def keeps_60_percent(windows, dem, mask):  # a stand-in estimator: 0.6 x the truth
        return 0.6 * next(truth)

    r = per_sample(keeps_60_percent, batches)
    has = r["ratio"] > 0
    assert has.sum() >= 4 and (~has).sum() >= 1  # samples with and without deformation
    np.testing.assert_allclose(r["gain"][has], 0.6, rtol=1e-4)
    # the ratio: last-date truth RMS (centred on valid pixels) over 1.4826 x median |data|
    b = batches[0]
    k = int(np.flatnonzero(has[:4])[0])
    valid = (b.mask[k] & torch.isfinite(b.windows[k]).all(dim=0)).numpy()
    t = b.truth[k, -1].numpy()[valid]
    d = b.windows[k, 1:].numpy()
    s = 1.4826 * np.nanmedian(np.abs(d[np.isfinite(d)]))
    assert r["ratio"][k] == pytest.approx(np.sqrt(np.mean((t - t.mean()) ** 2)) / s, rel=1e-3)
