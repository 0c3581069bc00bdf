"""Shared helpers of the distributed tests (imported by conftest and test modules)."""

from __future__ import annotations

import warnings

import torch

from insar_ae.model import DenoiseOptions

#: Model tiling used throughout these tests (small tiles -> several tiles per block).
TILING = {"tile": 32, "overlap": 8}
#: The same as denoise options (what denoise_blocks and run_batch take).
OPTIONS = DenoiseOptions(**TILING)


def make_tiny_model(seed: int = 0):
    """A tiny randomly initialised Denoiser (deterministic for a seed), cheap on CPU."""
    from insar_ae.model import Denoiser

    torch.manual_seed(seed)
    return Denoiser(T=9, widths=(4, 4, 8, 8), n_mix=1).eval()


def local_cluster(**kw):
    """A loopback LocalCluster: worker processes, 1 thread each, no dashboard."""
    from distributed import LocalCluster

    opts = {
        "n_workers": 2,
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": None,
        "host": "127.0.0.1",
        "memory_limit": "2GiB",
    }
    opts.update(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LocalCluster(**opts)
