"""Old name of :mod:`insar_ae.model.denoisers` (the ``Denoiser`` and ``SeriesDenoiser``
modules); kept so that old imports keep working. Import from ``insar_ae.model`` or
``insar_ae.model.denoisers`` instead."""

from __future__ import annotations

import warnings

from insar_ae.model.denoisers import Denoiser, Prepared, SeriesDenoiser, SeriesPrepared

__all__ = ["Denoiser", "Prepared", "SeriesDenoiser", "SeriesPrepared"]

warnings.warn(
    "insar_ae.model.normalize is now insar_ae.model.denoisers",
    DeprecationWarning,
    stacklevel=2,
)
