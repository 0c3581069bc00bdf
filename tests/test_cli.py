"""The insar-ae command line end to end on a small canonical NetCDF."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import xarray as xr

from insar_ae.cli import COMMANDS, build_parser, main
from insar_ae.model import Denoiser, save_weights
from insar_ae.testing import tiny_frame


@pytest.fixture()
def files(tmp_path):
    src = tmp_path / "in.nc"
    tiny_frame(0, n_time=10, ny=24, nx=32).to_netcdf(src, engine="h5netcdf")
    torch.manual_seed(0)
    weights = tmp_path / "tiny.safetensors"
    save_weights(Denoiser(widths=(4, 4, 8, 8), n_mix=1), weights)
    return src, weights


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_denoise_writes_deformation_and_noise_and_leaves_input_untouched(files, tmp_path, capsys):
    src, weights = files
    before = _sha(src)
    out = tmp_path / "out.nc"
    rc = main(
        [
            "denoise",
            str(src),
            "-o",
            str(out),
            "--model",
            str(weights),
            "--device",
            "cpu",
            "--tile",
            "32",
            "--overlap",
            "8",
            "--quiet",
        ]
    )
    assert rc == 0
    assert _sha(src) == before
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert {"deformation", "noise", "displacement", "height"} <= set(ds.data_vars)
        assert ds["deformation"].attrs["units"] == "mm"
        np.testing.assert_allclose(ds["noise"] + ds["deformation"], ds["displacement"], atol=1e-4)
    assert not list(tmp_path.glob(".*tmp"))  # no temp file left behind


def test_denoise_refuses_to_overwrite_output_or_input(files, tmp_path, capsys):
    src, weights = files
    out = tmp_path / "out.nc"
    out.write_bytes(b"precious")
    rc = main(["denoise", str(src), "-o", str(out), "--model", str(weights), "--quiet"])
    assert rc == 2 and out.read_bytes() == b"precious"
    assert "already exists" in capsys.readouterr().err
    before = _sha(src)
    rc = main(
        ["denoise", str(src), "-o", str(src), "--model", str(weights), "--overwrite", "--quiet"]
    )
    assert rc == 2 and _sha(src) == before
    assert "input" in capsys.readouterr().err


def test_denoise_bad_input_fails_cleanly_and_writes_nothing(files, tmp_path, capsys):
    src, weights = files
    short = tmp_path / "short.nc"
    tiny_frame(0, n_time=5).to_netcdf(short, engine="h5netcdf")
    out = tmp_path / "never.nc"
    assert main(["denoise", str(short), "-o", str(out), "--model", str(weights), "--quiet"]) == 2
    assert "at least T=9" in capsys.readouterr().err and not out.exists()
    missing = tmp_path / "missing.nc"
    assert main(["denoise", str(missing), "-o", str(out), "--quiet"]) == 2
    assert not out.exists()
    tampered = tmp_path / "bad.safetensors"
    tampered.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    (tmp_path / "bad.safetensors.json").write_text((tmp_path / "tiny.safetensors.json").read_text())
    assert main(["denoise", str(src), "-o", str(out), "--model", str(tampered), "--quiet"]) == 2
    assert "SHA-256" in capsys.readouterr().err and not out.exists()


def test_command_table_and_lazy_imports():
    assert {"denoise", "train", "models"} <= set(COMMANDS)
    args = build_parser().parse_args(["train", "--steps", "3", "--loss", "l1"])
    assert args.steps == 3 and args.loss == "l1"
    code = "import sys; import insar_ae.cli as c; c.build_parser(); print('torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"


def test_denoise_flags_are_generated_once_from_the_options():
    """``denoise`` and ``batch`` declare the same flags, from DenoiseOptions' fields."""
    import argparse
    import dataclasses

    from insar_ae.cli import add_batch_arguments, options_from_args
    from insar_ae.model import DenoiseOptions

    names = [f.name for f in dataclasses.fields(DenoiseOptions)]

    def build_batch_parser() -> argparse.ArgumentParser:  # the `insar-ae batch` options
        p = argparse.ArgumentParser()
        add_batch_arguments(p)
        return p

    den = build_parser().parse_args(["denoise", "in.nc", "-o", "o.nc"])
    bat = build_batch_parser().parse_args(["catalog", "--out", "r"])
    assert options_from_args(den) == options_from_args(bat) == DenoiseOptions()
    flags = ["--tile", "64", "--overlap", "16", "--batch-size", "2", "--time-stride", "3"]
    flags += ["--device", "cpu", "--model", "window-v2"]
    den = build_parser().parse_args(["denoise", "in.nc", "-o", "o.nc", *flags])
    bat = build_batch_parser().parse_args(["catalog", "--out", "r", *flags])
    want = DenoiseOptions("window-v2", "cpu", 64, 16, 2, 3)
    assert options_from_args(den) == options_from_args(bat) == want
    helps = {
        a.dest: a.help for a in build_batch_parser()._actions if a.dest in names
    }  # help text and defaults from the field metadata
    assert set(helps) == set(names) and "(default 128, px)" in helps["tile"]


