"""Time series of the inspected pixel (or box): raw and denoised (and truth), dates on x."""

from __future__ import annotations

from typing import Any

import holoviews as hv
import pandas as pd
import panel as pn
import param

from app.state import DashboardState

__all__ = ["SERIES_STYLE", "TimeSeriesView"]

#: Line style per series, shared with the profile plots.
SERIES_STYLE: dict[str, dict[str, Any]] = {
    "raw": {"color": "#9e9e9e", "line_width": 1.5},
    "denoised": {"color": "#1565c0", "line_width": 3},
    "truth": {"color": "#111111", "line_width": 2, "line_dash": "dashed"},
}


class TimeSeriesView(pn.viewable.Viewer):
    """Pixel time series plot; the current date is marked by a vertical line."""

    state = param.ClassSelector(class_=DashboardState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        s = self.state
        curves = hv.DynamicMap(self._curves, streams=[hv.streams.Params(s, ["pixel", "pixel_box", "data_revision"])])
        now = hv.DynamicMap(self._now, streams=[hv.streams.Params(s, ["time_index", "dataset"])])
        self._pane = pn.pane.HoloViews((curves * now).opts(
            responsive=True, height=300, xlabel="date", ylabel="LOS displacement (mm)",
            legend_position="top_left", show_grid=True, framewise=True), sizing_mode="stretch_width", linked_axes=False)
        self._info = pn.pane.Markdown(
            pn.bind(self._describe, s.param.pixel, s.param.pixel_box, s.param.data_revision, s.param.time_index),
            css_classes=["insar-pixel"], margin=(0, 10), sizing_mode="stretch_width")

    def _curves(self, **_: Any) -> hv.Overlay:
        s = self.state
        df = s.pixel_series()
        title = "Time series"
        if s.pixel is not None:
            x, y = s.pixel
            title = f"Time series at x={x:.6g}, y={y:.6g}" + (
                f" (mean of a {2 * s.pixel_box[0]:.4g} x {2 * s.pixel_box[1]:.4g} {s.units_xy} box)"
                if s.pixel_box is not None else " (nearest pixel)")
        items = []
        for name in ("raw", "denoised", "truth"):
            if name in df:
                d = pd.DataFrame({"date": df.index, "mm": df[name].values})
                c = hv.Curve(d, "date", ("mm", "LOS displacement (mm)"), label=name).opts(
                    **SERIES_STYLE[name], tools=["hover"])
                items.append(c)
                if name == "raw":
                    items.append(hv.Scatter(d, "date", "mm", label=name).opts(
                        color=SERIES_STYLE[name]["color"], size=4))
        if not items:
            items = [hv.Curve([], "date", "mm")]
        return hv.Overlay(items).opts(title=title)

    def _describe(self, *_: Any) -> str:
        """Where the series is taken and its values on the current date (mm)."""
        s = self.state
        if s.pixel is None:
            return "Click a map to inspect a pixel."
        x, y = s.pixel
        where = (f"mean of a {2 * s.pixel_box[0]:.4g} x {2 * s.pixel_box[1]:.4g} {s.units_xy} box"
                 if s.pixel_box is not None else "nearest pixel")
        df = s.pixel_series()
        vals = ", ".join(f"{c} {df[c].iloc[s.time_index]:.2f} mm" for c in df.columns) if len(df) else "no data"
        return f"**Pixel** x={x:.6g}, y={y:.6g} ({where}) · on {s.date_label()}: {vals}"

    def _now(self, **_: Any) -> hv.VLine:
        return hv.VLine(self.state.dates[self.state.time_index]).opts(color="#d81b60", line_width=1.5)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self._info, self._pane, sizing_mode="stretch_width")
