"""Swath profile of the active line at the current date, with the fitted offset written on the
plot, the offset through time with any detected transient, and a table of every profile."""

from __future__ import annotations

from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from app.state import DashboardState
from app.views.timeseries import SERIES_STYLE

__all__ = ["ProfileView"]

_FIT_COLOR = "#d81b60"
_HINT = ("Draw a profile on the first map (press and hold, click, double-click), "
         "or use 'Profiles across candidate faults'.")


class ProfileView(pn.viewable.Viewer):
    """Profile plot, offset-through-time plot and offsets table of one session."""

    state = param.ClassSelector(class_=DashboardState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        s = self.state
        line_params = ["profiles", "active_profile", "swath_width", "offset_model", "data_revision"]
        prof = hv.DynamicMap(self._profile, streams=[hv.streams.Params(s, [*line_params, "time_index"])])
        offs = hv.DynamicMap(self._offsets, streams=[hv.streams.Params(s, line_params)])
        now = hv.DynamicMap(self._now, streams=[hv.streams.Params(s, ["time_index", "dataset"])])
        common = {"responsive": True, "height": 300, "show_grid": True, "legend_position": "top_left"}
        self._profile_pane = pn.pane.HoloViews(prof.opts(**common), sizing_mode="stretch_width",
                                               linked_axes=False)
        self._offsets_pane = pn.pane.HoloViews((offs * now).opts(**common), sizing_mode="stretch_width",
                                               linked_axes=False)
        self._table = pn.pane.Markdown(
            pn.bind(self._summary, *(s.param[p] for p in [*line_params, "time_index"])),
            css_classes=["insar-offsets"], sizing_mode="stretch_width")

    # ---------------------------------------------------------------------- elements
    def _profile(self, **_: Any) -> hv.Overlay:
        s = self.state
        res = s.profile_at_date()
        xlabel = f"distance along profile ({s.units_xy})"
        if res is None:
            return hv.Overlay([hv.Curve([], xlabel, "mm"), hv.Text(0, 0, _HINT)]).opts(
                title="Swath profile", xlabel=xlabel, ylabel="LOS displacement (mm)")
        items: list = []
        notes = []
        for legend, prof in res["profiles"].items():
            d = np.asarray(prof["distance"])
            style = SERIES_STYLE[legend]
            if legend != "truth":
                items.append(hv.Area((d, np.asarray(prof["p25"]), np.asarray(prof["p75"])),
                                     xlabel, ["p25", "p75"], label=f"{legend} 25–75 %").opts(
                    color=style["color"], alpha=0.25, line_alpha=0))
            items.append(hv.Curve((d, np.asarray(prof["median"])), xlabel, "mm",
                                  label=f"{legend} median").opts(**style, tools=["hover"]))
            fit = res["fits"].get(legend)
            if fit is not None and legend != "truth":
                items.append(hv.Curve((d, np.asarray(fit.curve(d))), xlabel, "mm",
                                      label=f"{legend} {fit.model} fit").opts(
                    color=_FIT_COLOR if legend == "denoised" else "#ef9a9a", line_width=2))
            if fit is not None:
                notes.append(f"{legend}: {_fmt_fit(fit)}")
        x0 = _first_x0(res["fits"])
        if x0 is not None:
            items.append(hv.VLine(x0).opts(color=_FIT_COLOR, line_dash="dotted"))
        k = s.active_profile + 1
        text = "\n".join(notes)
        overlay = hv.Overlay(items)
        if text:
            overlay = overlay * hv.Text(float(np.nanmin(np.asarray(
                next(iter(res["profiles"].values()))["distance"]))), _text_y(res), text,
                halign="left", valign="top", fontsize=10)
        return overlay.opts(title=f"P{k} swath profile on {s.date_label()} "
                                  f"(width {s.swath_width:.4g} {s.units_xy})",
                            xlabel=xlabel, ylabel="LOS displacement (mm)")

    def _offsets(self, **_: Any) -> hv.Overlay:
        s = self.state
        res = s.offsets_through_time()
        if res is None:
            return hv.Overlay([hv.Curve([], "date", "offset (mm)")]).opts(title="Offset through time")
        items: list = []
        for legend, ser in res["series"].items():
            df = ser.to_dataframe().reset_index()
            style = SERIES_STYLE[legend]
            if legend != "truth" and "offset_sigma_mm" in df:
                items.append(hv.ErrorBars((df["time"], df["offset_mm"], df["offset_sigma_mm"]),
                                          "date", ["offset (mm)", "sigma"]).opts(
                    color=style["color"], alpha=0.6))
            items.append(hv.Curve((df["time"], df["offset_mm"]), "date", "offset (mm)",
                                  label=legend).opts(**style, tools=["hover"]))
        tr = res["transient"]
        title = f"P{s.active_profile + 1} {s.offset_model} offset through time"
        if tr is not None:
            start, end = _transient_span(tr)
            if start is not None:
                items.append(hv.VSpan(start, end if end is not None else start).opts(
                    color="#ffb300", alpha=0.25))
            title += f" — transient: {_fmt_transient(tr)}"
        else:
            title += " — no transient detected"
        return hv.Overlay(items).opts(title=title, xlabel="date", ylabel="offset (mm)")

    def _now(self, **_: Any) -> hv.VLine:
        return hv.VLine(self.state.dates[self.state.time_index]).opts(color="#d81b60", line_width=1.5)

    def _summary(self, *_: Any) -> str:
        s = self.state
        if not s.profiles:
            return f"*No profile yet.* {_HINT}"
        rows = ["| profile | series | offset on " + s.date_label() + " |", "|---|---|---|"]
        for k in range(len(s.profiles)):
            res = s.profile_at_date(k)
            for legend, fit in res["fits"].items():
                rows.append(f"| P{k + 1} | {legend} | {_fmt_fit(fit) if fit else 'no fit'} |")
        return "\n".join(rows)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(pn.Row(self._profile_pane, self._offsets_pane, sizing_mode="stretch_width"),
                         self._table, sizing_mode="stretch_width")


def _fmt_fit(fit: Any) -> str:
    txt = f"{fit.model} offset {fit.offset_mm:.2f} ± {fit.offset_sigma_mm:.2f} mm"
    depth = getattr(fit, "depth_km", None)
    if fit.model == "creep" and depth is not None and np.isfinite(depth):
        txt += f", locking depth {depth:.2g} km"
    return txt


def _first_x0(fits: dict) -> float | None:
    for legend in ("denoised", "raw"):
        fit = fits.get(legend)
        if fit is not None and fit.x0 is not None and np.isfinite(fit.x0):
            return float(fit.x0)
    return None


def _text_y(res: dict) -> float:
    tops = [np.nanmax(np.asarray(p["p75"])) for p in res["profiles"].values()
            if np.isfinite(np.asarray(p["p75"])).any()]
    return float(max(tops)) if tops else 0.0


def _transient_span(tr: Any) -> tuple[Any, Any]:
    start = getattr(tr, "start", None) or getattr(tr, "onset", None)
    end = getattr(tr, "end", None)
    return (pd.Timestamp(start) if start is not None else None,
            pd.Timestamp(end) if end is not None else None)


def _fmt_transient(tr: Any) -> str:
    start, end = _transient_span(tr)
    amp = getattr(tr, "amplitude_mm", None)
    txt = f"{start:%Y-%m-%d}" if start is not None else "?"
    if end is not None:
        txt += f" → {end:%Y-%m-%d}"
    if amp is not None:
        txt += f", {amp:.1f} mm"
    return txt
