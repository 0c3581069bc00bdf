"""Time series of the inspected pixel (or box): raw and denoised (and truth), dates on x."""

from __future__ import annotations

from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from holoviews.plotting.bokeh.annotation import LineAnnotationPlot

from app.state import DashboardState
from app.views._plots import apply_updates, drawn_plots

__all__ = ["SERIES_STYLE", "NowLines", "TimeSeriesView", "now_line"]

#: Line style per series, shared with the profile plots.
SERIES_STYLE: dict[str, dict[str, Any]] = {
    "raw": {"color": "#8a8a8a", "line_width": 1.5},
    "denoised": {"color": "#1565c0", "line_width": 3},
    "truth": {"color": "#111111", "line_width": 2, "line_dash": "dashed"},
}
PLOT_OPTS = {"responsive": True, "height": 300, "show_grid": True, "legend_position": "top_left"}


def now_line(state: DashboardState) -> hv.VLine:
    """A vertical line at the current date (moved in place by :class:`NowLines`)."""
    return hv.VLine(state.dates[state.time_index], group="Now").opts(color="#d81b60", line_width=1.5)


class NowLines:
    """Moves the current-date lines of some HoloViews panes when the date changes: the
    Bokeh Span is moved in place (no re-render); a pane whose plot cannot be reached is
    re-rendered instead."""

    def __init__(self, state: DashboardState, *panes: pn.pane.HoloViews) -> None:
        self.state, self.panes = state, panes
        state.param.watch(self._move, ["time_index"])

    def _move(self, *_: Any) -> None:
        when = self.state.dates[self.state.time_index]
        for pane in self.panes:
            try:
                spans = [p.handles["glyph"] for p in drawn_plots(pane, LineAnnotationPlot, ("Now",))]
            except Exception:  # Panel/HoloViews internals changed: re-render
                spans = []
            if not spans:
                pane.param.trigger("object")
            apply_updates([(span, {"location": when}) for span in spans])


class TimeSeriesView(pn.viewable.Viewer):
    """Pixel time series plot (rebuilt when the pixel or data change; the current date is a
    line that follows the player without redrawing the curves)."""

    state = param.ClassSelector(class_=DashboardState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        s = self.state
        self._pane = pn.pane.HoloViews(
            pn.bind(self._plot, s.param.pixel, s.param.pixel_box, s.param.data_revision),
            sizing_mode="stretch_width", linked_axes=False)
        self._info = pn.pane.Markdown(
            pn.bind(self._describe, s.param.pixel, s.param.pixel_box, s.param.data_revision, s.param.time_index),
            css_classes=["insar-pixel"], margin=(0, 10), sizing_mode="stretch_width")
        self._now = NowLines(s, self._pane)

    def _plot(self, *_: Any) -> hv.DynamicMap:
        s = self.state
        df = s.pixel_series()
        items = []
        for name in ("raw", "denoised", "truth"):
            if name not in df:
                continue
            d = pd.DataFrame({"date": df.index, "mm": df[name].values})
            items.append(hv.Curve(d, "date", ("mm", "LOS displacement (mm)"), label=name).opts(
                **SERIES_STYLE[name], tools=["hover"]))
            if name == "raw":
                items.append(hv.Scatter(d, "date", "mm", label=name).opts(
                    color=SERIES_STYLE[name]["color"], size=4))
        if not items:
            items = [hv.Curve((s.dates[[0, -1]], [np.nan, np.nan]), "date", "mm")]
        return (hv.Overlay(items) * now_line(s)).opts(
            hv.opts.Overlay(**PLOT_OPTS, title=self._title(), xlabel="date",
                            ylabel="LOS displacement (mm)"))

    def _where(self) -> str:
        """'x=..., y=... (nearest pixel | mean of a ... box)' for the inspected pixel."""
        s = self.state
        x, y = s.pixel
        where = (f"mean of a {2 * s.pixel_box[0]:.4g} x {2 * s.pixel_box[1]:.4g} {s.units_xy} box"
                 if s.pixel_box is not None else "nearest pixel")
        return f"x={x:.6g}, y={y:.6g} ({where})"

    def _title(self) -> str:
        return "Time series" if self.state.pixel is None else self._where()

    def _describe(self, *_: Any) -> str:
        """Where the series is taken and its values on the current date (mm)."""
        s = self.state
        if s.pixel is None:
            return "Click a map to inspect a pixel."
        df = s.pixel_series()
        vals = ", ".join(f"{c} {df[c].iloc[s.time_index]:.2f} mm" for c in df.columns) if len(df) else "no data"
        return f"**Pixel** {self._where()} · on {s.date_label()}: {vals}"

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self._info, self._pane, sizing_mode="stretch_width")
