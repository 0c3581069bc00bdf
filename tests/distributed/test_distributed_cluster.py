"""Block-wise denoising on a 2-worker loopback Dask cluster: same numbers as one process,
survives a killed worker, and a frame larger than the workers' memory limit completes."""

from __future__ import annotations

import os
import shutil
import signal
import warnings

import numpy as np
import pytest
import torch
import xarray as xr
from distributed_helpers import OPTIONS, TILING, local_cluster

from insar_ae.distributed import denoise_blocks
from insar_ae.distributed.cluster import preload_workers
from insar_ae.distributed.layout import plan_blocks
from insar_ae.distributed.monitor import WorkerMemory
from insar_ae.distributed.task import BlockRun, denoise_region
from insar_ae.model import denoise
from insar_ae.testing import lazy_frame, tiny_frame

pytestmark = pytest.mark.cluster


def test_cluster_blocks_match_single_process(cluster_client, tiny_model, tmp_path):
    ds = tiny_frame(4, n_time=12, ny=130, nx=110)
    ref = denoise(ds, model=tiny_model, **TILING)
    out = denoise_blocks(
        ds, tmp_path / "o.zarr", block=48, model=tiny_model, client=cluster_client, options=OPTIONS
    )
    np.testing.assert_allclose(
        out["deformation"].values, ref["deformation"].values, atol=1e-5, rtol=0
    )
    np.testing.assert_allclose(out["noise"].values, ref["noise"].values, atol=1e-5, rtol=0)
    np.testing.assert_array_equal(out["displacement"].values, ds["displacement"].values)
    # one torch thread per single-threaded worker: no oversubscription
    assert set(cluster_client.run(torch.get_num_threads).values()) == {1}


@pytest.mark.timeout(300)
def test_worker_killed_mid_run_is_survived(cluster_client, tiny_model, tmp_path):
    client = cluster_client
    client.wait_for_workers(2, timeout=60)
    ds = tiny_frame(5, n_time=24, ny=192, nx=192)
    ref = denoise(ds, model=tiny_model, **TILING)
    pids = client.run(os.getpid)
    killed: dict[str, int] = {}

    def kill_busiest_worker(fraction: float, message: str) -> None:
        if killed or fraction == 0:
            return
        busy = {a: len(keys) for a, keys in client.processing().items() if a in pids}
        addr = max(busy, key=busy.get)
        killed[addr] = busy[addr]
        os.kill(pids[addr], signal.SIGKILL)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = denoise_blocks(
            ds,
            tmp_path / "o.zarr",
            block=48,
            model=tiny_model,
            client=client,
            progress=kill_busiest_worker,
            options=OPTIONS,
        )
    ((addr, in_flight),) = killed.items()
    assert in_flight >= 1  # the killed worker held at least one block task
    assert addr not in client.scheduler_info(n_workers=-1)["workers"]  # it really died
    np.testing.assert_allclose(
        out["deformation"].values, ref["deformation"].values, atol=1e-5, rtol=0
    )
    assert np.isfinite(out["deformation"].values).all()


def block_working_set(block, n_time: int, n_in_cubes: int) -> int:
    """Bytes of one block task's own data: its outer region (core + halo) of every input cube
    plus the two output cubes (deformation, noise), float32."""
    return (block.oy1 - block.oy0) * (block.ox1 - block.ox0) * n_time * 4 * (n_in_cubes + 2)


@pytest.mark.timeout(600)
def test_frame_larger_than_worker_memory_limit_completes(tiny_model, tmp_path):
    """Memory follows the block, not the frame, and no worker is killed.

    Growth is measured after a warm-up frame denoised with the same block size (first-use
    costs: imports compiled, allocator arenas, code paths), so what remains is the block's
    working set. The bound is 8 working sets, and the frame is over 5 times that bound: a run
    that loaded the frame would miss it 5-fold, a healthy one (about 3 working sets, 40 MB
    here) passes it 2-3-fold (issue 13).
    """
    from distributed import Client

    limit = 600_000_000  # bytes per worker (pause at 80 %, killed by the nanny at 95 %)
    n_time, n = 16, 1440
    ds = lazy_frame(0, n_time=n_time, ny=n, nx=n, chunk=96)
    assert ds.nbytes > 1.1 * limit  # 5 cubes of 16 x 1440 x 1440 float32 + DEM: 670 MB
    ds.to_zarr(tmp_path / "in.zarr", zarr_format=2)  # streamed chunk by chunk
    src = xr.open_zarr(tmp_path / "in.zarr")  # lazily read (dask-backed)
    opts = {"block": 144, "model": tiny_model, "options": OPTIONS.replace(time_stride=7)}
    blocks = plan_blocks(n, n, block=144, **TILING)
    n_cubes = sum(1 for v in ds.data_vars.values() if v.ndim == 3)
    working_set = max(block_working_set(b, n_time, n_cubes) for b in blocks)
    bound = 8 * working_set
    assert ds.nbytes > 5 * bound  # the bound separates "the block" from "the frame"
    warm = lazy_frame(1, n_time=n_time, ny=352, nx=352, chunk=96)
    with (
        local_cluster(memory_limit=limit) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        preload_workers(client)  # measure memory growth from an imported model stack
        denoise_blocks(warm, tmp_path / "warm.zarr", client=client, **opts)
        pids_before = set(client.run(os.getpid).values())
        with WorkerMemory(client) as mem:
            out = denoise_blocks(src, tmp_path / "out.zarr", client=client, **opts)
        pids_after = set(client.run(os.getpid).values())
    print(
        f"worker memory growth {mem.max_growth / 1e6:.1f} MB = "
        f"{mem.max_growth / working_set:.2f} block working sets ({working_set / 1e6:.1f} MB) "
        f"= {mem.max_growth / ds.nbytes:.3f} of the frame ({ds.nbytes / 1e6:.0f} MB); "
        f"bound {bound / 1e6:.0f} MB; peak {mem.max_peak / 1e6:.0f} MB"
    )
    assert pids_after == pids_before  # no worker was killed for memory
    assert mem.max_peak < 0.95 * limit
    assert mem.max_growth < bound  # memory follows the block, not the frame
    # every block was written (the input has no gap)
    assert bool(out["deformation"].notnull().all()) and bool(src["displacement"].notnull().all())
    # spot-check one inner block against denoising its region in this process
    block = next(b for b in blocks if b.key == "4-6")
    region = src.isel(block.outer).compute()
    expected = denoise_region(region, BlockRun(OPTIONS.replace(time_stride=7), module=tiny_model))
    got = out["deformation"].isel(block.core).values
    np.testing.assert_allclose(got, expected["deformation"].isel(block.inner).values, atol=1e-5)
    for store in ("in.zarr", "out.zarr", "warm.zarr"):  # 1.6 GB: not left in pytest's basetemp
        shutil.rmtree(tmp_path / store)
