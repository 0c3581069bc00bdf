"""Bad inputs and hostile paths on the command line (issue 16): one clear line and exit 2,
nothing written, no input modified; what is written holds what ``--help`` promises."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from insar_ae.cli import main
from insar_ae.io import open_frame
from insar_ae.model import Denoiser, save_weights
from insar_ae.model.weights import read_registry, resolve_entry
from insar_ae.testing import tiny_frame

FAST = ["--device", "cpu", "--tile", "32", "--overlap", "8", "--quiet"]


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _tree_sha(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): _sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture()
def weights(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "tiny.safetensors"
    save_weights(Denoiser(widths=(4, 4, 8, 8), n_mix=1), path)
    return path


@pytest.fixture()
def src(tmp_path: Path) -> Path:
    p = tmp_path / "in.nc"
    tiny_frame(0, n_time=10, ny=24, nx=32).to_netcdf(p, engine="h5netcdf")
    return p


def _mintpy(
    folder: Path, *, n_time: int = 10, geometry: bool = True, name: str = "timeseries.h5"
) -> Path:
    """A geocoded MintPy timeseries.h5 (m) of a tiny frame, with geometryGeo.h5 if asked."""
    folder.mkdir(parents=True, exist_ok=True)
    ds = tiny_frame(3, n_time=n_time, ny=20, nx=24)
    dates = [f"{pd.Timestamp(t):%Y%m%d}" for t in ds["time"].values]
    ts = folder / name
    with h5py.File(ts, "w") as f:
        f.create_dataset("timeseries", data=ds["displacement"].values / 1000.0)
        f.create_dataset("date", data=np.array(dates, dtype="S8"))
        f.attrs.update(
            FILE_TYPE="timeseries",
            UNIT="m",
            LENGTH="20",
            WIDTH="24",
            REF_DATE=dates[0],
            X_FIRST="30.0",
            Y_FIRST="40.0",
            X_STEP="0.001",
            Y_STEP="-0.001",
            X_UNIT="degrees",
            Y_UNIT="degrees",
            EPSG="4326",
        )
    if geometry:
        with h5py.File(folder / "geometryGeo.h5", "w") as g:
            g.create_dataset("height", data=ds["height"].values)
            g.attrs.update(FILE_TYPE="geometry", LENGTH="20", WIDTH="24")
    return ts


def _nothing_new(folder: Path, before: set[str]) -> None:
    now = {p.name for p in folder.iterdir()}
    assert now == before, f"new files: {now - before}"


# ---------------------------------------------------------------- 1. formats hold the result
def test_every_output_format_holds_the_deformation(src, weights, tmp_path, capsys):
    ref_path = tmp_path / "ref.nc"
    assert main(["denoise", str(src), "-o", str(ref_path), "--model", str(weights), *FAST]) == 0
    ref = open_frame(ref_path)
    for suffix in (".zarr", ".tif", ".h5"):
        out = tmp_path / f"out{suffix}"
        assert main(["denoise", str(src), "-o", str(out), "--model", str(weights), *FAST]) == 0
        err = capsys.readouterr().err
        back = open_frame(out)
        if suffix == ".zarr":
            got = back["deformation"].values
        else:  # single-cube formats: the cube read back is the deformation, not the raw data
            assert "(deformation; mm)" in err
            got = back["displacement"].values
            assert not np.allclose(got, ref["displacement"].values, atol=1e-3)
        np.testing.assert_allclose(got, ref["deformation"].values, atol=2e-4, err_msg=suffix)
    with h5py.File(tmp_path / "out.h5") as f:
        assert f.attrs["INSAR_AE_VARIABLE"] in ("deformation", b"deformation")


# ---------------------------------------------------------------- 2. never an input
def test_input_inside_the_target_folder_is_never_deleted(weights, tmp_path, capsys):
    victim = tmp_path / "victim.zarr"
    ts = _mintpy(victim)
    (victim / "notes.txt").write_text("precious")
    before = _tree_sha(victim)
    rc = main(
        ["denoise", str(ts), "-o", str(victim), "--overwrite", "--model", str(weights), *FAST]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "refusing to write the output" in err and "contains the input" in err
    assert err.count("\n") == 1
    assert _tree_sha(victim) == before


def test_symlinked_output_onto_an_input_is_refused(src, weights, tmp_path, capsys):
    link = tmp_path / "link.nc"
    link.symlink_to(src)
    before = _sha(src)
    assert (
        main(["denoise", str(src), "-o", str(link), "--overwrite", "--model", str(weights), *FAST])
        == 2
    )
    assert "input" in capsys.readouterr().err and _sha(src) == before
    dlink = tmp_path / "dlink.zarr"  # a symlink to the folder holding the input
    ts = _mintpy(tmp_path / "data")
    dlink.symlink_to(tmp_path / "data", target_is_directory=True)
    tree = _tree_sha(tmp_path / "data")
    assert (
        main(["denoise", str(ts), "-o", str(dlink), "--overwrite", "--model", str(weights), *FAST])
        == 2
    )
    assert "contains the input" in capsys.readouterr().err
    assert _tree_sha(tmp_path / "data") == tree


def test_side_file_of_the_output_may_not_be_an_input(weights, tmp_path, capsys):
    ts = _mintpy(tmp_path / "in")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    geo = out_dir / "res_geometryGeo.h5"  # the geometry the MintPy writer would write
    os.replace(tmp_path / "in" / "geometryGeo.h5", geo)
    before = _sha(geo)
    rc = main(
        [
            "denoise",
            str(ts),
            "-o",
            str(out_dir / "res.h5"),
            "--geometry",
            str(geo),
            "--overwrite",
            "--model",
            str(weights),
            *FAST,
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "side file of the output" in err and "input" in err
    assert _sha(geo) == before and not (out_dir / "res.h5").exists()


# ---------------------------------------------------------------- 3. DEM, units, dates
def test_mintpy_without_geometry_is_refused_and_geometry_flag_fixes_it(weights, tmp_path, capsys):
    ts = _mintpy(tmp_path / "a", geometry=False)
    geo_src = _mintpy(tmp_path / "b").parent / "geometryGeo.h5"
    before = _sha(ts)
    out = tmp_path / "out.nc"
    assert main(["denoise", str(ts), "-o", str(out), "--model", str(weights), *FAST]) == 2
    err = capsys.readouterr().err
    assert "height (DEM, m) is NaN" in err and "--geometry FILE" in err
    assert "geometry=..." not in err  # the CLI's flag is named, not only a Python argument
    assert not out.exists() and _sha(ts) == before
    assert (
        main(
            [
                "denoise",
                str(ts),
                "-o",
                str(out),
                "--geometry",
                str(geo_src),
                "--model",
                str(weights),
                *FAST,
            ]
        )
        == 0
    )
    res = open_frame(out)
    assert np.isfinite(res["deformation"].values).all()


def test_units_flag_and_mm_scale_warning(weights, tmp_path, capsys):
    ds = tiny_frame(0, n_time=10, ny=24, nx=32)
    metres = ds.copy()
    metres["displacement"] = (ds["displacement"] / 1000.0).assign_attrs(units="mm")
    p = tmp_path / "metres.nc"
    metres.drop_vars("deformation_true").to_netcdf(p, engine="h5netcdf")
    before = _sha(p)
    out = tmp_path / "o.nc"
    assert main(["denoise", str(p), "-o", str(out), "--model", str(weights), *FAST]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "implausibly small for millimetres" in err and "--units m" in err
    out2 = tmp_path / "o2.nc"
    assert (
        main(["denoise", str(p), "-o", str(out2), "--units", "m", "--model", str(weights), *FAST])
        == 0
    )
    assert "implausibly" not in capsys.readouterr().err
    np.testing.assert_allclose(
        open_frame(out2)["displacement"].values, ds["displacement"].values, rtol=1e-5, atol=1e-4
    )
    assert _sha(p) == before
    assert (
        main(
            [
                "denoise",
                str(_mintpy(tmp_path / "m")),
                "-o",
                str(tmp_path / "x.nc"),
                "--units",
                "m",
                "--model",
                str(weights),
                *FAST,
            ]
        )
        == 2
    )
    assert "--units applies to NetCDF, Zarr and GeoTIFF" in capsys.readouterr().err


def test_empty_date_is_named_and_drop_dates_removes_it(weights, tmp_path, capsys):
    ds = tiny_frame(0, n_time=11, ny=24, nx=32)
    ds["displacement"][4] = np.nan
    p = tmp_path / "gap.nc"
    ds.to_netcdf(p, engine="h5netcdf")
    bad = f"{pd.Timestamp(ds['time'].values[4]):%Y-%m-%d}"
    out = tmp_path / "o.nc"
    assert main(["denoise", str(p), "-o", str(out), "--model", str(weights), *FAST]) == 2
    err = capsys.readouterr().err
    assert f"--drop-dates {bad}" in err and "drop_isel" not in err and not out.exists()
    assert (
        main(
            ["denoise", str(p), "-o", str(out), "--drop-dates", bad, "--model", str(weights), *FAST]
        )
        == 0
    )
    assert open_frame(out).sizes["time"] == 10
    assert (
        main(
            [
                "denoise",
                str(p),
                "-o",
                str(tmp_path / "o3.nc"),
                "--drop-dates",
                "1999-01-01",
                "--model",
                str(weights),
                *FAST,
            ]
        )
        == 2
    )
    assert "not an acquisition date" in capsys.readouterr().err


# ---------------------------------------------------------------- 4. weights names vs files
def test_registry_name_wins_over_a_file_in_the_cwd(src, tmp_path, monkeypatch, capsys):
    torch.manual_seed(5)
    monkeypatch.chdir(tmp_path)
    save_weights(Denoiser(widths=(4, 4, 8, 8), n_mix=1), tmp_path / "default")  # + default.json
    assert (tmp_path / "default.json").is_file()
    path, entry = resolve_entry("default")
    assert path.parent.name == "weights" and entry["sha256"] == read_registry()["default"]["sha256"]
    path, _ = resolve_entry("./default")  # a path must look like one
    assert path == Path("./default")


def test_the_sha256_that_ran_is_printed_and_recorded(src, weights, tmp_path, capsys):
    out = tmp_path / "o.nc"
    assert main(["denoise", str(src), "-o", str(out), "--model", str(weights), *FAST]) == 0
    ran = _sha(weights)
    assert f"sha256 {ran}" in capsys.readouterr().err
    assert open_frame(out)["deformation"].attrs["model_sha256"] == ran


# ---------------------------------------------------------------- 7. inf in the input
def test_infinite_input_values_are_written_as_nan(weights, tmp_path, capsys):
    ds = tiny_frame(0, n_time=10, ny=24, nx=32)
    ds["displacement"][3, 2, 5] = np.inf
    ds["displacement"][6, 7, 8] = -np.inf
    p = tmp_path / "inf.nc"
    ds.to_netcdf(p, engine="h5netcdf")
    out = tmp_path / "o.nc"
    assert main(["denoise", str(p), "-o", str(out), "--model", str(weights), *FAST]) == 0
    assert "2 infinite values" in capsys.readouterr().err
    with xr.open_dataset(out, engine="h5netcdf") as res:
        assert not np.isinf(res["displacement"].values).any()
        assert np.isnan(res["displacement"].values[3, 2, 5])


# ---------------------------------------------------------------- clear errors, early
def test_missing_output_folder_and_unsupported_format_fail_before_computing(src, tmp_path, capsys):
    before = set(os.listdir(tmp_path))
    # a weights path that does not exist: the output checks must come first
    common = ["--model", str(tmp_path / "absent.safetensors"), *FAST]
    assert main(["denoise", str(src), "-o", str(tmp_path / "no" / "out.nc"), *common]) == 2
    err = capsys.readouterr().err
    assert "does not exist (create it first)" in err and "Traceback" not in err
    assert main(["denoise", str(src), "-o", str(tmp_path / "out.csv"), *common]) == 2
    assert "unsupported suffix '.csv'" in capsys.readouterr().err
    _nothing_new(tmp_path, before)


def test_huge_claimed_shape_is_refused_in_one_line(weights, tmp_path, capsys):
    p = tmp_path / "huge.h5"
    with h5py.File(p, "w") as f:  # chunked, nothing written: a few KB on disk
        f.create_dataset("timeseries", shape=(13, 200000, 200000), dtype="f4", chunks=(1, 256, 256))
        f.create_dataset(
            "date",
            data=np.array([f"2020{m:02d}01" for m in range(1, 13)] + ["20210101"], dtype="S8"),
        )
        f.attrs.update(FILE_TYPE="timeseries", UNIT="m")
    assert p.stat().st_size < 100_000
    before = _sha(p)
    out = tmp_path / "o.nc"
    assert main(["denoise", str(p), "-o", str(out), "--model", str(weights), *FAST]) == 2
    err = capsys.readouterr().err
    assert "claims 13 x 200000 x 200000 values" in err and err.count("\n") == 1
    assert not out.exists() and _sha(p) == before


# ---------------------------------------------------------------- signals
# The child restores Python's Ctrl-C handler first: started from a background job (a CI
# runner, `nohup`, `make test &`) it inherits SIGINT *ignored*, and Python then keeps it
# ignored, as a shell's background job should be. That made this test time out now and then.
_CHILD = r"""
import contextlib, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
import insar_ae.io.netcdf as nc
real = nc.atomic_path
@contextlib.contextmanager
def slow(target, **kw):
    with real(target, **kw) as tmp:
        tmp.write_bytes(b"partial")
        print("TMP", tmp, flush=True)
        time.sleep(60)
        yield tmp
