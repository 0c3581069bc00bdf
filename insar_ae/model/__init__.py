"""The deformation auto-encoder: network, normalising wrapper, weights, training, inference.

Public API (see ``docs/api.md``): :func:`load_model`, :func:`denoise`, :func:`train`,
:func:`evaluate`, :func:`available_devices`, :class:`Cancelled`, :class:`SeriesDenoiser` (the default
whole-series model), :class:`Denoiser` (the 9-date window model); classical yardsticks in
:mod:`insar_ae.model.baselines`.
"""

from __future__ import annotations

from insar_ae.model.devices import available_devices, resolve_device
from insar_ae.model.infer import Cancelled, denoise
from insar_ae.model.network import SeriesUNet, SpaceTimeAE
from insar_ae.model.normalize import Denoiser, SeriesDenoiser
from insar_ae.model.train import TrainConfig, evaluate, train
from insar_ae.model.weights import load_model, read_registry, save_weights

__all__ = [
    "Cancelled",
    "Denoiser",
    "SeriesDenoiser",
    "SeriesUNet",
    "SpaceTimeAE",
    "TrainConfig",
    "available_devices",
    "denoise",
    "evaluate",
    "load_model",
    "read_registry",
    "resolve_device",
    "save_weights",
    "train",
]
