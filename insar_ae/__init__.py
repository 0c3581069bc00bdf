"""insar_ae: millimetre-scale deformation from noisy InSAR time series with a deep auto-encoder.

The public API is small and lazily imported (so ``import insar_ae`` stays fast and torch is
only loaded when a model is needed):

- data model: :func:`validate`, :func:`make_dataset`
- synthetic scenes: :func:`make_scene`, :func:`sample_batch`
- model: :func:`load_model`, :func:`denoise`, :func:`train`
- I/O: :func:`open_frame` (any supported file), :func:`write_frame`
- catalog: :func:`list_frames`, :func:`open_catalog_frame`
- analysis: see :mod:`insar_ae.analysis`
"""

from __future__ import annotations

from insar_ae._lazy import lazy_exports
from insar_ae.datamodel import make_dataset, validate
from insar_ae.errors import (
    CatalogError,
    DataModelError,
    FormatError,
    InsarAEError,
    ParameterError,
    WeightsError,
)

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "make_scene": "insar_ae.synthetic",
    "sample_batch": "insar_ae.synthetic",
    "list_presets": "insar_ae.synthetic",
    "load_model": "insar_ae.model",
    "denoise": "insar_ae.model",
    "train": "insar_ae.model",
    "open_frame": "insar_ae.io",
    "write_frame": "insar_ae.io",
    "list_frames": "insar_ae.catalog",
    "open_catalog_frame": "insar_ae.catalog",
}

__all__ = [
    "CatalogError",
    "DataModelError",
    "FormatError",
    "InsarAEError",
    "ParameterError",
    "WeightsError",
    "__version__",
    "make_dataset",
    "validate",
    *_LAZY,
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
