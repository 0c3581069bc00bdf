"""Server settings read from the environment (one reader, so every setting parses alike)."""

from __future__ import annotations

import os

__all__ = ["positive_int_env"]


def positive_int_env(name: str, default: int) -> int:
    """``$name`` as an int >= 1 (smaller values are raised to 1); ``default`` when the
    variable is unset or not an integer."""
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default
