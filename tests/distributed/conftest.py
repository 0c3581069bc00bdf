"""Fixtures of the distributed tests: a tiny random-weight model, a 2-worker loopback cluster."""

from __future__ import annotations

import pytest
import torch
from distributed_helpers import local_cluster, make_tiny_model


@pytest.fixture(scope="session")
def tiny_model():
    return make_tiny_model(0)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def cluster_client():
    """A 2-worker loopback cluster shared by a module's cluster tests (workers restart if
    killed). Not the default client: other tests' dask computations must not land on it."""
    from distributed import Client

    cluster = local_cluster()
    client = Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
