"""Sidebar controls: frame picker, denoising, time player, display, reference and profiles.

Widgets only: every action calls a method or sets a parameter of the state part a control is
given (the frame part :class:`~app.state.DashboardState`, ``state.denoising`` or
``state.analysis``); nothing here computes a science value.
"""

from __future__ import annotations

import time
from typing import Any

import panel as pn
import param

from app.denoising import TIME_STRIDES, DenoiseSession
from app.profiles import ProfileAnalysis
from app.state import DashboardState
from app.views._plots import after_maps, follow, watch

__all__ = [
    "DenoiseControls",
    "DisplayControls",
    "FramePicker",
    "ProfileControls",
    "ReferenceControls",
    "TimeControls",
]

_DEVICE_LABELS = {"cuda": "CUDA", "mps": "MPS", "cpu": "CPU"}
_POLL_MS = 250
_DRAG_MS = 120  # least interval between two dates applied while the slider is dragged


class FramePicker(pn.viewable.Viewer):
    """Catalog entry selector with the entry's description, dates, size and truth flag."""

    state = param.ClassSelector(class_=DashboardState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._select = pn.widgets.Select.from_param(
            self.state.param.frame, label="Frame (catalog entry)", sizing_mode="stretch_width"
        )
        self._info = pn.pane.Markdown(
            pn.bind(self._describe, self.state.param.dataset),
            sizing_mode="stretch_width",
            margin=(0, 10),
            css_classes=["insar-frame-info"],
        )
        notices = self.state.catalog_notices
        self._notices = pn.pane.Alert(
            "**Catalog entries skipped** (see the server log):\n\n"
            + "\n".join(f"- {n}" for n in notices),
            alert_type="warning",
            visible=bool(notices),
            sizing_mode="stretch_width",
            css_classes=["insar-catalog-notices"],
            styles={"font-size": "0.85em"},
        )

    def _describe(self, ds: Any) -> str:
        """The selected entry: catalog description, then the dates, size and truth of the data."""
        s = self.state
        if ds is None:
            return ""
        info = s.frames.loc[s.frame]
        t = s.dates
        truth = "yes" if "deformation_true" in ds else "no"
        pixel = abs(float(ds["x"][1] - ds["x"][0])) if ds.sizes["x"] > 1 else float("nan")
        return (
            f"{info.get('description', '') or ''}\n\n"
            f"| | |\n|---|---|\n"
            f"| dates | {t[0]:%Y-%m-%d} → {t[-1]:%Y-%m-%d} ({len(t)}) |\n"
            f"| size | {ds.sizes['y']} x {ds.sizes['x']} px, {pixel:.4g} {s.units_xy} pixels |\n"
            f"| sensor | {info.get('sensor', '') or '—'} |\n"
            f"| truth | {truth} |"
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self._select, self._info, self._notices, sizing_mode="stretch_width")


class DenoiseControls(pn.viewable.Viewer):
    """Denoise button, device choice, progress with an estimate, cancel, errors."""

    denoising = param.ClassSelector(class_=DenoiseSession, doc="The session's denoising part.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        d = self.denoising
        devices = list(d.param.device.objects)
        self._device = pn.widgets.Select(
            label="Device",
            options={_DEVICE_LABELS.get(d, d.upper()): d for d in devices},
            value=d.device,
            css_classes=["insar-device"],
            sizing_mode="stretch_width",
        )
        self._device.link(d, value="device")
        missing = [lab for d, lab in _DEVICE_LABELS.items() if d not in devices]
        self._device_note = pn.pane.Markdown(
            f"Available: {', '.join(_DEVICE_LABELS.get(d, d) for d in devices)}"
            + (f" (no {', '.join(missing)})" if missing else ""),
            margin=(0, 10),
            styles={"font-size": "0.85em", "color": "#666"},
        )
        self._model = pn.widgets.Select.from_param(d.param.model_name, label="Model")
        self._stride = pn.widgets.Select.from_param(
            d.param.time_stride,
            label="Time windows",
            options=TIME_STRIDES,
            description="9-date windows start at every date (best) or every 2nd / 4th date "
            "(2x / 4x faster); results are kept per choice.",
            css_classes=["insar-denoise-stride"],
        )
        self._run = pn.widgets.Button(
            label="Denoise",
            color="primary",
            sizing_mode="stretch_width",
            css_classes=["insar-denoise-run"],
        )
        self._cancel = pn.widgets.Button(
            label="Cancel",
            color="danger",
            variant="outline",
            disabled=True,
            width=90,
            css_classes=["insar-denoise-cancel"],
        )
        self._bar = pn.indicators.Progress(
            value=0, max=100, sizing_mode="stretch_width", bar_color="primary", height=14
        )
        self._text = pn.pane.Markdown(
            "", margin=(0, 10), styles={"font-size": "0.9em"}, css_classes=["insar-denoise-status"]
        )
        self._alert = pn.pane.Alert(
            "", alert_type="danger", visible=False, sizing_mode="stretch_width"
        )
        self._run.on_click(self._start)
        self._cancel.on_click(lambda _: d.cancel_denoise())
        self._callback: Any = None
        watch(
            [
                d.param.denoise_status,
                d.param.denoise_fraction,
                d.param.denoise_message,
                d.param.denoise_eta_s,
                d.param.denoise_error,
                d.owner.param.frame,
                d.param.model_name,
                d.param.time_stride,
            ],
            self._render,
        )
        self._render()

    def _start(self, _: Any = None) -> None:
        job = self.denoising.start_denoise()
        if job is not None and self._callback is None:
            self._callback = pn.state.add_periodic_callback(self._poll, period=_POLL_MS)

    def _poll(self) -> None:
        if self.denoising.poll_denoise() and self._callback is not None:
            self._callback.stop()
            self._callback = None

    def _render(self, *_: Any) -> None:
        d = self.denoising
        running = d.denoise_status == "running"
        self._run.disabled = running
        self._cancel.disabled = not running
        self._device.disabled = running
        self._stride.disabled = running
        self._stride.visible = d.model_kind == "window"  # a whole-series model has no windows
        self._run.label = (
            "Show cached result" if (d.is_cached and d.owner.denoised is None) else "Denoise"
        )
        self._bar.value = round(100 * d.denoise_fraction)
        self._bar.bar_color = {"error": "danger", "cancelled": "warning"}.get(
            d.denoise_status, "primary"
        )
        eta = d.denoise_eta_s
        parts = {
            "idle": "Not denoised yet.",
            "running": f"{100 * d.denoise_fraction:.0f} % · {d.denoise_message}"
            + (f" · about {_duration(eta)} left" if eta is not None else ""),
            "done": "Denoised"
            + (" (cached result)" if d.denoise_message == "cached result" else "")
            + ".",
            "cancelled": "Cancelled.",
            "error": "Denoising failed.",
        }
        self._text.object = f"**Status:** {parts[d.denoise_status]}"
        self._alert.object = f"**Denoising failed.** {d.denoise_error}" if d.denoise_error else ""
        self._alert.visible = bool(d.denoise_error)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            self._model,
            self._stride,
            self._device,
            self._device_note,
            pn.Row(self._run, self._cancel),
            self._bar,
            self._text,
            self._alert,
            sizing_mode="stretch_width",
        )


class TimeControls(pn.viewable.Viewer):
    """Player (play/pause/step/loop, speed), date slider and date label."""

    state = param.ClassSelector(class_=DashboardState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        s = self.state
        self._label = pn.pane.Markdown(
            "",
            css_classes=["insar-date"],
            margin=(0, 10),
            styles={"font-size": "1.25em", "font-weight": "600"},
        )
        self._player = pn.widgets.Player(
            label="Player",
            start=0,
            end=1,
            value=0,
            loop_policy="loop",
            interval=500,
            show_value=False,
            show_loop_controls=True,
            scale_buttons=0.75,
            visible_buttons=["first", "previous", "reverse", "pause", "play", "next", "last"],
            sizing_mode="stretch_width",
            css_classes=["insar-player"],
            stylesheets=[
                ":host input[type=range], :host .noUi-target, :host .bk-input-group > .bk-slider-title "
                "{ display: none !important; }"
            ],
        )  # one slider: the date slider below
        self._speed = pn.widgets.Select(
            label="Speed",
            value=500,
            options={
                "0.5 date/s": 2000,
                "1 date/s": 1000,
                "2 dates/s": 500,
                "4 dates/s": 250,
                "8 dates/s": 125,
            },
        )
        self._speed.link(self._player, value="interval")
        self._syncing = False
        self._slider = pn.widgets.DiscreteSlider(
            label="Date",
            options={"-": 0},
            value=0,
            sizing_mode="stretch_width",
            css_classes=["insar-date-slider"],
        )
        self._player.param.watch(self._from_widget, "value")
        # The maps follow the slider while it is dragged, at most one date every _DRAG_MS
        # (the last position is always applied); the release applies at once.
        self._pending: int | None = None
        self._last_drag = 0.0
        self._slider.param.watch(self._dragged, "value")
        self._slider.param.watch(self._from_widget, "value_throttled")
        # The player's value follows at once (not after the maps): a click on its "last" button
        # right after a drag must see the dragged date, or the browser finds nothing to change.
        s.param.watch(self._sync_player, ["time_index"])
        after_maps([s.param.time_index], self._sync)
        s.param.watch(self._reset, ["dataset"])
        self._reset()

    def _reset(self, *_: Any) -> None:
        s = self.state
        labels = [f"{d:%Y-%m-%d}" for d in s.dates]
        self._player.end = len(labels) - 1
        self._slider.options = dict(zip(labels, range(len(labels)), strict=True))
        self._sync()

    def _dragged(self, event: param.parameterized.Event) -> None:
        if event.new is None or self._syncing:
            return
        now = time.monotonic()
        if now - self._last_drag >= _DRAG_MS / 1000 and self._pending is None:
            self._last_drag = now
            self._apply(int(event.new))
            return
        first = self._pending is None
        self._pending = int(event.new)
        if pn.state.curdoc is None:  # no server event loop (notebook, tests): apply now
            self._flush()
        elif first:
            pn.state.curdoc.add_timeout_callback(self._flush, _DRAG_MS)

    def _flush(self) -> None:
        i, self._pending = self._pending, None
        self._last_drag = time.monotonic()
        if i is not None:
            self._apply(i)

    def _apply(self, i: int) -> None:
        if i != self.state.time_index:
            self.state.time_index = i

    def _from_widget(self, event: param.parameterized.Event) -> None:
        self._pending = None  # the release or the player wins over a drag position not yet applied
        if event.new is not None and event.new != self.state.time_index:
            self.state.time_index = int(event.new)

    def _sync_player(self, *_: Any) -> None:
        i = self.state.time_index
        if self._player.value != i:
            self._syncing = True
            try:
                self._player.value = i
            finally:
                self._syncing = False

    def _sync(self, *_: Any) -> None:
        s = self.state
        i = s.time_index
        self._syncing = True
        try:
            if self._player.value != i:
                self._player.value = i
            if self._slider.value != i and self._pending is None:
                self._slider.value = i
        finally:
            self._syncing = False
        self._label.object = f"{s.date_label()} · date {i + 1} of {len(s.dates)}"

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            self._label, self._player, self._slider, self._speed, sizing_mode="stretch_width"
        )


class DisplayControls(pn.viewable.Viewer):
    """Colour limits (symmetric, percentile auto-range, manual), hillshade and mask toggles."""

    state = param.ClassSelector(class_=DashboardState)

    def __panel__(self) -> pn.viewable.Viewable:
        p = self.state.param
        manual = pn.widgets.EditableRangeSlider.from_param(
            p.clim_manual, label="Manual limits (mm)", start=-50, end=50, step=0.5
        )
        percentile = pn.widgets.FloatSlider.from_param(
            p.clim_percentile, label="Auto-range percentile", step=0.5
        )
        mode = p.clim_mode.rx()
        manual.visible = mode == "manual"
        percentile.visible = mode != "manual"
        return pn.Column(
            pn.widgets.Select.from_param(p.clim_mode, label="Colour limits"),
            percentile,
            manual,
            pn.widgets.Checkbox.from_param(p.clim_symmetric, label="Symmetric about zero"),
            pn.widgets.Checkbox.from_param(p.show_hillshade, label="Hillshade of the DEM"),
            pn.widgets.Checkbox.from_param(p.show_mask, label="Show mask (grey)"),
            pn.widgets.Checkbox.from_param(
                p.show_rate, label="Rate map (mm/yr) as a layer", css_classes=["insar-show-rate"]
            ),
            pn.widgets.Checkbox.from_param(p.rate_annual, label="Annual term in rate fits"),
            follow(
                [
                    p.clim_mode,
                    p.clim_percentile,
                    p.clim_symmetric,
                    p.clim_manual,
                    p.data_revision,
                    p.time_index,
                ],
                pn.pane.Markdown(margin=(0, 10), styles={"color": "#666"}),
                lambda: "Limits: {:.1f} … {:.1f} mm".format(*self.state.clim()),
            ),
            sizing_mode="stretch_width",
        )


class ReferenceControls(pn.viewable.Viewer):
    """What a click does (inspect / reference), pixel box radius, reference shown and reset."""

    state = param.ClassSelector(class_=DashboardState)

    def __panel__(self) -> pn.viewable.Viewable:
        s = self.state
        mode = pn.widgets.RadioButtonGroup.from_param(
            s.param.click_mode,
            options={"Inspect pixel": "inspect", "Set reference": "reference", "Draw only": "draw"},
            color="primary",
            variant="outline",
            sizing_mode="stretch_width",
        )
        reset = pn.widgets.Button(
            label="Reset reference", color="light", sizing_mode="stretch_width"
        )
        reset.on_click(lambda _: s.clear_reference())
        label = pn.pane.Markdown(
            pn.bind(
                lambda *_: f"**Reference:** {s.reference_label()}",
                s.param.reference,
                s.param.dataset,
            ),
            css_classes=["insar-reference"],
            margin=(0, 10),
        )
        help_ = pn.pane.Markdown(
            pn.bind(_click_help, s.param.click_mode),
            css_classes=["insar-click-mode"],
            margin=(0, 10),
            styles={"font-size": "0.85em", "color": "#666"},
        )
        return pn.Column(mode, label, reset, help_, sizing_mode="stretch_width")


class ProfileControls(pn.viewable.Viewer):
    """Swath width, offset model, active profile, clear, candidate faults to profiles."""

    analysis = param.ClassSelector(class_=ProfileAnalysis, doc="The session's analysis part.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        a = self.analysis
        self._syncing = False
        self._active = pn.widgets.Select(label="Profile shown", options={"—": 0})
        self._active.param.watch(lambda e: setattr(a, "active_profile", int(e.new)), "value")
        self._x0 = pn.widgets.FloatInput(
            label="Fault crossing (km along the profile)",
            value=None,
            step=0.1,
            format="0.00",
            disabled=True,
            css_classes=["insar-crossing"],
            sizing_mode="stretch_width",
            description="Located on the raw data (steepest gradient at the "
            "last date); type a distance, or click the profile "
            "plot, to move it. Every layer is fitted there.",
        )
        self._relocate = pn.widgets.Button(
            label="Locate crossing again",
            color="light",
            disabled=True,
            sizing_mode="stretch_width",
            css_classes=["insar-crossing-reset"],
        )
        self._x0.param.watch(self._typed, "value")
        self._relocate.on_click(lambda _: a.set_crossing(None))
        watch(
            [
                a.param.profiles,
                a.param.active_profile,
                a.param.manual_crossings,
                a.param.swath_width,
                a.owner.param.data_revision,
            ],
            self._sync,
        )
        self._sync()

    def _typed(self, event: param.parameterized.Event) -> None:
        a = self.analysis
        if self._syncing or event.new is None or a.profile_at_date() is None:
            return
        current = a.line_crossing()
        km = a.km_per_distance()
        if current is None or abs(current * km - float(event.new)) > 1e-9:
            a.set_crossing(float(event.new) / km)

    def _sync(self, *_: Any) -> None:
        a = self.analysis
        opts = {f"P{k + 1}": k for k in range(len(a.profiles))} or {"—": 0}
        self._active.options = opts
        self._active.value = a.active_profile if a.active_profile in opts.values() else 0
        x0 = a.line_crossing() if a.profiles else None
        self._syncing = True
        try:
            self._x0.value = round(x0 * a.km_per_distance(), 3) if x0 is not None else None
        finally:
            self._syncing = False
        self._x0.disabled = not a.profiles
        line = a.profiles[a.active_profile] if 0 <= a.active_profile < len(a.profiles) else None
        self._relocate.disabled = line is None or line.tobytes() not in a.manual_crossings

    def _candidates_to_profiles(self, _: Any) -> None:
        a = self.analysis
        n = a.add_profiles_across_candidates()
        a.show_candidates = True
        found = len(a.candidate_list())
        msg = (
            f"{n} profile(s) added across the {found} strongest candidate fault(s) of the raw data"
            if n
            else ("Those profiles are already drawn" if found else "No candidate fault found")
        )
        if pn.state.notifications is not None:
            pn.state.notifications.info(msg, duration=3000)

    def __panel__(self) -> pn.viewable.Viewable:
        a = self.analysis
        clear = pn.widgets.Button(
            label="Clear profiles", color="light", sizing_mode="stretch_width"
        )
        clear.on_click(lambda _: a.clear_profiles())
        across = pn.widgets.Button(
            label="Profiles across candidate faults",
            color="primary",
            variant="outline",
            sizing_mode="stretch_width",
        )
        across.on_click(self._candidates_to_profiles)
        width = pn.widgets.FloatInput.from_param(
            a.param.swath_width, label=f"Swath width ({a.owner.units_xy})", step=100.0, start=0.0
        )
        return pn.Column(
            pn.pane.Markdown(
                "Draw on the first map: **press and hold** for the first vertex, "
                "click more vertices, **double-click** to end. Drag to move; select and "
                "press Backspace to delete.",
                margin=(0, 10),
                styles={"font-size": "0.85em", "color": "#666"},
            ),
            width,
            pn.widgets.RadioButtonGroup.from_param(
                a.param.offset_model,
                label="Offset model",
                options={"Step": "step", "Creep (arctan)": "creep"},
                color="primary",
                variant="outline",
            ),
            self._active,
            self._x0,
            self._relocate,
            clear,
            pn.widgets.Checkbox.from_param(a.param.show_candidates, label="Show candidate faults"),
            across,
            sizing_mode="stretch_width",
        )


def _click_help(mode: str) -> str:
    if mode == "draw":
        return "**Clicks only draw profiles** (the inspected pixel and the reference stay put)."
    if mode == "reference":
        return (
            "**Click sets the reference point**; the box-select tool sets a reference area "
            "(median of the box). Every map, series and profile is re-referenced."
        )
    return (
        "**Click inspects a pixel** (its time series below); the box-select tool averages a box. "
        "Choose *Set reference* to reference the data to a point or area instead."
    )


def _duration(seconds: float) -> str:
    seconds = max(round(seconds), 0)
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60:02d} s"
