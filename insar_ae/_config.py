"""The shared pieces of the validated configs (``DenoiseOptions``, ``TrainConfig``, ``BatchConfig``).

Each config is a frozen dataclass deriving from :class:`Config`. A field's metadata, built with
:func:`meta`, carries its help text, units and simple bounds; :meth:`Config._check_fields`
(called first in each ``__post_init__``) reads the bounds there, checks every field whose type
is a number, a bool, a string with ``choices`` or a tuple of numbers, and stores the normalised
value (``np.int64(64)`` -> ``64``, a list -> a tuple). Rules that tie fields together stay in
the config's own ``__post_init__``. Every failure is a ParameterError naming the field, the
value and the rule. :class:`Config` adds the dict, YAML and file round trips and ``replace``.

Standard library only (PyYAML is imported when YAML is read or written): the command line
builds its parsers from these configs without loading torch.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
from collections.abc import Mapping
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from insar_ae.errors import ParameterError

__all__ = ["Config", "check_names", "dump_yaml", "meta"]

C = TypeVar("C", bound="Config")


def meta(help: str, *, units: str = "", min: float | None = None, **extra: Any) -> dict[str, Any]:
    """Field metadata: ``help`` (command-line help), ``units`` and the bounds read by the
    checks: ``min`` / ``max`` (inclusive), ``gt`` / ``lt`` (exclusive), ``multiple_of``,
    ``choices`` (strings), ``ordered`` (a pair (lo, hi) needs lo <= hi); ``scale`` is text."""
    return {"help": help, "units": units, "min": min, **extra}


def check_names(cls: type, names: Mapping[str, Any] | Any, label: str | None = None) -> None:
    """ParameterError if a key of ``names`` is not a field of the dataclass ``cls``."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(names) - known)
    if unknown:
        label = label or getattr(cls, "_label", f"{cls.__name__} field")
        raise ParameterError(
            f"unknown {label}(s) {', '.join(map(repr, unknown))}; valid: {', '.join(sorted(known))}"
        )


# -- the checks -------------------------------------------------------------------------------
_SCALARS = {"int": "int", "float": "float", "bool": "bool", "str": "str"}


@functools.cache
def _kind(annotation: Any) -> tuple[str, bool, int | None]:
    """(kind, optional, tuple length or None for any) of a field's annotation (text, or a
    class where the module does not postpone annotations)."""
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    text = text.replace(" ", "")
    optional = text.endswith("|None")
    if optional:
        text = text[: -len("|None")]
    if text in _SCALARS:
        return _SCALARS[text], optional, 0
    if text.startswith("tuple[") and text.endswith("]"):
        parts = text[len("tuple[") : -1].split(",")
        if parts[0] in ("int", "float"):
            if len(parts) == 2 and parts[1] == "...":
                return "tuple-" + parts[0], optional, None
            if all(p == parts[0] for p in parts):
                return "tuple-" + parts[0], optional, len(parts)
    return "other", optional, 0


