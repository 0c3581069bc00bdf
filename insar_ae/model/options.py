"""The one set of denoising options: :class:`DenoiseOptions` (frozen, validated on creation).

Every entry point takes it whole: :func:`insar_ae.model.denoise`,
:func:`insar_ae.distributed.denoise_blocks`, :func:`insar_ae.distributed.run_batch`, the
dashboard's ``app.jobs.DenoiseJob`` and the ``insar-ae denoise`` / ``insar-ae batch`` flags
(generated from the fields by ``insar_ae.cli.add_denoise_arguments``). Each field's metadata
carries its bounds, units and command-line help, and validation reads the bounds from there
(the checks, the round trips and ``replace`` are shared with the other configs in
:mod:`insar_ae._config`).

No torch import here: the command line builds its parser from these fields without loading it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from insar_ae._config import Config
from insar_ae._config import meta as _meta
from insar_ae.errors import ParameterError

__all__ = ["DEVICE_PATTERN", "SYMMETRIES", "DenoiseOptions", "device_name", "merge"]

#: Device names accepted by the options (availability is checked when a run starts).
DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")

#: Network passes a series model may average at inference: 1 (none), 2 (sign of the
#: displacement), 4 (x 2 mirror flips), 8 (x 4 mirror flips), 16 (x transposition).
SYMMETRIES = (1, 2, 4, 8, 16)


def device_name(value: Any) -> str:
    """``value`` as a device name (lower case) of :data:`DEVICE_PATTERN`, or ParameterError;
    the one check of the ``device`` field of :class:`DenoiseOptions` and ``TrainConfig``."""
    if not isinstance(value, str) or not DEVICE_PATTERN.match(value.lower()):
        raise ParameterError(f"device={value!r} is not one of 'auto', 'cpu', 'cuda[:N]', 'mps'")
    return value.lower()


@dataclass(frozen=True)
class DenoiseOptions(Config):
    """How a frame is denoised (what, where and in which pieces); all fields validated.

    Parameters
    ----------
    model
        Weights: a registry name (``insar-ae models``) or a ``.safetensors`` path; names win
        over files. A loaded module is passed to the entry points as ``model=`` instead.
    device
        ``"auto"`` (CUDA, then MPS, then CPU; in block tasks one GPU per worker), ``"cpu"``,
        ``"cuda"``, ``"cuda:N"``, ``"mps"``.
    tile
        Square tile size, pixels: an integer >= 16 and a multiple of 8.
    overlap
        Tile overlap of the raised-cosine blending, pixels: 0 <= overlap <= tile // 2.
    batch_size
        Tiles per forward pass (>= 1; bounds memory).
    time_stride
        Window models only: dates between the first dates of successive windows (>= 1; at most
        T - 1, checked against the model when it runs). The series model ignores it.
    symmetries
        Series models only: network passes averaged at inference, one of :data:`SYMMETRIES`
        (16 adds the map's transposition to the 8 of sign x mirror flips: lower noise, twice
        the time); ``None`` keeps the weights' own setting (8 for ``default``).
    """

    _label: ClassVar[str] = "denoise option"

    model: str = field(
        default="default",
        metadata=_meta(
            "registry name (see `insar-ae models`) or a path to a .safetensors file "
            "(./name.safetensors); names win over files"
        ),
    )
    device: str = field(
        default="auto",
        metadata=_meta(
            "auto (CUDA, then MPS, then CPU; in a batch one GPU per worker, else CPU), "
            "cpu, cuda, cuda:N, mps"
        ),
    )
    tile: int = field(
        default=128,
        metadata=_meta(
            "tile size in pixels, >= 16 and a multiple of 8", units="px", min=16, multiple_of=8
        ),
    )
    overlap: int = field(
        default=32,
        metadata=_meta("tile overlap in pixels, at most tile // 2", units="px", min=0),
    )
    batch_size: int = field(
        default=8, metadata=_meta("tiles per forward pass (bounds memory)", units="tiles", min=1)
    )
    time_stride: int = field(
        default=1,
        metadata=_meta(
            "window models only (e.g. --model window-v2): step between successive 9-date "
            "windows (1 = best, 8 = fastest); the default series model reads every date at "
            "once and ignores it",
            units="dates",
            min=1,
        ),
    )
    symmetries: int | None = field(
        default=None,
        metadata=_meta(
            "series models only: network passes averaged at inference, 1, 2, 4, 8 or 16 "
            "(16 adds the transposition: lower noise, twice the time); default: the weights' "
            "own (8 for default)",
            units="passes",
            min=1,
        ),
    )

    def __post_init__(self) -> None:
        self._check_fields()
        if self.symmetries is not None and self.symmetries not in SYMMETRIES:
            raise ParameterError(
                f"symmetries={self.symmetries!r} must be one of {SYMMETRIES} (or None: the "
                "weights' own)"
            )
        if isinstance(self.model, os.PathLike):
            object.__setattr__(self, "model", os.fspath(self.model))
        if not isinstance(self.model, str) or not self.model.strip():
            raise ParameterError(
                f"model={self.model!r} must be a weights name or a .safetensors path "
                "(a loaded module is passed as model= to denoise)"
            )
        object.__setattr__(self, "device", device_name(self.device))
        if self.overlap > self.tile // 2:
            raise ParameterError(
                f"overlap={self.overlap} must be at most tile // 2 = {self.tile // 2} "
                f"(tile={self.tile})"
            )

    # replace, to_dict / from_dict, to_yaml / from_yaml, from_file: insar_ae._config.Config

    def identity(self) -> dict[str, Any]:
        """Every field, sorted by name: a stable, JSON-able description for cache keys and
        fingerprints (``insar_ae.distributed`` adds the weights' SHA-256 and the version)."""
        return dict(sorted(self.to_dict().items()))


def merge(options: DenoiseOptions | None = None, /, **overrides: Any) -> DenoiseOptions:
    """``options`` (default: the defaults) with ``overrides``, validated.

    An override name that is not a field raises ParameterError (naming the valid ones).
    """
    if options is None:
        options = DenoiseOptions()
    elif not isinstance(options, DenoiseOptions):
        raise ParameterError(
            f"options must be a DenoiseOptions (or None), got {type(options).__name__}"
        )
    return options.replace(**overrides)
