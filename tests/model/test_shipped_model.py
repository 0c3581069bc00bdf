"""The shipped weights against the baselines on seeded test scenes; tiling has no seams."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from insar_ae.model import baselines as B
from insar_ae.model import denoise, load_model
from insar_ae.model.tiling import tile_starts

#: make_scene seeds reserved for these tests (never used in training or in bench/).
TEST_SCENES = (("anatolia-slow-slip", 6001), ("coso-deflation", 6002), ("anatolia-slow-slip", 6003))


@pytest.fixture(scope="module")
def shipped():
    return load_model()


@pytest.fixture(scope="module")
def scenes():
    from insar_ae.synthetic import make_scene

    return [make_scene(p, s, shape=(96, 96), n_dates=12) for p, s in TEST_SCENES]


def _rmse(est, ds):
    truth = ds["deformation_true"].values
    ok = np.isfinite(est) & np.isfinite(ds["displacement"].values)
    ok[0] = False
    return float(np.sqrt(np.mean((est[ok] - truth[ok]) ** 2)))


@pytest.fixture(scope="module")
def scores(shipped, scenes):
    """Mean RMSE (mm) of the deformation series over the test scenes, per method."""
    torch.set_num_threads(2)
    out: dict[str, list[float]] = {}
    for ds in scenes:
        out.setdefault("model", []).append(
            _rmse(denoise(ds, model=shipped, device="cpu")["deformation"].values, ds)
        )
        out.setdefault("raw", []).append(_rmse(ds["displacement"].values, ds))
        out.setdefault("zeros", []).append(_rmse(np.zeros(ds["displacement"].shape), ds))
        for name in B.DEFAULTS:
            out.setdefault(name, []).append(_rmse(getattr(B, name)(ds).values, ds))
    return {k: float(np.mean(v)) for k, v in out.items()}


@pytest.mark.parametrize(
    "baseline", ["raw", "spatial_highpass", "spatiotemporal_filter", "temporal_smooth"]
)
def test_shipped_weights_beat_the_input_and_every_classical_baseline(scores, baseline):
    # measured with the series-v10 weights (2026-12-04): model 2.32 mm, temporal smoothing 2.63,
    # spatial 5.96-6.41, raw 17.4 (series-v8: 2.55 mm; series-v6: 2.34 mm; series-v3: 2.65 mm,
    # behind temporal smoothing)
    assert scores["model"] < scores[baseline], scores


@pytest.mark.xfail(
    strict=True,
    reason=(
        "NOT MET: on these 12-date scenes (~2 mm of deformation under ~15 mm of atmosphere) the "
        "series-v10 model (2.32 mm; series-v8 2.55) is still worse than all zeros (1.94 mm). "
        "strict: remove this marker when better weights ship."
    ),
)
def test_shipped_weights_beat_all_zeros(scores):
    assert scores["model"] < scores["zeros"], scores


def _smooth_frame(ny=96, nx=112, n_time=10):
    """A smooth, noise-free scene: a broad bump growing linearly in time over a gentle DEM."""
    from insar_ae.datamodel import make_dataset

    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float32)
    bump = 8.0 * np.exp(-(((yy - 40) / 25.0) ** 2 + ((xx - 60) / 30.0) ** 2))
    cube = np.arange(n_time, dtype=np.float32)[:, None, None] / (n_time - 1) * bump
    height = 800.0 + 2.0 * xx
    return make_dataset(
        cube,
        height,
        np.arange(n_time) * np.timedelta64(12, "D") + np.datetime64("2020-01-01"),
        np.arange(ny) * -100.0,
        np.arange(nx) * 100.0,
    )


def test_tiled_and_whole_frame_agree_and_no_gradient_jumps_at_tile_edges(shipped):
    ds = _smooth_frame()
    whole = denoise(ds, model=shipped, tile=128, overlap=32, device="cpu")["deformation"].values
    tiled = denoise(ds, model=shipped, tile=48, overlap=24, device="cpu")["deformation"].values
    scale = float(np.abs(whole[-1]).max())
    assert scale > 1.0
    diff = np.sqrt(np.mean((tiled - whole) ** 2))
    assert diff < 0.05 * scale, (diff, scale)  # measured 2.5 % with the shipped weights
    # curvature across x (second differences) at the columns where tiles start/end is no
    # larger than typical: a seam would show as a spike in the per-column mean
    d2 = np.abs(np.diff(tiled[-1], n=2, axis=1)).mean(axis=0)  # index i ~ column i + 1
    starts = tile_starts(tiled.shape[-1], 48, 24)
    assert starts == [0, 24, 48, 64]
    edges = sorted(
        {c for s in starts for c in (s, s + 23, s + 24, s + 47)} - {0, tiled.shape[-1] - 1}
    )
    assert d2[[c - 1 for c in edges]].max() < 4.0 * np.median(d2) + 1e-3, d2
