"""The shipped weights: beat every baseline on seeded test scenes; tiling has no seams."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from insar_ae.model import baselines as B
from insar_ae.model import denoise, load_model

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


def test_shipped_weights_beat_every_baseline(shipped, scenes):
    torch.set_num_threads(2)
    scores: dict[str, list[float]] = {}
    for ds in scenes:
        scores.setdefault("model", []).append(
            _rmse(denoise(ds, model=shipped, device="cpu")["deformation"].values, ds))
        scores.setdefault("raw", []).append(_rmse(ds["displacement"].values, ds))
        scores.setdefault("zeros", []).append(_rmse(np.zeros(ds["displacement"].shape), ds))
        for name in B.DEFAULTS:
            scores.setdefault(name, []).append(_rmse(getattr(B, name)(ds).values, ds))
    mean = {k: float(np.mean(v)) for k, v in scores.items()}
    for name, value in mean.items():
        if name != "model":
            assert mean["model"] < value, f"model RMSE {mean['model']:.3f} mm not below {name} {value:.3f} mm ({mean})"


def _smooth_frame(ny=96, nx=112, n_time=10):
    """A smooth, noise-free scene: a broad bump growing linearly in time over a gentle DEM."""
    from insar_ae.datamodel import make_dataset

    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float32)
    bump = 8.0 * np.exp(-(((yy - 40) / 25.0) ** 2 + ((xx - 60) / 30.0) ** 2))
    cube = np.arange(n_time, dtype=np.float32)[:, None, None] / (n_time - 1) * bump
    height = 800.0 + 2.0 * xx
    return make_dataset(cube, height, np.arange(n_time) * np.timedelta64(12, "D")
                        + np.datetime64("2020-01-01"), np.arange(ny) * -100.0, np.arange(nx) * 100.0)


def test_tiled_and_whole_frame_agree_and_no_gradient_jumps_at_tile_edges(shipped):
    ds = _smooth_frame()
    whole = denoise(ds, model=shipped, tile=128, overlap=32, device="cpu")["deformation"].values
    tiled = denoise(ds, model=shipped, tile=48, overlap=24, device="cpu")["deformation"].values
    scale = float(np.abs(whole[-1]).max())
    assert scale > 1.0
    diff = np.sqrt(np.mean((tiled - whole) ** 2))
    assert diff < 0.15 * scale, (diff, scale)
    # second differences across x at tile edges are no larger than in the tile interiors
    last = tiled[-1]
    d2 = np.abs(np.diff(last, n=2, axis=1))
    edges = sorted({s for s in (0, 24, 48, 64) if 2 <= s < last.shape[1] - 2} |
                   {s + 47 for s in (0, 24, 48, 64) if s + 47 < last.shape[1] - 2})
    at_edges = d2[:, [e - 1 for e in edges]].mean()
    assert at_edges < 3.0 * d2.mean() + 0.05 * scale