nc.atomic_path = slow
from insar_ae.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    ("sig", "code", "word"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_signal_during_a_write_cleans_up_and_exits_in_one_line(
    src, weights, tmp_path, sig, code, word
):
    out = tmp_path / "o.nc"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _CHILD,
            "denoise",
            str(src),
            "-o",
            str(out),
            "--model",
            str(weights),
            *FAST,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    assert line.startswith("TMP"), proc.stderr.read()
    tmp = Path(line.split(None, 1)[1].strip())
    assert tmp.exists()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    lines = [ln for ln in err.splitlines() if "insar-ae: model" not in ln]
    assert len(lines) == 1 and word in lines[0] and "Traceback" not in err
    assert not tmp.exists() and not out.exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_stale_temp_files_of_killed_writers_are_swept(src, weights, tmp_path):
    from insar_ae.io._atomic import _HOST

    out = tmp_path / "o.nc"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    stale = tmp_path / f".o.{_HOST}.{dead}.0123456789ab.tmp.nc"
    live = tmp_path / f".o.{_HOST}.{os.getpid()}.ba9876543210.tmp.nc"  # a writer still running
    stale.write_bytes(b"left by SIGKILL")
    live.write_bytes(b"in progress")
    assert main(["denoise", str(src), "-o", str(out), "--model", str(weights), *FAST]) == 0
    assert not stale.exists() and live.exists() and out.exists()
