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

__all__ = ["apply_updates", "drawn_plots", "push_overlay"]


def apply_updates(updates: list[tuple[Any, dict[str, Any]]]) -> None:
    """Set properties of Bokeh models (``data`` replaces a source's columns) under the
    session's document lock: now when this thread holds it, else on the next tick."""
    if not updates:
        return

    def _apply() -> None:
        with pn.io.unlocked():  # as Panel does for its own models (no-op outside a server)
            for model, props in updates:
                model.update(**props)

    pn.state.execute(_apply)


def drawn_plots(pane: pn.pane.HoloViews, plot_type: type, groups: tuple[str, ...]) -> Iterator[Any]:
    """HoloViews element plots of ``plot_type`` whose current element's group is in ``groups``,
    in every place ``pane`` is displayed (one per browser session or notebook output)."""
    for plot, _ in list(getattr(pane, "_plots", {}).values()):
        for p in plot.traverse(lambda p: p, [plot_type]):
            frame = getattr(p, "current_frame", None)
            if frame is not None and frame.group in groups:
                yield p


def push_overlay(pane: pn.pane.HoloViews, overlay: Any, *, title: str | None = None,
                 x_range: tuple[float, float] | None = None,
                 y_range: tuple[float, float] | None = None) -> bool:
    """Give the plots drawn for ``pane`` the data of ``overlay``'s elements (matched by type,
    group and label), and optionally a new title and y range. Returns False (changing
    nothing) unless every element of ``overlay`` has a drawn plot of the same structure, and
    the plot has no more elements than ``overlay``."""
    from holoviews.core.overlay import CompositeOverlay
    from holoviews.plotting.bokeh.element import ElementPlot

    try:
        drawn = list(getattr(pane, "_plots", {}).values())
        if not drawn:
            return False
        updates = []
        for plot, _ in drawn:
            subplots = {(type(p.current_frame).__name__, p.current_frame.group, p.current_frame.label): p
                        for p in plot.traverse(lambda p: p, [ElementPlot])
                        if p.current_frame is not None and not isinstance(p.current_frame, CompositeOverlay)}
            if len(subplots) != len(overlay):
                return False
            for el in overlay:
                p = subplots.get((type(el).__name__, el.group, el.label))
                if p is None:
                    return False
                if "source" in p.handles:
                    updates.append((p.handles["source"], {"data": p.get_data(el, {}, {})[0]}))
                elif "glyph" in p.handles and hasattr(p.handles["glyph"], "location"):
                    updates.append((p.handles["glyph"], {"location": el.data}))
                else:
                    return False
            figure = plot.state
            if title is not None and getattr(figure, "title", None) is not None:
                updates.append((figure.title, {"text": title}))
            if x_range is not None:
                updates.append((figure.x_range, {"start": x_range[0], "end": x_range[1]}))
            if y_range is not None:
                updates.append((figure.y_range, {"start": y_range[0], "end": y_range[1]}))
    except Exception:  # Panel/HoloViews internals changed: let the caller re-render
        return False
    apply_updates(updates)
    return True
