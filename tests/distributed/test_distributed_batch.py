"""Many frames: discovery, status log, restart of only failed/unfinished frames, CLI."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest
import xarray as xr
from distributed_helpers import OPTIONS, TILING

from insar_ae.distributed import discover_frames, read_status, run_batch
from insar_ae.errors import CatalogError, ParameterError
from insar_ae.io import write_frame
from insar_ae.model import denoise
from insar_ae.testing import tiny_frame


def _frames(folder, n=3):
    folder.mkdir(parents=True, exist_ok=True)
    return {
        f"f{i}": write_frame(
            tiny_frame(10 + i, n_time=10, ny=40 + 8 * i, nx=56), folder / f"f{i}.nc"
        )
        for i in range(n)
    }


def test_glob_names_frames_by_file_and_disambiguates_collisions(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        write_frame(tiny_frame(0), tmp_path / sub / "timeseries.nc")
    write_frame(tiny_frame(0), tmp_path / "a" / "other.nc")
    names = [f.name for f in discover_frames(str(tmp_path / "*" / "*.nc"))]
    assert names == ["a__other", "a__timeseries", "b__timeseries"]
    only = discover_frames(str(tmp_path / "*" / "*.nc"), select="*timeseries")
    assert [f.name for f in only] == ["a__timeseries", "b__timeseries"]
    assert all(os.path.isabs(f.path) for f in only)
    with pytest.raises(ParameterError, match="matches no file"):
        discover_frames(str(tmp_path / "*.zarr"))
    with pytest.raises(ParameterError, match="select"):
        discover_frames(str(tmp_path / "*" / "*.nc"), select="nothing*")


def test_catalog_file_lists_its_own_entries_only(tmp_path):
    write_frame(tiny_frame(0), tmp_path / "tiny.nc")
    cat = tmp_path / "lab.yaml"
    cat.write_text("""
sources:
  lab-one:
    description: our frame
    driver: insar_ae.catalog.drivers.FrameFile
    args: {path: tiny.nc, format: netcdf}
    metadata: {region: lab, units: mm}
