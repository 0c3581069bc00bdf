"""Reaching the Bokeh models HoloViews drew, for in-place updates on a date switch.

A date switch only changes image data and the position of "current date" lines; going through
HoloViews' full re-render for that costs tens of milliseconds per plot (and a walk over the
whole Bokeh document), so the views update those few models directly and fall back to a
re-render when the plots cannot be reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import panel as pn

__all__ = ["drawn_plots"]


def drawn_plots(pane: pn.pane.HoloViews, plot_type: type, groups: tuple[str, ...]) -> Iterator[Any]:
    """HoloViews element plots of ``plot_type`` whose current element's group is in ``groups``,
    in every place ``pane`` is displayed (one per browser session or notebook output)."""
    for plot, _ in list(getattr(pane, "_plots", {}).values()):
        for p in plot.traverse(lambda p: p, [plot_type]):
            frame = getattr(p, "current_frame", None)
            if frame is not None and frame.group in groups:
                yield p
