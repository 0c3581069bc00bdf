"""The one set of denoising options: :class:`DenoiseOptions` (frozen, validated on creation).

Every entry point takes it whole: :func:`insar_ae.model.denoise`,
:func:`insar_ae.distributed.denoise_blocks`, :func:`insar_ae.distributed.run_batch`, the
dashboard's ``app.jobs.DenoiseJob`` and the ``insar-ae denoise`` / ``insar-ae batch`` flags
(generated from the fields by ``insar_ae.cli.add_denoise_arguments``). Each field's metadata
carries its bounds, units and command-line help, and validation reads the bounds from there.

No torch import here: the command line builds its parser from these fields without loading it.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any

from insar_ae.errors import ParameterError

__all__ = ["DEVICE_PATTERN", "DenoiseOptions", "merge"]

#: Device names accepted by the options (availability is checked when a run starts).
DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def _meta(help: str, *, units: str = "", min: int | None = None, **extra: Any) -> dict[str, Any]:
    return {"help": help, "units": units, "min": min, **extra}


@dataclass(frozen=True)
class DenoiseOptions:
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
    """

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

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.type in (int, "int"):
                object.__setattr__(self, f.name, _check_int(f, value))
        if isinstance(self.model, os.PathLike):
            object.__setattr__(self, "model", os.fspath(self.model))
        if not isinstance(self.model, str) or not self.model.strip():
            raise ParameterError(
                f"model={self.model!r} must be a weights name or a .safetensors path "
                "(a loaded module is passed as model= to denoise)"
            )
        if not isinstance(self.device, str) or not DEVICE_PATTERN.match(self.device.lower()):
            raise ParameterError(
                f"device={self.device!r} is not one of 'auto', 'cpu', 'cuda[:N]', 'mps'"
            )
        object.__setattr__(self, "device", self.device.lower())
        if self.overlap > self.tile // 2:
            raise ParameterError(
                f"overlap={self.overlap} must be at most tile // 2 = {self.tile // 2} "
                f"(tile={self.tile})"
            )

    # -- derived copies ------------------------------------------------------------------------
    def replace(self, **overrides: Any) -> DenoiseOptions:
        """A validated copy with ``overrides``; an unknown name raises ParameterError."""
        return merge(self, **overrides)

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """``{field: value}`` (plain JSON/YAML types), in field order."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DenoiseOptions:
        """Options from a mapping of field names (missing ones take their defaults)."""
        if not isinstance(data, Mapping):
            raise ParameterError(f"denoise options must be a mapping, got {type(data).__name__}")
        _check_names(data)
        return cls(**dict(data))

    def to_yaml(self) -> str:
        """The options as a YAML mapping (one field a line, in field order)."""
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> DenoiseOptions:
        """Options from YAML text (a mapping of field names; empty text gives the defaults)."""
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ParameterError(f"denoise options: not valid YAML ({exc})") from None
        return cls.from_dict({} if data is None else data)

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
    if not overrides:
        return options
    _check_names(overrides)
    return dataclasses.replace(options, **overrides)


def _check_names(names: Mapping[str, Any]) -> None:
    known = {f.name for f in dataclasses.fields(DenoiseOptions)}
    unknown = sorted(set(names) - known)
    if unknown:
        raise ParameterError(
            f"unknown denoise option(s) {', '.join(map(repr, unknown))}; "
            f"valid: {', '.join(sorted(known))}"
        )


def _check_int(f: dataclasses.Field, value: Any) -> int:
    """``value`` as an int within the bounds of ``f.metadata`` (min, multiple_of)."""
    meta = f.metadata
    units = f" ({meta['units']})" if meta.get("units") else ""
    lo, step = meta.get("min"), meta.get("multiple_of")
    rule = "an integer" + (f" >= {lo}" if lo is not None else "")
    rule += f" and a multiple of {step}" if step else ""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ParameterError(f"{f.name}={value!r} must be {rule}{units}")
    value = int(value)
    if (lo is not None and value < lo) or (step and value % step):
        raise ParameterError(f"{f.name}={value!r} must be {rule}{units}")
    return value
