"""Shared helpers of the model tests (imported by conftest and test modules)."""

from __future__ import annotations

import torch

from insar_ae.model import Denoiser

TINY_ARCH = {"T": 9, "widths": (4, 4, 8, 8), "n_mix": 1}


def tiny_model(seed: int = 0) -> Denoiser:
    """A tiny randomly initialised Denoiser (deterministic for a seed)."""
    torch.manual_seed(seed)
    return Denoiser(**TINY_ARCH)


class IdentityDenoiser(Denoiser):
    """An 'oracle' returning its input (NaN -> 0): isolates tiling and stitching."""

    def forward(self, windows, dem, mask=None):
        return torch.nan_to_num(windows.float(), nan=0.0)
