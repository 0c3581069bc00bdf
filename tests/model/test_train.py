"""Training: a short run lowers the validation error, resumes from its checkpoint."""

from __future__ import annotations

import json

import pytest

from insar_ae.errors import ParameterError
from insar_ae.model import TrainConfig, load_model, train


def _cfg(tmp_path, steps):
    return TrainConfig(out=str(tmp_path / "run"), steps=steps, batch_size=8, patch=32,
                       widths=(8, 8, 16, 16), n_mix=1, lr=3e-3, n_val=8, val_size=32,
                       val_every=1000, checkpoint_every=10, log_every=5, device="cpu",
                       progress_bar=False, seed=7)


def _events(run, kind):
    return [json.loads(x) for x in (run / "train.log").read_text().splitlines()
            if json.loads(x)["event"] == kind]


def test_short_training_lowers_the_validation_error_and_resumes(tmp_path):
    path = train(_cfg(tmp_path, 30))
    run = tmp_path / "run"
    first = _events(run, "val")[0]
    end = _events(run, "end")[-1]
    assert first["step"] == 0 and end["step"] == 30
    assert end["rmse_mm"] < 0.9 * first["rmse_mm"]
    model = load_model(path)
    assert model.weights_meta["samples_seen"] == 240
    assert "no GPU" in model.weights_meta["hardware"] or "cuda" in model.weights_meta["hardware"]
    # resume: same folder, more steps -> continues from step 30
    train(_cfg(tmp_path, 40))
    ends = _events(run, "end")
    assert ends[-1]["step"] == 40 and ends[-1]["samples_seen"] == 320
    assert len(_events(run, "val")) == 1  # no step-0 validation on resume


def test_bad_config_is_rejected(tmp_path):
    with pytest.raises(ParameterError, match="loss"):
        train(TrainConfig(out=str(tmp_path), loss="l3"))
    with pytest.raises(ParameterError, match="patch"):
        train(TrainConfig(out=str(tmp_path), patch=30))
