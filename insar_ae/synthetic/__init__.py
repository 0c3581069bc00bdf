"""Synthetic InSAR time series: physics (Okada, Mogi, LOS), noise, scenes and training batches.

Scenes (:func:`make_scene`) are canonical, validated Datasets with their truth and noise
components; training batches (:func:`sample_batch`) are drawn on the fly in torch. See
docs/synthetic.md. torch is imported only when a batch name is first used (scenes need numpy only).
"""

from __future__ import annotations

import importlib
from typing import Any

from insar_ae.synthetic.los import SENTINEL1_ASC, SENTINEL1_DESC, los_vector, project_los
from insar_ae.synthetic.mogi import mogi, mogi_dvolume_from_pressure
from insar_ae.synthetic.okada import fault_displacement, okada85
from insar_ae.synthetic.presets import PRESETS, list_presets, preset_params
from insar_ae.synthetic.scenes import make_scene
from insar_ae.synthetic.timefuncs import acquisition_dates, linear, seasonal, smooth_transient, step
from insar_ae.synthetic.topography import fractal_dem

__all__ = [
    "PRESETS",
    "SENTINEL1_ASC",
    "SENTINEL1_DESC",
    "Batch",
    "BatchConfig",
    "acquisition_dates",
    "fault_displacement",
    "fractal_dem",
    "linear",
    "list_presets",
    "los_vector",
    "make_scene",
    "mogi",
    "mogi_dvolume_from_pressure",
    "okada85",
    "preset_params",
    "project_los",
    "sample_batch",
    "seasonal",
    "smooth_transient",
    "step",
]

_LAZY = {"Batch", "BatchConfig", "sample_batch"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module("insar_ae.synthetic.batches"), name)
    raise AttributeError(f"module 'insar_ae.synthetic' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
