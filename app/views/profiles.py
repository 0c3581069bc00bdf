"""Swath profile of the active line at the current date, with the fitted offset written on the
plot, the offset through time with any detected transient, and a table of every profile."""

from __future__ import annotations

from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from app.profiling import LEGENDS
from app.state import DashboardState
from app.views.timeseries import PLOT_OPTS as _TS_OPTS
from app.views.timeseries import SERIES_STYLE, NowLines, now_line

__all__ = ["ProfileView"]

_FIT_COLOR = "#d81b60"
PLOT_OPTS = dict(_TS_OPTS, legend_position="right")
_HINT = ("Draw a profile on the first map (press and hold, click, double-click), "
         "or use 'Profiles across candidate faults'.")
_HINT_SHORT = "Draw a profile on the first map"


class ProfileView(pn.viewable.Viewer):
    """Profile plot, offset-through-time plot and offsets table of one session."""

    state = param.ClassSelector(class_=DashboardState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        s = self.state
        line_params = [s.param[p] for p in ("profiles", "active_profile", "swath_width", "offset_model",
                                             "data_revision")]
        self._profile_pane = pn.pane.HoloViews(pn.bind(self._profile_plot, *line_params),
                                               sizing_mode="stretch_width", linked_axes=False)
        self._offsets_pane = pn.pane.HoloViews(pn.bind(self._offsets_plot, *line_params),
                                               sizing_mode="stretch_width", linked_axes=False)
        self._table = pn.pane.Markdown(pn.bind(self._summary, *line_params, s.param.time_index),
                                       css_classes=["insar-offsets"], sizing_mode="stretch_width")
        self._now = NowLines(s, self._offsets_pane)

    # ---------------------------------------------------------------------- plots
    def _profile_plot(self, *_: Any) -> hv.Overlay | hv.DynamicMap:
        """Rebuilt when the line, width, model or data change; follows the date inside."""
        s = self.state
        xlabel = f"distance along profile ({s.units_xy})"
        if s.profile_at_date() is None:
            return hv.Overlay([hv.Curve([(0, 0), (1, 1)], xlabel, "mm").opts(alpha=0),
                               hv.Text(0.5, 0.5, _HINT_SHORT)]).opts(
                hv.opts.Overlay(**PLOT_OPTS, title="Swath profile", xlabel=xlabel,
                                ylabel="LOS displacement (mm)"))
        dmap = hv.DynamicMap(self._profile_frame, streams=[hv.streams.Params(s, ["time_index"])])
        return dmap.opts(hv.opts.Overlay(**PLOT_OPTS, xlabel=xlabel, ylabel="LOS displacement (mm)"),
                         *(getattr(hv.opts, e)(framewise=True) for e in ("Curve", "Area", "Text", "VLine")))

    def _profile_frame(self, **_: Any) -> hv.Overlay:
        """The same elements at every date (a fit that fails is drawn empty, not dropped)."""
        s = self.state
        res = s.profile_at_date()
        prof = res["profile"]
        xlabel = f"distance along profile ({s.units_xy})"
        d = np.asarray(prof["distance"].values, dtype=float)
        nan = np.full_like(d, np.nan)
        items: list = []
        notes = []
        for layer in prof["layer"].values:
            layer = str(layer)
            legend = LEGENDS[layer]
            p = prof.sel(layer=layer)
            style = SERIES_STYLE[legend]
            if legend != "truth":
                items.append(hv.Area((d, np.asarray(p["p25"]), np.asarray(p["p75"])),
                                     xlabel, ["p25", "p75"], label=f"{legend} 25–75 %").opts(
                    color=style["color"], alpha=0.2, line_alpha=0))
            items.append(hv.Curve((d, np.asarray(p["median"])), xlabel, "mm",
                                  label=f"{legend} median").opts(**style, tools=["hover"]))
            fit = res["fits"].get(layer)
            if legend != "truth":
                items.append(hv.Curve((d, np.asarray(fit.curve(d)) if fit is not None else nan), xlabel, "mm",
                                      label=f"{legend} {s.offset_model} fit").opts(
                    color=_FIT_COLOR if legend == "denoised" else "#f48fb1", line_width=2))
            notes.append(f"{legend}: {_fmt_fit(fit) if fit is not None else 'no fit'}")
        if res["x0"] is not None:
            items.append(hv.VLine(res["x0"]).opts(color=_FIT_COLOR, line_dash="dotted"))
        p75 = np.asarray(prof["p75"].values, dtype=float)
        top = float(np.nanmax(p75)) if np.isfinite(p75).any() else 0.0
        items.append(hv.Text(float(d.min()), top, f"{s.offset_model} offset\n" + "\n".join(notes),
                             halign="left", valign="top", fontsize=10))
        return hv.Overlay(items).opts(title=f"P{s.active_profile + 1} swath profile on {s.date_label()} "
                                            f"(width {s.swath_width:.4g} {s.units_xy})")

    def _offsets_plot(self, *_: Any) -> hv.DynamicMap:
        s = self.state
        res = s.offsets_through_time()
        opts = hv.opts.Overlay(**PLOT_OPTS, xlabel="date", ylabel="offset (mm)")
        if res is None:
            empty = hv.Curve((s.dates[[0, -1]], [np.nan, np.nan]), "date", "offset (mm)")
            return (hv.Overlay([empty]) * now_line(s)).opts(opts, hv.opts.Overlay(title="Offset through time"))
        ser = res["series"]
        t = pd.DatetimeIndex(ser["time"].values)
        items: list = []
        for layer in ser["layer"].values:
            legend = LEGENDS[str(layer)]
            one = ser.sel(layer=layer)
            off = np.asarray(one["offset"].values, dtype=float)
            sig = np.asarray(one["offset_sigma"].values, dtype=float)
            style = SERIES_STYLE[legend]
            if legend != "truth":
                items.append(hv.ErrorBars((t, off, sig), "date", ["offset (mm)", "sigma"]).opts(
                    color=style["color"], alpha=0.5))
            items.append(hv.Curve((t, off), "date", "offset (mm)", label=legend).opts(
                **style, tools=["hover"]))
        tr = res["transient"]
        title = f"P{s.active_profile + 1} {s.offset_model} offset through time"
        if tr is not None:
            start = pd.Timestamp(tr.onset)
            end = start + pd.Timedelta(days=float(tr.duration_days))
            items.append(hv.VSpan(start, end).opts(color="#ffb300", alpha=0.3))
            title += f" — transient ({LEGENDS[res['transient_layer']]}): {_fmt_transient(tr)}"
        else:
            title += f" — no transient detected ({LEGENDS[res['transient_layer']]})"
        return (hv.Overlay(items) * now_line(s)).opts(opts, hv.opts.Overlay(title=title))

    def _summary(self, *_: Any) -> str:
        s = self.state
        if not s.profiles:
            return f"*No profile yet.* {_HINT}"
        rows = [f"| profile | series | {s.offset_model} offset on {s.date_label()} | crossing x0 |",
                "|---|---|---|---|"]
        for k in range(len(s.profiles)):
            res = s.profile_at_date(k)
            x0 = f"{res['x0']:.4g} {s.units_xy}" if res["x0"] is not None else "—"
            for layer, fit in res["fits"].items():
                rows.append(f"| P{k + 1} | {LEGENDS[layer]} | {_fmt_fit(fit) if fit else 'no fit'} | {x0} |")
        return "\n".join(rows)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(pn.Row(self._profile_pane, self._offsets_pane, sizing_mode="stretch_width"),
                         self._table, sizing_mode="stretch_width")


def _fmt_fit(fit: Any) -> str:
    txt = f"{fit.offset_mm:.2f} ± {fit.offset_sigma_mm:.2f} mm"
    depth = getattr(fit, "depth_km", None)
    if fit.model == "creep" and depth is not None and np.isfinite(depth):
        txt += f" (creep depth {depth:.2g} ± {fit.depth_sigma_km or float('nan'):.1g} km)"
    return txt


def _fmt_transient(tr: Any) -> str:
    start = pd.Timestamp(tr.onset)
    return (f"onset {start:%Y-%m-%d} ± {tr.onset_sigma_days:.0f} d, {tr.duration_days:.0f} d long, "
            f"{tr.amplitude_mm:.1f} ± {tr.amplitude_sigma_mm:.1f} mm")
