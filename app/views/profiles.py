"""Swath profile of the active line at the current date, with the fitted offset written on the
plot, the offset through time with any detected transient, and a table of every profile."""

from __future__ import annotations

from functools import partial
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from app.profiles import LEGENDS, ProfileAnalysis
from app.views._plots import after_maps, follow, push_overlay, watch
from app.views.timeseries import PLOT_OPTS as _TS_OPTS
from app.views.timeseries import SERIES_STYLE, NowLines, now_line

__all__ = ["ProfileView"]

_FIT_COLOR = "#d81b60"
PLOT_OPTS = dict(_TS_OPTS, legend_position="right")
_HINT = (
    "Draw a profile on the first map (press and hold, click, double-click), "
    "or use 'Profiles across candidate faults'."
)
_HINT_SHORT = "Draw a profile on the first map"
#: Under the table when a denoised offset is in it (the model card's "Known limits").
#: Kept free of numbers, which belong to one set of weights: the model card has them.
_WEAK_SIGNAL_NOTE = (
    "*Denoised offsets of a few mm in an otherwise quiet frame are lower bounds: the model keeps "
    "less of a weak signal where the scene holds no strong one (measured gains in the model "
    "card, `bench/real_noise.py --sweep`).*"
)


class ProfileView(pn.viewable.Viewer):
    """Profile plot, offset-through-time plot and offsets table of one session."""

    analysis = param.ClassSelector(class_=ProfileAnalysis, doc="The session's analysis part.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        a = self.analysis
        s = a.owner
        # What the profile plot, the offsets and the table are drawn from: the line, width,
        # model and crossing (the analysis part) and the data (the frame part).
        line_params = [
            a.param.profiles,
            a.param.active_profile,
            a.param.swath_width,
            a.param.offset_model,
            s.param.data_revision,
            a.param.manual_crossings,
        ]
        # The profile plot is drawn when the line, width, model or data change, and updated in
        # place (data, title, y range) when only the date changes.
        self._profile_pane = pn.pane.HoloViews(
            self._profile_plot(), sizing_mode="stretch_width", linked_axes=False
        )
        watch(line_params, self._redraw_profile)
        after_maps([s.param.time_index], self._date_changed)
        # The offset through time (every date fitted) follows on the next tick, so that the
        # profile and its fit reach the browser first; a change seen by several parts at once
        # (a new frame) refreshes it once.
        self._offsets_pane = pn.pane.HoloViews(
            self._offsets_plot(), sizing_mode="stretch_width", linked_axes=False
        )
        self._defer = partial(pn.state.execute, schedule=True)
        self._offsets_pending = False
        watch(line_params, self._offsets_changed)
        self._table = follow(
            [*line_params, s.param.time_index],
            pn.pane.Markdown(css_classes=["insar-offsets"], sizing_mode="stretch_width"),
            self._summary,
        )
        self._now = NowLines(s, self._offsets_pane)

    # ---------------------------------------------------------------------- plots
    def _redraw_profile(self, *_: Any) -> None:
        """A new line, width, model or data: update the drawn plot in place when its layers
        are the same (the usual case), else draw it anew."""
        overlay, title, x_range, y_range = self._profile_frame()
        if not push_overlay(
            self._profile_pane, overlay, title=title, x_range=x_range, y_range=y_range
        ):
            self._profile_pane.object = self._profile_plot()

    def _date_changed(self, *_: Any) -> None:
        if self.analysis.profile_at_date() is not None:
            self._redraw_profile()

    def _profile_plot(self, *_: Any) -> hv.Overlay:
        """The profile plot at the current date (the same elements, empty, before any line)."""
        overlay, title, x_range, y_range = self._profile_frame()
        # A click on the profile plot moves the fault crossing there (every layer is refitted).
        tap = hv.streams.SingleTap(source=overlay, x=None, y=None, transient=True)
        tap.add_subscriber(self._tapped)
        return overlay.opts(
            hv.opts.Overlay(
                **PLOT_OPTS,
                title=title,
                xlim=x_range,
                ylim=y_range,
                xlabel="distance along profile (km)",
                ylabel="LOS displacement (mm)",
            )
        )

    def _tapped(self, x: float | None, y: float | None) -> None:
        a = self.analysis
        if x is not None and a.profile_at_date() is not None:
            a.set_crossing(float(x) / a.km_per_distance())

    def _profile_frame(self) -> tuple[hv.Overlay, str, tuple, tuple]:
        """Elements of the profile plot (same structure at every date and for every line: a
        missing fit or line is drawn empty, not dropped), its title and x/y ranges."""
        a = self.analysis
        s = a.owner
        res = a.profile_at_date()
        xlabel = "distance along profile (km)"
        layers = a.profile_layers()
        km = a.km_per_distance()
        if res is None:
            prof, d = None, np.array([0.0, 1.0])
        else:
            prof = res["profile"]
            d = np.asarray(prof["distance"].values, dtype=float)
        dk = d * km if res is not None else d
        nan = np.full_like(d, np.nan)
        items: list = []
        notes = []
        for layer in layers:
            legend = LEGENDS[layer]
            p = prof.sel(layer=layer) if prof is not None else None
            style = SERIES_STYLE[legend]
            if legend != "truth":
                items.append(
                    hv.Area(
                        (dk, _col(p, "p25", nan), _col(p, "p75", nan)),
                        xlabel,
                        ["p25", "p75"],
                        label=f"{legend} 25–75 %",
                    ).opts(color=style["color"], alpha=0.2, line_alpha=0)
                )
            items.append(
                hv.Curve((dk, _col(p, "median", nan)), xlabel, "mm", label=f"{legend} median").opts(
                    **style, tools=["hover"]
                )
            )
            fit = res["fits"].get(layer) if res is not None else None
            if legend != "truth":
                items.append(
                    hv.Curve(
                        (dk, np.asarray(fit.curve(d)) if fit is not None else nan),
                        xlabel,
                        "mm",
                        label=f"{legend} fit",
                    ).opts(color=_FIT_COLOR if legend == "denoised" else "#f48fb1", line_width=2)
                )
            if res is not None:
                notes.append(f"{legend}: {_fmt_fit(fit) if fit is not None else 'no fit'}")
        if prof is not None:
            lo = (
                float(np.nanmin(prof["p25"].values))
                if np.isfinite(prof["p25"].values).any()
                else -1.0
            )
            hi = (
                float(np.nanmax(prof["p75"].values))
                if np.isfinite(prof["p75"].values).any()
                else 1.0
            )
            pad = 0.08 * (hi - lo) if hi > lo else 1.0
            y_range, x_range = (lo - pad, hi + pad), (float(dk.min()), float(dk.max()))
        else:
            y_range, x_range = (0.0, 1.0), (0.0, 1.0)
        x0 = res["x0"] * km if res is not None and res["x0"] is not None else np.nan
        items.append(
            hv.Curve(([x0, x0], list(y_range)), xlabel, "mm", label="fault crossing").opts(
                color=_FIT_COLOR, line_dash="dashed", line_width=2.5
            )
        )
        if res is not None:
            notes.append(_crossing_note(a.crossing(), km))
        text = (
            (f"{a.offset_model} offset (far minus near side)\n" + "\n".join(notes))
            if res is not None
            else _HINT_SHORT
        )
        tx, ty = (x_range[0], y_range[1] - 0.5 * pad) if res is not None else (0.03, 0.95)
        items.append(hv.Text(tx, ty, text, halign="left", valign="top", fontsize=10))
        title = (
            (
                f"P{a.active_profile + 1} swath profile on {s.date_label()} "
                f"(width {_length(a.swath_width, s.units_xy)})"
            )
            if res is not None
            else "Swath profile"
        )
        return hv.Overlay(items), title, x_range, y_range

    def _offsets_changed(self, *_: Any) -> None:
        if not self._offsets_pending:
            self._offsets_pending = True
            self._defer(self._refresh_offsets)

    def _refresh_offsets(self) -> None:
        self._offsets_pending = False
        self._offsets_pane.object = self._offsets_plot()

    def _offsets_plot(self, *_: Any) -> hv.DynamicMap:
        a = self.analysis
        s = a.owner
        res = a.offsets_through_time()
        opts = hv.opts.Overlay(**PLOT_OPTS, xlabel="date", ylabel="offset (mm)")
        if res is None:
            empty = hv.Curve((s.dates[[0, -1]], [np.nan, np.nan]), "date", "offset (mm)")
            return (hv.Overlay([empty]) * now_line(s)).opts(
                opts, hv.opts.Overlay(title="Offset through time")
            )
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
                items.append(
                    hv.ErrorBars((t, off, sig), "date", ["offset (mm)", "sigma"]).opts(
                        color=style["color"], alpha=0.5
                    )
                )
            items.append(
                hv.Curve((t, off), "date", "offset (mm)", label=legend).opts(
                    **style, tools=["hover"]
                )
            )
        tr = res["transient"]
        title = f"P{a.active_profile + 1} {a.offset_model} offset through time"
        if tr is not None:
            start = pd.Timestamp(tr.onset)
            end = start + pd.Timedelta(days=float(tr.duration_days))
            items.append(hv.VSpan(start, end).opts(color="#ffb300", alpha=0.3))
            title += f" — transient ({LEGENDS[res['transient_layer']]}): {_fmt_transient(tr)}"
        else:
            title += f" — no transient detected ({LEGENDS[res['transient_layer']]})"
        return (hv.Overlay(items) * now_line(s)).opts(opts, hv.opts.Overlay(title=title))

    def _summary(self, *_: Any) -> str:
        a = self.analysis
        s = a.owner
        if not a.profiles:
            return f"*No profile yet.* {_HINT}"
        rows = [
            f"| profile | series | {a.offset_model} offset on {s.date_label()} | crossing x0 |",
            "|---|---|---|---|",
        ]
        denoised = False
        for k in range(len(a.profiles)):
            res = a.profile_at_date(k)
            x0 = f"{res['x0'] * a.km_per_distance(k):.2f} km" if res["x0"] is not None else "—"
            for layer, fit in res["fits"].items():
                rows.append(
                    f"| P{k + 1} | {LEGENDS[layer]} | {_fmt_fit(fit) if fit else 'no fit'} | {x0} |"
                )
                denoised |= layer == "deformation"
        return "\n".join([*rows, "", _WEAK_SIGNAL_NOTE] if denoised else rows)

    def profile_panel(self) -> pn.viewable.Viewable:
        """The swath profile at the current date and the table of offsets."""
        return pn.Column(self._profile_pane, self._table, sizing_mode="stretch_width")

    def offsets_panel(self) -> pn.viewable.Viewable:
        """The offset through time of the active profile."""
        return self._offsets_pane

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.Row(self._profile_pane, self._offsets_pane, sizing_mode="stretch_width"),
            self._table,
            sizing_mode="stretch_width",
        )


