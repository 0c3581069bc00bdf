"""Fixtures of the distributed tests: a tiny random-weight model, a 2-worker loopback cluster."""

from __future__ import annotations

import os
import warnings

import pytest
import torch


def make_tiny_model(seed: int = 0):
    """A tiny randomly initialised Denoiser (deterministic for a seed), cheap on CPU."""
    from insar_ae.model import Denoiser

    torch.manual_seed(seed)
    return Denoiser(T=9, widths=(4, 4, 8, 8), n_mix=1).eval()


#: Model tiling used throughout these tests (small tiles -> several tiles per block).
TILING = {"tile": 32, "overlap": 8}


@pytest.fixture(scope="session")
def tiny_model():
    return make_tiny_model(0)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def local_cluster(**kw):
    """A loopback LocalCluster: worker processes, 1 thread each, no dashboard."""
    from distributed import LocalCluster

    opts = {"n_workers": 2, "threads_per_worker": 1, "processes": True,
            "dashboard_address": None, "host": "127.0.0.1", "memory_limit": "2GiB"}
    opts.update(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LocalCluster(**opts)


@pytest.fixture(scope="session")
def cluster_client():
    """A 2-worker loopback cluster shared by the cluster tests (workers restart if killed)."""
    from distributed import Client

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    cluster = local_cluster()
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
