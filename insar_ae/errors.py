"""Exception hierarchy of insar_ae.

Every error raised on bad input is a ``ValueError`` subclass (so callers can catch the
builtin), names the offending parameter/file, the value received and what was expected. The
two output-path errors of :mod:`insar_ae.atomic` are also OS errors: ``OutputExistsError`` a
``FileExistsError`` (not a ``ValueError``), ``OutputDirMissingError`` a ``FileNotFoundError``.
"""

from __future__ import annotations

__all__ = [
    "Cancelled",
    "CatalogError",
    "DataModelError",
    "FormatError",
    "InsarAEError",
    "OutputDirMissingError",
    "OutputExistsError",
    "ParameterError",
    "WeightsError",
]


class InsarAEError(Exception):
    """Base class of all insar_ae errors."""


class DataModelError(InsarAEError, ValueError):
    """A Dataset violates the canonical data model (see ``insar_ae.datamodel``)."""


class ParameterError(InsarAEError, ValueError):
    """A physical or numerical parameter is outside its valid range."""


class OutputExistsError(InsarAEError, FileExistsError):
    """The output path exists and ``overwrite=True`` was not given."""


class OutputDirMissingError(ParameterError, FileNotFoundError):
    """The output's parent folder does not exist (nothing is created implicitly)."""


class FormatError(InsarAEError, ValueError):
    """A file cannot be read as the format it claims (or any supported format)."""


class CatalogError(InsarAEError, ValueError):
    """A catalog is malformed or an entry does not exist."""


class WeightsError(InsarAEError, ValueError):
    """A weights file is missing, corrupt, tampered with (SHA-256 mismatch) or incompatible."""


class Cancelled(InsarAEError):
    """A run was stopped by its caller's ``cancel`` event; nothing is returned.

    Raised by ``insar_ae.model.denoise`` and ``insar_ae.distributed.denoise_blocks`` (finished
    blocks are kept for ``resume=True``). Not a ``ValueError``: the input was not at fault.
    """
