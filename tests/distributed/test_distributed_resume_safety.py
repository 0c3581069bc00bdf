"""Resuming a block-wise run never mixes two models, and a corrupt state file is rebuilt
(issue 16, items 5 and 6)."""

from __future__ import annotations

import json
import threading
import warnings

import numpy as np
import pytest
import torch
from distributed_helpers import OPTIONS, TILING

from insar_ae.distributed import denoise_blocks
from insar_ae.model import Cancelled, Denoiser, denoise, save_weights
from insar_ae.model.weights import sha256_file
from insar_ae.testing import tiny_frame


@pytest.fixture(scope="module")
def frame():
    return tiny_frame(2, n_time=10, ny=72, nx=60)


def _weights(path, seed: int):
    torch.manual_seed(seed)
    save_weights(Denoiser(widths=(4, 4, 8, 8), n_mix=1), path)
    return path


def _stop_after_first(path, frame, model) -> None:
    cancel = threading.Event()
    with pytest.raises(Cancelled):
        denoise_blocks(
            frame,
            path,
            block=24,
            model=model,
            client=False,
            cancel=cancel,
            progress=lambda f, m: cancel.set() if m.startswith("1/") else None,
            options=OPTIONS,
        )


def test_resume_after_a_weights_swap_recomputes_with_the_new_weights(frame, tmp_path):
    weights = _weights(tmp_path / "w.safetensors", 1)
    out = tmp_path / "o.zarr"
    _stop_after_first(out, frame, str(weights))
    _weights(weights, 2)  # same path, other weights (and a matching sidecar)
    messages: list[str] = []
    res = denoise_blocks(
        frame,
        out,
        block=24,
        model=str(weights),
        client=False,
        progress=lambda f, m: messages.append(m),
        options=OPTIONS,
    )
    assert messages[0].startswith("0/")  # nothing resumed from the old model's blocks
    ref = denoise(frame, model=str(weights), **TILING)
    np.testing.assert_allclose(res["deformation"].values, ref["deformation"].values, atol=1e-5)
    ran = sha256_file(weights)
    assert res["deformation"].attrs["model_sha256"] == ran
    assert json.loads(res.attrs["insar_ae_denoise"])["model_sha256"] == ran


def test_corrupt_attrs_json_is_reported_and_rebuilt(frame, tmp_path):
    weights = _weights(tmp_path / "w.safetensors", 1)
    out = tmp_path / "o.zarr"
    _stop_after_first(out, frame, str(weights))
    state = tmp_path / ".o.zarr.insar_ae-partial"
    attrs = state / "attrs.json"
    assert attrs.is_file()
    attrs.write_text('{"deformation": {"units": "m')  # half-written
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = denoise_blocks(
            frame, out, block=24, model=str(weights), client=False, options=OPTIONS
        )
    assert any("corrupt" in str(w.message) and "attrs.json" in str(w.message) for w in caught)
    assert res["deformation"].attrs["units"] == "mm"
    assert res["deformation"].attrs["model_sha256"] == sha256_file(weights)
    # and a second run on the finished output is not stuck either
    assert not state.exists()


def test_state_files_are_written_atomically(frame, tmp_path, monkeypatch):
    """attrs.json and fingerprint.json go through the one atomic helper (temporary + rename)."""
    import insar_ae.distributed.store as store

    written: list[str] = []
    real = store.atomic_write_text

    def spy(path, text):
        written.append(path.name)
        return real(path, text)

    monkeypatch.setattr(store, "atomic_write_text", spy)
    weights = _weights(tmp_path / "w.safetensors", 1)
    denoise_blocks(
        frame, tmp_path / "o.zarr", block=24, model=str(weights), client=False, options=OPTIONS
    )
    assert {"fingerprint.json", "attrs.json"} <= set(written)


def test_block_run_without_a_dem_is_refused_before_any_block(frame, tmp_path):
    from insar_ae.errors import DataModelError

    no_dem = frame.copy()
    no_dem["height"] = no_dem["height"] * np.nan
    weights = _weights(tmp_path / "w.safetensors", 1)
    with pytest.raises(DataModelError, match=r"height \(DEM, m\) is NaN on every valid pixel"):
        denoise_blocks(
            no_dem, tmp_path / "o.zarr", block=24, model=str(weights), client=False, options=OPTIONS
        )
    assert not [p for p in tmp_path.iterdir() if "o.zarr" in p.name]