def _col(p: Any, name: str, empty: np.ndarray) -> np.ndarray:
    return np.asarray(p[name].values, dtype=float) if p is not None else empty


def _length(value: float, units: str) -> str:
    """A length for labels: km for metres (no 4.51856e+06), else the frame's units."""
    if units in ("m", "metre", "metres", "meter", "meters"):
        return f"{value / 1000:.3g} km" if abs(value) >= 1000 else f"{value:.0f} m"
    return f"{value:.4g} {units}"


def _crossing_note(c: Any, km: float) -> str:
    """Where the crossing is and how it was found (for the profile plot)."""
    if c is None:
        return "crossing: not located"
    how = {"user": "set by you", "displacement": "steepest raw gradient"}.get(
        c.source, f"located on {c.source}"
    )
    others = [f"{LEGENDS.get(k, k)} {v * km:.2f}" for k, v in c.per_layer.items() if k != c.source]
    txt = f"crossing {c.x0 * km:.2f} km ({how})"
    if others:
        txt += f"; {', '.join(others)} km" + ("" if c.agree else " (layers disagree)")
    return txt


def _fmt_fit(fit: Any) -> str:
    txt = f"{fit.offset_mm:.2f} ± {fit.offset_sigma_mm:.2f} mm"
    depth = getattr(fit, "depth_km", None)
    if fit.model == "creep" and depth is not None and np.isfinite(depth):
        txt += f" (creep depth {depth:.2g} ± {fit.depth_sigma_km or float('nan'):.1g} km)"
    return txt


def _fmt_transient(tr: Any) -> str:
    start = pd.Timestamp(tr.onset)
    return (
        f"onset {start:%Y-%m-%d} ± {tr.onset_sigma_days:.0f} d, {tr.duration_days:.0f} d long, "
        f"{tr.amplitude_mm:.1f} ± {tr.amplitude_sigma_mm:.1f} mm"
    )
