"""The deformation auto-encoder: network, normalising wrapper, weights, training, inference.

Public API (see ``docs/api.md``): :func:`load_model`, :func:`denoise`, :class:`DenoiseOptions`
(the one set of denoising options), :func:`train`, :func:`evaluate`, :func:`available_devices`,
:func:`resolve_device`, :class:`Cancelled`, :class:`SeriesDenoiser` (the default whole-series
model), :class:`Denoiser` (the 9-date window model); classical yardsticks in
:mod:`insar_ae.model.baselines`.

Names are imported lazily, so ``from insar_ae.model import DenoiseOptions`` (the command line's
parser) does not load torch.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from insar_ae._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "Cancelled": "insar_ae.errors",
    "DenoiseOptions": "insar_ae.model.options",
    "Denoiser": "insar_ae.model.denoisers",
    "SeriesDenoiser": "insar_ae.model.denoisers",
    "SeriesUNet": "insar_ae.model.network",
    "SpaceTimeAE": "insar_ae.model.network",
    "TrainConfig": "insar_ae.model.train",
    "available_devices": "insar_ae.model.devices",
    "denoise": "insar_ae.model.infer",
    "evaluate": "insar_ae.model.train",
    "load_model": "insar_ae.model.weights",
    "read_registry": "insar_ae.model.weights",
    "resolve_device": "insar_ae.model.devices",
    "save_weights": "insar_ae.model.weights",
    "train": "insar_ae.model.train",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, cache=True)


class _Package(types.ModuleType):
    """Keeps ``insar_ae.model.train`` the function: importing the submodule of the same name
    would otherwise rebind the package attribute to the module (as the eager imports did)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType) and hasattr(value, name):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
