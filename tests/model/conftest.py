"""Fixtures for the model tests: tiny random-weight Denoisers saved to tmp_path."""

from __future__ import annotations

import pytest
import torch
from model_helpers import tiny_model

from insar_ae.model import save_weights


@pytest.fixture()
def tiny_weights(tmp_path):
    """Path to a tiny random model saved with save_weights (safetensors + sidecar)."""
    path = tmp_path / "tiny.safetensors"
    save_weights(tiny_model(0), path, meta={"purpose": "tests"})
    return path


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
