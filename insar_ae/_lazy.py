"""Public names of a package imported on first use (PEP 562 module ``__getattr__``/``__dir__``).

Used by ``insar_ae``, ``insar_ae.model`` and ``insar_ae.distributed`` so that importing a package
stays cheap (no torch, no dask) until a name that needs them is used.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, names: Mapping[str, str], *, cache: bool = False
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` for ``names`` (public name -> module).

    ``cache``: store a resolved name in the package's namespace, so later look-ups skip
    ``__getattr__`` (off: every look-up reads the defining module, which sees monkeypatching).
    ``__dir__`` lists the package's ``__all__`` (or ``names``).
    """
    table = dict(names)

    def __getattr__(name: str) -> Any:
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(table[name]), name)
        if cache:
            vars(sys.modules[package])[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(getattr(sys.modules[package], "__all__", table))

    return __getattr__, __dir__
