"""GPU placement logic (no GPU needed): one GPU per worker, resources, local cluster setup."""

from __future__ import annotations

import types

import pytest

from insar_ae.distributed import cluster
from insar_ae.errors import ParameterError


def _fake_worker(monkeypatch, name):
    import distributed

    monkeypatch.setattr(distributed, "get_worker", lambda: types.SimpleNamespace(name=name))


def test_auto_device_is_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(cluster, "_cuda_count", lambda: 0)
    assert cluster.worker_device("auto") == "cpu"
    assert cluster.worker_device("cuda:3") == "cuda:3"  # explicit devices pass through


@pytest.mark.parametrize(
    ("name", "expected"), [(0, "cuda:0"), (1, "cuda:1"), (3, "cuda:1"), ("gpu-node-a", "cuda:0")]
)
def test_each_local_worker_takes_its_own_gpu(monkeypatch, name, expected):
    monkeypatch.setattr(cluster, "_cuda_count", lambda: 2)
    _fake_worker(monkeypatch, name)
    assert cluster.worker_device("auto") == expected


def test_gpu_resource_is_requested_only_when_a_worker_offers_it():
    def client(resources):
        info = {"workers": {f"tcp://w{i}": {"resources": r} for i, r in enumerate(resources)}}
        return types.SimpleNamespace(scheduler_info=lambda n_workers=5: info)

    assert cluster.gpu_resources(client([{}, {}])) is None
    assert cluster.gpu_resources(client([{}, {"GPU": 1}])) == {"GPU": 1}


def test_local_cluster_gets_one_worker_and_a_gpu_resource_per_gpu(monkeypatch):
    import distributed

    seen = {}
    monkeypatch.setattr(cluster, "_cuda_count", lambda: 4)
    monkeypatch.setattr(distributed, "LocalCluster", lambda **kw: seen.update(kw) or "cluster")
    monkeypatch.setattr(distributed, "Client", lambda c: ("client", c))
    client, local = cluster.make_client("local")
    assert local == "cluster" and client == ("client", "cluster")
    assert seen["n_workers"] == 4 and seen["resources"] == {"GPU": 1}
    assert seen["threads_per_worker"] == 1 and seen["host"] == "127.0.0.1"
    assert seen["dashboard_address"] is None


def test_scheduler_must_be_local_or_an_address():
    with pytest.raises(ParameterError, match="scheduler"):
        cluster.make_client("my-cluster")
    with pytest.raises(ParameterError, match="workers"):
        cluster.make_client("local", workers=0)