def test_out_of_bounds_denoise_flags_fail_in_one_line(files, tmp_path, capsys):
    src, _ = files
    out = tmp_path / "o.nc"
    assert main(["denoise", str(src), "-o", str(out), "--time-stride", "0", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["insar-ae denoise: error: time_stride=0 must be an integer >= 1 (dates)"]
    assert not out.exists()


def test_models_lists_the_shipped_default(capsys):
    assert main(["models", "--verify"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("default:") and "[verified]" in out


def test_denoise_block_mode_streams_to_zarr_and_matches_whole_frame(files, tmp_path):
    src, weights = files
    common = [
        "--model",
        str(weights),
        "--device",
        "cpu",
        "--tile",
        "32",
        "--overlap",
        "8",
        "--quiet",
    ]
    whole, blocks = tmp_path / "whole.nc", tmp_path / "blocks.zarr"
    assert main(["denoise", str(src), "-o", str(whole), *common]) == 0
    assert main(["denoise", str(src), "-o", str(blocks), "--block", "16", *common]) == 0
    from insar_ae.io import open_frame

    a = xr.open_dataset(whole, engine="h5netcdf")
    b = open_frame(blocks)
    np.testing.assert_allclose(b["deformation"].values, a["deformation"].values, atol=1e-4)
    a.close()


def test_denoise_block_mode_requires_zarr_output(files, tmp_path, capsys):
    src, weights = files
    rc = main(
        [
            "denoise",
            str(src),
            "-o",
            str(tmp_path / "x.nc"),
            "--block",
            "16",
            "--model",
            str(weights),
            "--quiet",
        ]
    )
    assert rc != 0
    assert "must end in .zarr" in capsys.readouterr().err
    assert not (tmp_path / "x.nc").exists()


def test_train_config_file_json_or_yaml(tmp_path, monkeypatch, capsys):
    """``insar-ae train --config`` reads a committed campaign JSON or a YAML file whole; a bad
    field is refused before training, naming the file and the field."""
    from pathlib import Path

    from insar_ae.model.train import TrainConfig

    train_module = sys.modules["insar_ae.model.train"]  # the package's `train` is the function

    seen: list = []
    monkeypatch.setattr(train_module, "train", lambda cfg: seen.append(cfg) or tmp_path / "w")
    campaign = Path(__file__).resolve().parents[1] / "campaign" / "series-v8.json"
    assert main(["train", "--config", str(campaign)]) == 0
    assert seen[-1] == TrainConfig(**json.loads(campaign.read_text()))
    (tmp_path / "c.yaml").write_text(TrainConfig.from_file(campaign).to_yaml())
    assert main(["train", "--config", str(tmp_path / "c.yaml")]) == 0
    assert seen[-1] == seen[0]
    (tmp_path / "bad.yaml").write_text("steps: 0\n")
    assert main(["train", "--config", str(tmp_path / "bad.yaml")]) == 2
    assert "bad.yaml: steps=0 must be an integer >= 1" in capsys.readouterr().err
    assert len(seen) == 2
