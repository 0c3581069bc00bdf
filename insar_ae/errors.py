"""Exception hierarchy of insar_ae.

Every error raised on bad input is a ``ValueError`` subclass (so callers can catch the
builtin), names the offending parameter/file, the value received and what was expected.
"""

from __future__ import annotations

__all__ = [
    "CatalogError",
    "DataModelError",
    "FormatError",
    "InsarAEError",
    "ParameterError",
    "WeightsError",
]


class InsarAEError(Exception):
    """Base class of all insar_ae errors."""


class DataModelError(InsarAEError, ValueError):
    """A Dataset violates the canonical data model (see ``insar_ae.datamodel``)."""


class ParameterError(InsarAEError, ValueError):
    """A physical or numerical parameter is outside its valid range."""


class FormatError(InsarAEError, ValueError):
    """A file cannot be read as the format it claims (or any supported format)."""


class CatalogError(InsarAEError, ValueError):
    """A catalog is malformed or an entry does not exist."""


class WeightsError(InsarAEError, ValueError):
    """A weights file is missing, corrupt, tampered with (SHA-256 mismatch) or incompatible."""
