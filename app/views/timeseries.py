"""Time series of the inspected pixel (or box): raw and denoised (and truth), dates on x."""

from __future__ import annotations

from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from holoviews.plotting.bokeh.annotation import LineAnnotationPlot

from app.profiles import ProfileAnalysis
from app.state import DashboardState
from app.views._plots import after_maps, apply_updates, drawn_plots, follow

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
    return hv.VLine(state.dates[state.time_index], group="Now").opts(
        color="#d81b60", line_width=1.5
    )


class NowLines:
    """Moves the current-date lines of some HoloViews panes when the date changes: the
    Bokeh Span is moved in place (no re-render); a pane whose plot cannot be reached is
    re-rendered instead."""

    def __init__(self, state: DashboardState, *panes: pn.pane.HoloViews) -> None:
        self.state, self.panes = state, panes
        after_maps([state.param.time_index], self._move)

    def _move(self, *_: Any) -> None:
        when = self.state.dates[self.state.time_index]
        for pane in self.panes:
            try:
                spans = [
                    p.handles["glyph"] for p in drawn_plots(pane, LineAnnotationPlot, ("Now",))
                ]
            except Exception:  # Panel/HoloViews internals changed: re-render
                spans = []
            if not spans:
                pane.param.trigger("object")
            apply_updates([(span, {"location": when}) for span in spans])


