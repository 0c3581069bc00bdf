"""Weights: safetensors round trip, SHA-256 check, registry, shipped default."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from model_helpers import tiny_model

from insar_ae.errors import WeightsError
from insar_ae.model import load_model, read_registry
from insar_ae.model.weights import WEIGHTS_DIR, publish_weights, sha256_file


def _inputs():
    g = torch.Generator().manual_seed(1)
    win = 3 * torch.randn(1, 9, 24, 24, generator=g)
    win[:, 0] = 0
    return win, 100 * torch.randn(1, 24, 24, generator=g)


def test_round_trip_gives_identical_outputs(tiny_weights):
    loaded = load_model(tiny_weights)
    win, dem = _inputs()
    assert torch.equal(loaded(win, dem), tiny_model(0)(win, dem))
    side = json.loads((tiny_weights.parent / "tiny.safetensors.json").read_text())
    assert side["sha256"] == sha256_file(tiny_weights) and len(side["sha256"]) == 64
    assert side["meta"] == {"purpose": "tests"}


def test_tampered_file_is_rejected(tiny_weights):
    blob = bytearray(tiny_weights.read_bytes())
    blob[-5] ^= 0x01
    tiny_weights.write_bytes(bytes(blob))
    with pytest.raises(WeightsError, match="SHA-256"):
        load_model(tiny_weights)


def test_missing_sidecar_unknown_name_and_garbage_are_rejected(tiny_weights, tmp_path):
    (tiny_weights.parent / "tiny.safetensors.json").unlink()
    with pytest.raises(WeightsError, match="sidecar"):
        load_model(tiny_weights)
    with pytest.raises(WeightsError, match="no weights named"):
        load_model("no-such-model", weights_dir=tmp_path)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    (tmp_path / "junk.safetensors.json").write_text(
        json.dumps({"sha256": sha256_file(junk), "config": tiny_model().config()})
    )
    with pytest.raises(WeightsError, match="not a readable safetensors"):
        load_model(junk)


def test_architecture_mismatch_is_rejected(tiny_weights):
    side = tiny_weights.parent / "tiny.safetensors.json"
    entry = json.loads(side.read_text())
    entry["config"]["widths"] = [8, 8, 8, 8]
    side.write_text(json.dumps(entry))
    with pytest.raises(WeightsError, match="does not match"):
        load_model(tiny_weights)


def test_publish_into_a_registry_and_load_by_name(tiny_weights, tmp_path):
    wdir = tmp_path / "reg"
    publish_weights(tiny_weights, "tiny", weights_dir=wdir)
    assert read_registry(wdir)["tiny"]["sha256"] == sha256_file(wdir / "tiny.safetensors")
    win, dem = _inputs()
    assert torch.equal(load_model("tiny", weights_dir=wdir)(win, dem), tiny_model(0)(win, dem))


def test_shipped_default_is_registered_verified_and_small(tmp_path):
    reg = read_registry()
    assert "default" in reg
    entry = reg["default"]
    path = WEIGHTS_DIR / entry["file"]
    assert path.stat().st_size < 5_000_000
    assert sha256_file(path) == entry["sha256"]
    meta = entry["meta"]
    for key in ("samples_seen", "hardware", "wall_time_s", "validation"):
        assert key in meta
    model = load_model()
    assert model.kind == "series" and model.min_dates == 2  # any number of dates
    old = load_model("window-v2")  # the 9-date window model, kept for comparison
    assert old.kind == "window" and old.T == 9
    # the same file with one flipped byte in a copy of the registry is refused
    copy = tmp_path / "weights"
    shutil.copytree(WEIGHTS_DIR, copy)
    blob = bytearray((copy / entry["file"]).read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (copy / entry["file"]).write_bytes(bytes(blob))
    with pytest.raises(WeightsError, match="SHA-256"):
        load_model("default", weights_dir=copy)
