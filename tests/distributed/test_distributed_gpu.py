"""GPU placement logic (no GPU needed): one GPU per worker (``resolve_device`` with the worker's
index), resources, local cluster setup."""

from __future__ import annotations

import types

import pytest

from insar_ae.distributed import cluster, task
from insar_ae.errors import ParameterError
from insar_ae.model import devices
from insar_ae.model.devices import resolve_device


def _fake_worker(monkeypatch, name):
    import distributed

    monkeypatch.setattr(distributed, "get_worker", lambda: types.SimpleNamespace(name=name))


def test_auto_device_of_a_worker_is_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(devices, "cuda_count", lambda: 0)
    monkeypatch.setattr(devices, "available_devices", lambda: ["mps", "cpu"])
    assert str(resolve_device("auto", worker_index=0)) == "cpu"  # MPS is not shared by workers
    assert str(resolve_device("auto")) == "mps"  # a whole-frame run takes the best device
    assert str(resolve_device("cpu", worker_index=3)) == "cpu"  # explicit devices pass through


@pytest.mark.parametrize(
    ("name", "index", "expected"),
    [(0, 0, "cuda:0"), (1, 1, "cuda:1"), (3, 3, "cuda:1"), ("gpu-node-a", 0, "cuda:0")],
)
def test_each_local_worker_takes_its_own_gpu(monkeypatch, name, index, expected):
    monkeypatch.setattr(devices, "cuda_count", lambda: 2)
    _fake_worker(monkeypatch, name)
    assert task.worker_index() == index
    assert str(resolve_device("auto", worker_index=task.worker_index())) == expected


def test_outside_a_worker_the_index_is_zero():
    assert task.worker_index() == 0


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