class TimeSeriesView(pn.viewable.Viewer):
    """Pixel time series plot (rebuilt when the pixel or data change; the current date is a
    line that follows the player without redrawing the curves)."""

    analysis = param.ClassSelector(class_=ProfileAnalysis, doc="The session's analysis part.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        a = self.analysis
        s = a.owner
        self._pane = pn.pane.HoloViews(
            pn.bind(self._plot, s.param.pixel, s.param.pixel_box, s.param.data_revision),
            sizing_mode="stretch_width",
            linked_axes=False,
        )
        self._info = follow(
            [s.param.pixel, s.param.pixel_box, s.param.data_revision, s.param.time_index],
            pn.pane.Markdown(
                css_classes=["insar-pixel"], margin=(0, 10), sizing_mode="stretch_width"
            ),
            self._describe,
        )
        self._rates = pn.pane.Markdown(
            pn.bind(
                self._rates_text,
                s.param.pixel,
                s.param.pixel_box,
                s.param.data_revision,
                s.param.rate_annual,
            ),
            css_classes=["insar-pixel-rate"],
            margin=(0, 10),
            sizing_mode="stretch_width",
        )
        self._pin = pn.widgets.Button(
            label="Pin this pixel (compare two)",
            color="primary",
            variant="outline",
            css_classes=["insar-pin"],
            sizing_mode="stretch_width",
        )
        self._unpin = pn.widgets.Button(label="Clear pins", color="light", width=110)
        self._pin.on_click(lambda _: a.pin_pixel())
        self._unpin.on_click(lambda _: a.clear_pins())
        self._cmp_pane = pn.pane.HoloViews(
            pn.bind(self._compare_plot, a.param.pins, s.param.data_revision, s.param.rate_annual),
            sizing_mode="stretch_width",
            linked_axes=False,
        )
        self._cmp_text = pn.pane.Markdown(
            pn.bind(self._compare_text, a.param.pins, s.param.data_revision, s.param.rate_annual),
            css_classes=["insar-compare"],
            margin=(0, 10),
            sizing_mode="stretch_width",
        )
        self._now = NowLines(s, self._pane)

    def _plot(self, *_: Any) -> hv.DynamicMap:
        a = self.analysis
        s = a.owner
        df = a.pixel_series()
        items = []
        for name in ("raw", "denoised", "truth"):
            if name not in df:
                continue
            d = pd.DataFrame({"date": df.index, "mm": df[name].values})
            items.append(
                hv.Curve(d, "date", ("mm", "LOS displacement (mm)"), label=name).opts(
                    **SERIES_STYLE[name], tools=["hover"]
                )
            )
            if name == "raw":
                items.append(
                    hv.Scatter(d, "date", "mm", label=name).opts(
                        color=SERIES_STYLE[name]["color"], size=4
                    )
                )
        fits = a.pixel_rates() if len(df) else {}
        name = "denoised" if fits.get("denoised") is not None else "raw"
        if fits.get(name) is not None:
            items.append(
                hv.Curve(
                    (df.index, fits[name].curve(df.index)), "date", "mm", label=f"{name} rate fit"
                ).opts(color="#d81b60", line_width=1.5, line_dash="dotdash")
            )
        if not items:
            items = [hv.Curve((s.dates[[0, -1]], [np.nan, np.nan]), "date", "mm")]
        return (hv.Overlay(items) * now_line(s)).opts(
            hv.opts.Overlay(
                **PLOT_OPTS, title=self._title(), xlabel="date", ylabel="LOS displacement (mm)"
            )
        )

    def _where(self) -> str:
        """'x=..., y=... (nearest pixel | mean of a ... box)' for the inspected pixel."""
        a = self.analysis
        s = a.owner
        x, y = s.pixel
        where = (
            f"mean of a {2 * s.pixel_box[0]:.4g} x {2 * s.pixel_box[1]:.4g} {s.units_xy} box"
            if s.pixel_box is not None
            else "nearest pixel"
        )
        return f"x={s.coord(x)}, y={s.coord(y)} ({where})"

    def _title(self) -> str:
        return "Time series" if self.analysis.owner.pixel is None else self._where()

    def _describe(self, *_: Any) -> str:
        """Where the series is taken and its values on the current date (mm)."""
        a = self.analysis
        s = a.owner
        if s.pixel is None:
            return "Click a map to inspect a pixel."
        df = a.pixel_series()
        vals = (
            ", ".join(f"{c} {df[c].iloc[s.time_index]:.2f} mm" for c in df.columns)
            if len(df)
            else "no data"
        )
        return f"**Pixel** {self._where()} · on {s.date_label()}: {vals}"

    def _rates_text(self, *_: Any) -> str:
        """Rate ± 1 sigma (and annual amplitude) of each series of the pixel."""
        a = self.analysis
        s = a.owner
        if s.pixel is None:
            return ""
        fits = a.pixel_rates()
        parts = [f"{name} {_fmt_rate(fit)}" for name, fit in fits.items() if fit is not None]
        kind = "linear + annual" if s.rate_annual else "linear"
        return f"**Rate** ({kind} fit, 1σ): " + (
            "; ".join(parts) if parts else "too few valid dates"
        )

    def _compare_plot(self, *_: Any) -> hv.Overlay:
        """Pinned pixels A and B and their difference B - A with 1-sigma error bars."""
        a = self.analysis
        s = a.owner
        res = a.comparison()
        if res is None:
            return hv.Overlay([hv.Curve((s.dates[[0, -1]], [np.nan, np.nan]), "date", "mm")]).opts(
                hv.opts.Overlay(
                    **PLOT_OPTS,
                    title="Pin two pixels (e.g. either side of a fault) to compare them",
                )
            )
        t = res["table"]
        d = pd.DatetimeIndex(t.index)
        items = [
            hv.Curve((d, t["A_mm"]), "date", "mm", label="A").opts(color="#1565c0", line_width=2),
            hv.Curve((d, t["B_mm"]), "date", "mm", label="B").opts(color="#ef6c00", line_width=2),
            hv.ErrorBars(
                (d, t["B_minus_A_mm"], t["B_minus_A_sigma_mm"]), "date", ["mm", "sigma"]
            ).opts(color="#111111", alpha=0.6),
            hv.Curve((d, t["B_minus_A_mm"]), "date", "mm", label="B − A").opts(
                color="#111111", line_width=2.5
            ),
        ]
        layer = "denoised" if res["layer"] == "deformation" else "raw"
        return hv.Overlay(items).opts(
            hv.opts.Overlay(
                **PLOT_OPTS,
                title=f"Pinned pixels ({layer}) and B − A",
                xlabel="date",
                ylabel="LOS displacement (mm)",
            )
        )

    def _compare_text(self, *_: Any) -> str:
        a = self.analysis
        s = a.owner
        res = a.comparison()
        if res is None:
            return f"{len(a.pins)} of 2 pixels pinned."
        rows = ["| | where | rate (mm/yr, 1σ) |", "|---|---|---|"]
        for name in ("A", "B", "B - A"):
            fit = res["fits"][name]
            where = (
                f"x={s.coord(res['points'][name][0])}, y={s.coord(res['points'][name][1])}"
                if name in res["points"]
                else "difference"
            )
            rows.append(f"| {name} | {where} | {_fmt_rate(fit) if fit is not None else '—'} |")
        return "\n".join(rows)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            self._info,
            self._rates,
            self._pane,
            pn.Row(self._pin, self._unpin),
            self._cmp_text,
            self._cmp_pane,
            sizing_mode="stretch_width",
        )


def _fmt_rate(fit: Any) -> str:
    txt = f"{fit.rate_mm_yr:.2f} ± {fit.rate_sigma_mm_yr:.2f} mm/yr"
    if fit.annual:
        txt += f" (annual {fit.annual_amplitude_mm:.1f} ± {fit.annual_amplitude_sigma_mm:.1f} mm)"
    return txt
