"""Reaching the Bokeh models HoloViews drew, for in-place updates on a date switch.

A date switch only changes image data and the position of "current date" lines; going through
HoloViews' full re-render for that costs tens of milliseconds per plot (and a walk over the
whole Bokeh document), so the views update those few models directly and fall back to a
re-render when the plots cannot be reached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import panel as pn
import param

__all__ = [
    "AFTER_MAPS",
    "AFTER_MAPS_MS",
    "after_maps",
    "apply_updates",
    "drawn_plots",
    "follow",
    "live_plots",
    "push_overlay",
    "watch",
]

#: Watcher precedence of everything that follows the date except the maps: the maps' watcher
#: (precedence 0) runs first, so their new rasters are on the wire before the texts, lines and
#: widgets that follow (each change is sent as soon as it is made).
AFTER_MAPS = 1
#: On a served page, what follows a *date switch* (texts, widgets, current-date lines, the
#: profile of the new date) is updated this long after the maps: on a loaded 2-core machine the
#: server's work for those and the browser's for their patches otherwise compete with the
#: browser painting the maps. Several switches within that time are applied once (the last).
AFTER_MAPS_MS = 120


def watch(params: Iterable[param.Parameter], fn: Callable[..., Any], precedence: int = 0) -> None:
    """Call ``fn(*events)`` whenever one of ``params`` changes: parameters of one or several
    parts of the state (``state.param.time_index``, ``state.analysis.param.profiles``...), one
    watcher per part. A frame load sets the parts in one nested batch: ``fn`` is then called
    once per part whose watched parameters changed, the frame part's first."""
    by_owner: dict[int, tuple[param.Parameterized, list[str]]] = {}
    for p in params:
        by_owner.setdefault(id(p.owner), (p.owner, []))[1].append(p.name)
    for owner, names in by_owner.values():
        owner.param.watch(fn, names, precedence=precedence)


def after_maps(params: Iterable[param.Parameter], fn: Callable[[], Any]) -> None:
    """Call ``fn()`` whenever one of the state parameters ``params`` changes (any parts, see
    :func:`watch`), after the maps: :data:`AFTER_MAPS_MS` later for a date switch on a served
    page, at once otherwise (another parameter, a notebook, tests)."""
    pending = [False]

    def run() -> None:
        pending[0] = False
        fn()

    def watcher(*events: Any) -> None:
        doc = pn.state.curdoc
        if (
            doc is None
            or doc.session_context is None
            or not any(e.name == "time_index" for e in events)
        ):
            fn()
        elif not pending[0]:
            pending[0] = True
            doc.add_timeout_callback(run, AFTER_MAPS_MS)

    watch(params, watcher, precedence=AFTER_MAPS)


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


def follow(
    params: Iterable[param.Parameter], pane: pn.pane.PaneBase, text: Callable[[], str]
) -> pn.pane.PaneBase:
    """Set ``pane.object = text()`` now and whenever one of the state parameters ``params``
    changes, after the maps (:func:`after_maps`); returns ``pane``."""
    pane.object = text()
    after_maps(params, lambda: setattr(pane, "object", text()))
    return pane


def live_plots(pane: pn.pane.HoloViews) -> list[Any]:
    """The top-level HoloViews plots drawn for ``pane``, each once (Panel can file one plot
    under two roots of a served page)."""
    out: dict[int, Any] = {}
    for plot, _ in list(getattr(pane, "_plots", {}).values()):
        out.setdefault(id(plot), plot)
    return list(out.values())


def drawn_plots(pane: pn.pane.HoloViews, plot_type: type, groups: tuple[str, ...]) -> Iterator[Any]:
    """HoloViews element plots of ``plot_type`` whose current element's group is in ``groups``,
    in every place ``pane`` is displayed (one per browser session or notebook output).

    Each plot is visited once: a served page files its plots under two roots, and visiting
    both doubled the server's work and the bytes sent on every date switch."""
    for plot in live_plots(pane):
        for p in plot.traverse(lambda p: p, [plot_type]):
            frame = getattr(p, "current_frame", None)
            if frame is not None and frame.group in groups:
                yield p


def push_overlay(
    pane: pn.pane.HoloViews,
    overlay: Any,
    *,
    title: str | None = None,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
) -> bool:
    """Give the plots drawn for ``pane`` the data of ``overlay``'s elements (matched by type,
    group and label), and optionally a new title and y range. Returns False (changing
    nothing) unless every element of ``overlay`` has a drawn plot of the same structure, and
    the plot has no more elements than ``overlay``."""
    from holoviews.core.overlay import CompositeOverlay
    from holoviews.plotting.bokeh.element import ElementPlot

    try:
        drawn = live_plots(pane)
        if not drawn:
            return False
        updates = []
        for plot in drawn:
            subplots = {
                (type(p.current_frame).__name__, p.current_frame.group, p.current_frame.label): p
                for p in plot.traverse(lambda p: p, [ElementPlot])
                if p.current_frame is not None and not isinstance(p.current_frame, CompositeOverlay)
            }
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