def _fmt(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _bounds(m: Mapping[str, Any]) -> str:
    """' >= 16', ' in (0, 1)', ' in [0, 1]', ' > 0', '' from the metadata."""
    lo, gt, hi, lt = m.get("min"), m.get("gt"), m.get("max"), m.get("lt")
    low = (f"[{_fmt(lo)}" if lo is not None else f"({_fmt(gt)}") if (lo, gt) != (None, None) else ""
    high = (
        (f"{_fmt(hi)}]" if hi is not None else f"{_fmt(lt)})") if (hi, lt) != (None, None) else ""
    )
    if low and high:
        return f" in {low}, {high}"
    if low:
        return f" {'>=' if lo is not None else '>'} {low[1:]}"
    if high:
        return f" {'<=' if hi is not None else '<'} {high[:-1]}"
    return ""


def _in_bounds(m: Mapping[str, Any], x: float) -> bool:
    lo, gt, hi, lt = m.get("min"), m.get("gt"), m.get("max"), m.get("lt")
    return not (
        (lo is not None and x < lo)
        or (gt is not None and x <= gt)
        or (hi is not None and x > hi)
        or (lt is not None and x >= lt)
    )


def _number(kind: str, m: Mapping[str, Any], value: Any) -> int | float | None:
    """``value`` as an int/float within the bounds, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if kind == "int":
        if not isinstance(value, Integral):
            return None
        x: int | float = int(value)
        step = m.get("multiple_of")
        if step and x % step:
            return None
    else:
        if not isinstance(value, Real) or not math.isfinite(value):
            return None
        x = float(value)
    return x if _in_bounds(m, x) else None


def _rule(kind: str, m: Mapping[str, Any], optional: bool, length: int | None) -> str:
    noun = {"int": "integer", "float": "number"}
    if kind in ("int", "float"):
        rule = ("an integer" if kind == "int" else "a finite number") + _bounds(m)
        rule += f" and a multiple of {m['multiple_of']}" if m.get("multiple_of") else ""
    elif kind == "bool":
        rule = "True or False"
    elif kind == "str":
        rule = "one of " + ", ".join(map(repr, m["choices"]))
    else:
        elem = kind.split("-")[1]
        each = f"{noun[elem]}s{_bounds(m)}"
        if length == 2 and m.get("ordered"):
            rule = f"a pair (lo, hi) of {each} with lo <= hi"
        elif length == 2:
            rule = f"a pair of {each}"
        elif length:
            rule = f"{length} {each}"
        else:
            rule = f"a non-empty sequence of {each}"
    return rule + (" or None" if optional else "")


def _check(f: dataclasses.Field, value: Any) -> Any:
    """``value`` normalised, or ParameterError (field name, value, rule and units)."""
    kind, optional, length = _kind(f.type)
    m = f.metadata
    if kind == "other" or (kind == "str" and "choices" not in m):
        return value
    if optional and value is None:
        return None
    out: Any = None
    if kind in ("int", "float"):
        out = _number(kind, m, value)
    elif kind == "bool":
        out = value if isinstance(value, bool) else None
    elif kind == "str":
        out = value if isinstance(value, str) and value in m["choices"] else None
    elif isinstance(value, (list, tuple)) and value and length in (None, len(value)):
        items = [_number(kind.split("-")[1], m, v) for v in value]
        ok = None not in items and not (m.get("ordered") and items != sorted(items))
        out = tuple(items) if ok else None
    if out is None:
        units = f" ({m['units']})" if m.get("units") else ""
        raise ParameterError(
            f"{f.name}={value!r} must be {_rule(kind, m, optional, length)}{units}"
        )
    return out


# -- the base class ---------------------------------------------------------------------------
class Config:
    """Mixin of the frozen config dataclasses: field checks, round trips, ``replace``.

    ``_label`` names a field in messages ("denoise option": "unknown denoise option(s) ...",
    "denoise options must be a mapping").
    """

    __slots__ = ()
    _label: ClassVar[str] = "config field"

    def _check_fields(self) -> None:
        """Check and normalise every field its annotation and metadata describe."""
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            checked = _check(f, value)
            if checked is not value:
                object.__setattr__(self, f.name, checked)

    # -- derived copies ------------------------------------------------------------------------
    def replace(self: C, **overrides: Any) -> C:
        """A validated copy with ``overrides``; an unknown name raises ParameterError."""
        if not overrides:
            return self
        check_names(type(self), overrides)
        return dataclasses.replace(self, **overrides)  # type: ignore[type-var]

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """``{field: value}`` in field order, plain JSON/YAML types (tuples become lists)."""
        return _plain(dataclasses.asdict(self))  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
        """A config from a mapping of field names (missing ones take their defaults)."""
        if not isinstance(data, Mapping):
            raise ParameterError(f"{cls._label}s must be a mapping, got {type(data).__name__}")
        check_names(cls, data)
        return cls(**dict(data))

    def to_yaml(self) -> str:
        """The config as a YAML mapping (one field a line, in field order; lists inline)."""
        return dump_yaml(self.to_dict())

    @classmethod
    def from_yaml(cls: type[C], text: str) -> C:
        """A config from YAML text (a mapping of field names; empty text gives the defaults)."""
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ParameterError(f"{cls._label}s: not valid YAML ({exc})") from None
        return cls.from_dict({} if data is None else data)

    @classmethod
    def from_file(cls: type[C], path: str | os.PathLike[str]) -> C:
        """A config from a ``.json`` or ``.yaml`` / ``.yml`` file (OSError if unreadable)."""
        path = Path(path)
        text = path.read_text()
        if path.suffix.lower() in (".yaml", ".yml"):
            return cls.from_yaml(text)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ParameterError(f"{cls._label}s: not valid JSON ({exc})") from None
        return cls.from_dict(data)


def dump_yaml(data: Mapping[str, Any]) -> str:
    """Safe YAML of plain data: mappings as blocks in their order, lists inline (``[lo, hi]``)."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    _Dumper.add_representer(
        list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
    )
    return yaml.dump(dict(data), Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
