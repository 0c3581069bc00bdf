"""Acquisition dates: parse ``YYYYMMDD`` (bytes, str or int) and ISO strings, check order."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from insar_ae.errors import FormatError

__all__ = ["date_in_name", "parse_dates", "to_yyyymmdd"]

_COMPACT = re.compile(r"^(\d{8})(?:[T_ ]?(\d{4}(?:\d{2})?))?$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+)?$")
_IN_NAME = re.compile(r"(?<!\d)((?:19|20)\d{2})-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])(?!\d)")


def _one(value: Any) -> pd.Timestamp:
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode("ascii", errors="replace")
    if isinstance(value, (np.datetime64, pd.Timestamp)):
        return pd.Timestamp(value)
    if isinstance(value, (int, np.integer)):
        value = str(int(value))
    text = str(value).strip()
    m = _COMPACT.match(text)
    if m:
        day, hm = m.groups()
        fmt = "%Y%m%d" + ("" if not hm else ("%H%M" if len(hm) == 4 else "%H%M%S"))
        return pd.Timestamp(pd.to_datetime(day + (hm or ""), format=fmt))
    if _ISO.match(text):
        return pd.Timestamp(text)
    raise ValueError(text)


def parse_dates(
    values: Iterable[Any], *, source: str, what: str = "dates", check_increasing: bool = True
) -> pd.DatetimeIndex:
    """Parse acquisition dates; raise :class:`FormatError` naming ``source`` on failure.

    Accepts ``YYYYMMDD`` (bytes, str or int, optionally followed by ``THHMM[SS]``), ISO
    ``YYYY-MM-DD[THH:MM:SS]`` strings and datetime64 values. With ``check_increasing`` the
    dates must be strictly increasing.
    """
    out: list[pd.Timestamp] = []
    for i, v in enumerate(values):
        try:
            out.append(_one(v))
        except (ValueError, TypeError, OverflowError):
            shown = (
                v.decode("ascii", "replace")
                if isinstance(v, bytes | np.bytes_)
                else (v.item() if isinstance(v, np.generic) else v)
            )
            raise FormatError(
                f"{source}: {what}[{i}] = {shown!r} is not a date; expected YYYYMMDD "
                "(e.g. 20180106) or YYYY-MM-DD"
            ) from None
    if not out:
        raise FormatError(f"{source}: {what} is empty; expected at least one acquisition date")
    idx = pd.DatetimeIndex(out).as_unit("ns")
    if check_increasing:
        check_strictly_increasing(idx, source=source, what=what)
    return idx


def check_strictly_increasing(idx: pd.DatetimeIndex, *, source: str, what: str = "dates") -> None:
    """Raise :class:`FormatError` if ``idx`` is not strictly increasing (names the first bad pair)."""
    if len(idx) < 2:
        return
    bad = np.flatnonzero(np.diff(idx.asi8) <= 0)
    if bad.size:
        i = int(bad[0])
        raise FormatError(
            f"{source}: {what} must be strictly increasing, but {what}[{i}] = "
            f"{idx[i].date()} is followed by {what}[{i + 1}] = {idx[i + 1].date()}"
        )


def date_in_name(name: str) -> list[pd.Timestamp]:
    """All plausible calendar dates (``YYYYMMDD`` or ``YYYY-MM-DD``, years 1900-2099) in a name."""
    found = []
    for m in _IN_NAME.finditer(name):
        try:
            found.append(pd.Timestamp(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        except ValueError:
            continue
    return found


def to_yyyymmdd(times: Sequence[Any] | np.ndarray | pd.DatetimeIndex) -> list[str]:
    """Dates as ``YYYYMMDD`` strings (MintPy / LiCSBAS style)."""
    return [t.strftime("%Y%m%d") for t in pd.DatetimeIndex(times)]