""")
    frames = discover_frames(str(cat))
    assert [(f.name, f.entry, f.catalog) for f in frames] == [("lab-one", "lab-one", str(cat))]
    ds = frames[0].data()
    np.testing.assert_array_equal(ds["displacement"].values, tiny_frame(0)["displacement"].values)
    with pytest.raises(CatalogError, match="does not exist"):
        discover_frames(str(tmp_path / "none.yaml"))


def test_status_reader_ignores_a_torn_last_line(tmp_path):
    log = tmp_path / "status.jsonl"
    rows = [
        {"frame": "a", "status": "started"},
        {"frame": "a", "status": "done"},
        {"frame": "b", "status": "failed", "error": "boom"},
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"frame": "b", "sta')
    latest = read_status(tmp_path)
    assert latest.loc["a", "status"] == "done" and latest.loc["b", "error"] == "boom"
    assert len(read_status(log, latest=False)) == 3


@pytest.mark.cluster
@pytest.mark.timeout(300)
def test_batch_logs_each_frame_and_reruns_only_what_failed(cluster_client, tiny_model, tmp_path):
    paths = _frames(tmp_path / "in")
    paths["f1"].write_bytes(b"this is not a frame")  # corrupt input
    out = tmp_path / "out"
    kw = {
        "client": cluster_client,
        "block": 24,
        "model": tiny_model,
        "progress": False,
        "options": OPTIONS,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = run_batch(str(tmp_path / "in" / "*.nc"), out, **kw)
    assert first["status"].to_dict() == {"f0": "done", "f1": "failed", "f2": "done"}
    assert "FormatError" in first.loc["f1", "error"]
    log = read_status(out, latest=False)
    assert set(log.columns) >= {"frame", "status", "start", "end", "error"}
    assert (log.groupby("frame")["status"].first() == "started").loc[["f0", "f2"]].all()
    done = read_status(out)
    assert done.loc["f0", "end"] >= done.loc["f0", "start"]
    ref = denoise(tiny_frame(10, n_time=10, ny=40, nx=56), model=tiny_model, **TILING)
    got = xr.open_zarr(out / "f0.zarr")
    np.testing.assert_allclose(got["deformation"].values, ref["deformation"].values, atol=1e-5)
    assert not (out / "f1.zarr").exists()
    mtime = (out / "f0.zarr" / ".zmetadata").stat().st_mtime_ns

    write_frame(tiny_frame(11, n_time=10, ny=48, nx=56), paths["f1"], overwrite=True)  # fixed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        second = run_batch(str(tmp_path / "in" / "*.nc"), out, **kw)
    assert second["status"].to_dict() == {"f0": "skipped", "f1": "done", "f2": "skipped"}
    assert (out / "f0.zarr" / ".zmetadata").stat().st_mtime_ns == mtime  # untouched
    assert read_status(out)["status"].to_dict() == {"f0": "skipped", "f1": "done", "f2": "skipped"}

    # other parameters: existing outputs are not silently mixed with new ones
    third = run_batch(
        str(tmp_path / "in" / "*.nc"), out, **{**kw, "options": OPTIONS.replace(overlap=16)}
    )
    assert set(third["status"]) == {"failed"}
    assert third["error"].str.contains("other parameters").all()


@pytest.mark.cluster
@pytest.mark.timeout(300)
def test_cli_batch_on_an_existing_scheduler(cluster_client, tiny_model, tmp_path, capsys):
    from insar_ae.cli import main
    from insar_ae.model import save_weights

    _frames(tmp_path / "in", n=2)
    weights = tmp_path / "tiny.safetensors"
    save_weights(tiny_model, weights)
    address = cluster_client.scheduler.address
    argv = [
        "batch",
        str(tmp_path / "in" / "*.nc"),
        "--out",
        str(tmp_path / "out"),
        "--scheduler",
        address,
        "--model",
        str(weights),
        "--block",
        "24",
        "--tile",
        "32",
        "--overlap",
        "8",
        "--no-progress",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(argv) == 0
    assert "done=2" in capsys.readouterr().out
    assert read_status(tmp_path / "out")["status"].tolist() == ["done", "done"]
    ref = denoise(tiny_frame(11, n_time=10, ny=48, nx=56), model=tiny_model, **TILING)
    got = xr.open_zarr(tmp_path / "out" / "f1.zarr")
    np.testing.assert_allclose(got["deformation"].values, ref["deformation"].values, atol=1e-5)


@pytest.mark.cluster
@pytest.mark.timeout(300)
def test_batch_resumes_a_frame_interrupted_mid_way(cluster_client, tiny_model, tmp_path):
    import threading

    from insar_ae.distributed import denoise_blocks
    from insar_ae.model import Cancelled

    paths = _frames(tmp_path / "in", n=1)
    out = tmp_path / "out"
    out.mkdir()
    cancel = threading.Event()
    with pytest.raises(Cancelled):  # a run killed after 3 of its blocks
        denoise_blocks(
            paths["f0"],
            out / "f0.zarr",
            block=24,
            model=tiny_model,
            client=False,
            cancel=cancel,
            progress=lambda f, m: m.startswith("3/") and cancel.set(),
            options=OPTIONS,
        )
    table = run_batch(
        str(tmp_path / "in" / "*.nc"),
        out,
        client=cluster_client,
        block=24,
        model=tiny_model,
        progress=False,
        options=OPTIONS,
    )
    assert table.loc["f0", "status"] == "done"
    started = read_status(out, latest=False).query("status == 'started'").iloc[-1]
    assert started["blocks_pending"] == started["blocks"] - 3  # finished blocks were kept
    ref = denoise(tiny_frame(10, n_time=10, ny=40, nx=56), model=tiny_model, **TILING)
    got = xr.open_zarr(out / "f0.zarr")
    np.testing.assert_allclose(got["deformation"].values, ref["deformation"].values, atol=1e-5)
