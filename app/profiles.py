"""Swath-profile analysis of a dashboard session: profile lines, candidate faults, offsets and
pixel time series (param only, no panel).

:class:`ProfileAnalysis` is the ``analysis`` part of :class:`app.state.DashboardState` (its
``owner``, the frame part): it turns the lines a user drew into swath profiles, offset fits and
offset time series, and the inspected or pinned pixels into time series and rates, by calling
``insar_ae.analysis`` on the owner's re-referenced data. It owns its parameters (lines, swath
width, offset model, crossings typed, candidates shown, pins) and resets them itself when the
owner loads a frame (:meth:`ProfileAnalysis.new_frame`). Results are memoised per (line,
width, model, date, ...) and forgotten whenever the owner's ``data_revision`` changes (new
data, denoised layers or reference).

Fault crossing ``x0``: one per line, by ``insar_ae.analysis.locate_crossing`` (the package's
one crossing policy): the steepest point of the **raw** profile at the last date, or the value
the user typed (``manual_crossings``); the denoised layer's own estimate is only reported.
That one x0 is used for every date and layer, so offsets through time, the current-date fit
and raw vs denoised vs truth all refer to the same crossing.

Candidate faults come from the raw data too (``insar_ae.analysis.candidate_profiles``): a
denoiser that misses the step must not hide the fault.

Units: distances along a profile in the frame's coordinate units, values in mm (LOS, positive
toward the satellite); offsets are far side (end of the line) minus near side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import param
import xarray as xr

from insar_ae.analysis import (
    OFFSET_MODELS,
    CandidateProfile,
    Crossing,
    OffsetFit,
    RateFit,
    candidate_profiles,
    detect_transient,
    fit_offset,
    fit_rate,
    locate_crossing,
    offset_series,
    point_timeseries,
    swath_profile,
)
from insar_ae.errors import InsarAEError

if TYPE_CHECKING:
    from app.state import DashboardState

__all__ = ["LEGENDS", "ProfileAnalysis", "default_swath"]

#: Layers profiled and plotted as series, with their legend names.
LEGENDS: dict[str, str] = {
    "displacement": "raw",
    "deformation": "denoised",
    "deformation_true": "truth",
}


class ProfileAnalysis(param.Parameterized):
    """Profiles, offsets, candidates and pixel series of one session: ``state.analysis``.

    Reads the frame part (``owner``: its ``view``, ``dataset``, ``time_index``, ``pixel``,
    ``pixel_box``, ``rate_annual``, ``data_revision`` and :meth:`~app.state.DashboardState.
    date_slice`) and writes only its own parameters and the owner's ``notice``."""

    profiles = param.List(
        default=[],
        item_type=np.ndarray,
        doc="Profile polylines, each an (n, 2) array of x, y vertices.",
    )
    profiles_revision = param.Integer(
        default=0, precedence=-1, doc="Bumped when profiles change other than by drawing."
    )
    active_profile = param.Integer(default=0, bounds=(0, None), doc="Profile shown in the plots.")
    swath_width = param.Number(
        default=1000.0,
        bounds=(0.0, None),
        inclusive_bounds=(False, True),
        doc="Full width of the swath across each line, coordinate units.",
    )
    offset_model = param.Selector(
        default="step",
        objects=list(OFFSET_MODELS),
        doc="Model fitted across the fault: step, or shallow creep (arctan).",
    )
    show_candidates = param.Boolean(default=False, doc="Show candidate fault traces.")
    manual_crossings = param.Dict(
        default={},
        precedence=-1,
        doc="Crossings typed by the user: line bytes -> x0 (distance units).",
    )
    pins = param.List(default=[], item_type=tuple, doc="Pinned pixels (x, y) compared, at most 2.")
    n_candidates = param.Integer(
        default=3, bounds=(1, 10), doc="Candidate faults offered, strongest first."
    )

    def __init__(self, owner: DashboardState, **params: Any) -> None:
        super().__init__(**params)
        self.owner = owner
        self._results: dict[Any, Any] = {}
        self._results_revision: int | None = None

    def new_frame(self, ds: xr.Dataset) -> None:
        """The owner loads ``ds``: no line, crossing, pin or candidate shown, the default swath
        width of that frame (called inside the owner's frame-load batch)."""
        with param.parameterized.batch_call_watchers(self):
            self.profiles = []
            self.manual_crossings = {}
            self.pins = []
            self.profiles_revision += 1
            self.active_profile = 0
            self.show_candidates = False
            self.swath_width = default_swath(ds)

    def release(self) -> None:
        """The session ended: forget the results and the lines."""
        self._results.clear()
        with param.parameterized.discard_events(self):
            self.profiles = []
            self.pins = []

    @property
    def _memo(self) -> dict[Any, Any]:
        """Results of the owner's current data (emptied when its ``data_revision`` moves on)."""
        revision = self.owner.data_revision
        if revision != self._results_revision:
            self._results.clear()
            self._results_revision = revision
        return self._results

    # ------------------------------------------------------------------------- lines
    def set_profiles_from_drawing(self, xs: list, ys: list) -> None:
        """Lines from the map's draw tool (lists of vertex x and y); lines of < 2 vertices dropped."""
        lines = [
            np.column_stack([np.asarray(a, float), np.asarray(b, float)])
            for a, b in zip(xs or [], ys or [], strict=False)
            if len(a) >= 2
        ]
        lines = [ln for ln in lines if np.all(np.isfinite(ln)) and np.ptp(ln, axis=0).max() > 0]
        if len(lines) == len(self.profiles) and all(
            a.shape == b.shape and np.allclose(a, b)
            for a, b in zip(lines, self.profiles, strict=True)
        ):
            return
        old = len(self.profiles)
        with param.parameterized.batch_call_watchers(self):
            self.profiles = lines
            if len(lines) > old or self.active_profile >= len(lines):
                self.active_profile = max(len(lines) - 1, 0)

    def add_profile(self, line: Any) -> None:
        """Append one line ((n, 2) x, y vertices) and make it the active profile."""
        line = np.asarray(line, dtype=float)
        with param.parameterized.batch_call_watchers(self):
            self.profiles = [*self.profiles, line]
            self.profiles_revision += 1
            self.active_profile = len(self.profiles) - 1

    def clear_profiles(self) -> None:
        with param.parameterized.batch_call_watchers(self):
            self.profiles = []
            self.profiles_revision += 1
            self.active_profile = 0

    # ------------------------------------------------------------------ profile results
    def profile_layers(self) -> list[str]:
        return [v for v in LEGENDS if self.owner.view is not None and v in self.owner.view]

    def _line(self, k: int | None) -> np.ndarray | None:
        k = self.active_profile if k is None else k
        return self.profiles[k] if 0 <= k < len(self.profiles) else None

    def _crop(self, obj: xr.Dataset, line: np.ndarray) -> xr.Dataset:
        """``obj`` cut to the line's bounding box plus the half width (speed only:
        swath_profile uses no pixel farther than half_width from the line)."""
        x = np.asarray(obj["x"].values, dtype=float)
        y = np.asarray(obj["y"].values, dtype=float)
        px = max(abs(x[1] - x[0]) if x.size > 1 else 0.0, abs(y[1] - y[0]) if y.size > 1 else 0.0)
        pad = self.swath_width / 2 + 2 * px
        sel = {}
        for dim, c, col in (("x", x, 0), ("y", y, 1)):
            inside = np.flatnonzero(
                (c >= line[:, col].min() - pad) & (c <= line[:, col].max() + pad)
            )
            if inside.size:
                sel[dim] = slice(int(inside[0]), int(inside[-1]) + 1)
        return obj.isel(sel)

    def _swath(self, obj: xr.Dataset, line: np.ndarray) -> xr.Dataset:
        layers = [v for v in self.profile_layers() if v in obj]
        return swath_profile(
            self._crop(obj[layers], line), line, half_width=self.swath_width / 2, layers=layers
        )

    def _fit(self, prof: xr.Dataset, layer: str, x0: float | None) -> OffsetFit | None:
        """``offset_model`` fitted to one layer's median profile at ``x0`` (distance units;
        ``insar_ae.analysis.fit_offset``, as ``offset_series``); None when it cannot be fitted."""
        dist = np.asarray(prof["distance"].values, dtype=float)
        values = np.asarray(prof["median"].sel(layer=layer).values, dtype=float)
        try:
            return fit_offset(
                dist,
                values,
                model=self.offset_model,
                x0=x0,
                distance_unit_m=float(prof.attrs.get("metres_per_unit", 1.0)),
            )
        except (InsarAEError, np.linalg.LinAlgError, ValueError):
            return None

    def crossing(self, k: int | None = None) -> Crossing | None:
        """Fault crossing of profile k (``insar_ae.analysis.Crossing``; distance units), located
        on the raw layer at the last date unless the user typed one; None without a line or
        enough data."""
        line = self._line(k)
        if line is None:
            return None
        given = self.manual_crossings.get(line.tobytes())
        key = ("x0", line.tobytes(), self.swath_width, given)
        if key not in self._memo:
            last = self.owner.dataset.sizes["time"] - 1
            prof = self._swath(self.owner.date_slice(last), line)
            try:
                self._memo[key] = locate_crossing(prof, given=given)
            except (InsarAEError, ValueError):
                self._memo[key] = None
            self._memo[("km", line.tobytes())] = (
                float(prof.attrs.get("metres_per_unit", 1.0)) / 1000.0
            )
            length = float(prof.attrs.get("length", 0.0))  # along the line, distance units
            plane = float(np.hypot(*np.diff(line, axis=0).T).sum())  # in map coordinates
            self._memo[("line_scale", line.tobytes())] = plane / length if length > 0 else 1.0
        return self._memo[key]

    def line_crossing(self, k: int | None = None) -> float | None:
        """x0 of profile k's crossing (distance units), see :meth:`crossing`."""
        c = self.crossing(k)
        return None if c is None else c.x0

    def km_per_distance(self, k: int | None = None) -> float:
        """Kilometres per unit of profile distance (1e-3 for metric frames; for degree frames
        the local arc degree), so that profiles are shown in km."""
        line = self._line(k)
        if line is None:
            return 1e-3 if not self.owner.units_xy.startswith("deg") else 111.2
        self.crossing(k)  # fills the memo
        return self._memo.get(("km", line.tobytes()), 1e-3)

    def set_crossing(self, x0: float | None, k: int | None = None) -> None:
        """Use ``x0`` (distance units along profile k) as its crossing; None: locate it again."""
        line = self._line(k)
        if line is None:
            return
        manual = dict(self.manual_crossings)
        if x0 is None or not np.isfinite(x0):
            manual.pop(line.tobytes(), None)
        else:
            manual[line.tobytes()] = float(x0)
        self.manual_crossings = manual

    def crossing_point(self, k: int | None = None) -> tuple[float, float] | None:
        """Map (x, y) of profile k's crossing (for the maps), or None."""
        line, x0 = self._line(k), self.line_crossing(k)
        if line is None or x0 is None:
            return None
        seg = np.diff(line, axis=0)
        lens = np.hypot(seg[:, 0], seg[:, 1])
        cum = np.concatenate(([0.0], np.cumsum(lens)))
        units = self._memo.get(("line_scale", line.tobytes()), 1.0)
        s = float(np.clip(x0 * units, 0.0, cum[-1]))
        i = int(min(np.searchsorted(cum, s, side="right") - 1, len(seg) - 1))
        p = line[i] + (s - cum[i]) / max(lens[i], 1e-300) * seg[i]
        return (float(p[0]), float(p[1]))

    def profile_at_date(self, k: int | None = None) -> dict[str, Any] | None:
        """Swath profile of line k (the active one by default) at the current date.

        Returns {'line', 'profile': Dataset (layer, distance) of median/mean/p25/p75/count,
        'x0', 'fits': {layer: OffsetFit | None}} or None when there is no such line.
        """
        line = self._line(k)
        if line is None:
            return None
        key = (
            "profile",
            line.tobytes(),
            self.swath_width,
            self.offset_model,
            self.owner.time_index,
            self.manual_crossings.get(line.tobytes()),
        )
        if key not in self._memo:
            prof = self._swath(self.owner.date_slice(), line)
            x0 = self.line_crossing(k)
            fits = {str(v): self._fit(prof, str(v), x0) for v in prof["layer"].values}
            self._memo[key] = {"line": line, "profile": prof, "x0": x0, "fits": fits}
        return self._memo[key]

    def offsets_through_time(self, k: int | None = None) -> dict[str, Any] | None:
        """Offset across line k at every date: {'series': Dataset (layer, time) with
        offset/offset_sigma (mm), 'transient': Transient | None, 'transient_layer'}.

        The transient is sought in the denoised series when present, else in the raw one.
        """
        line = self._line(k)
        if line is None:
            return None
        key = (
            "offsets",
            line.tobytes(),
            self.swath_width,
            self.offset_model,
            self.manual_crossings.get(line.tobytes()),
        )
        if key not in self._memo:
            prof = self._swath(self.owner.view, line)
            series = offset_series(prof, model=self.offset_model, x0=self.line_crossing(k))
            layer = "deformation" if "deformation" in series["layer"] else "displacement"
            try:
                transient = detect_transient(series, layer=layer)
            except (InsarAEError, ValueError, np.linalg.LinAlgError):
                transient = None
            self._memo[key] = {"series": series, "transient": transient, "transient_layer": layer}
        return self._memo[key]

    # ---------------------------------------------------------------- candidate faults
    def candidate_list(self) -> list[CandidateProfile]:
        """The few strongest candidate faults of the raw change (first to last date), each with
        a profile line crossing it at right angles, inside the frame (strongest first)."""
        key = ("candidates", self.n_candidates)
        if key not in self._memo:
            try:
                found = candidate_profiles(self.owner.dataset, n=self.n_candidates)
            except (InsarAEError, ValueError):
                found = []
            self._memo[key] = found
        return self._memo[key]

    def candidates(self) -> list[np.ndarray]:
        """Candidate fault traces ((n, 2) x/y polylines, strongest first)."""
        return [c.trace for c in self.candidate_list()]

    def add_profiles_across_candidates(self, indices: list[int] | None = None) -> int:
        """Add the crossing profile of each chosen candidate (all by default) not drawn yet.
        Returns the number added."""
        cands = self.candidate_list()
        chosen = range(len(cands)) if indices is None else indices
        have = {p.tobytes() for p in self.profiles}
        lines = [
            cands[i].line
            for i in chosen
            if 0 <= i < len(cands) and cands[i].line.tobytes() not in have
        ]
        if lines:
            with param.parameterized.batch_call_watchers(self):
                self.profiles = [*self.profiles, *lines]
                self.profiles_revision += 1
                self.active_profile = len(self.profiles) - 1
        return len(lines)

    # ---------------------------------------------------------------- pixel time series
    def pixel_series(self) -> pd.DataFrame:
        """Time series at the inspected pixel (box mean when a box was drawn), one column per
        layer (raw, denoised, truth), mm, re-referenced; index = dates."""
        view, box = self.owner.view, self.owner.pixel_box
        if self.owner.pixel is None or view is None:
            return pd.DataFrame()
        x, y = self.owner.pixel
        key = ("pixel", x, y, box)
        if key not in self._memo:
            layers = self.profile_layers()
            try:
                # one call per layer: their valid-pixel counts (coordinate n_valid) differ
                cols = {
                    LEGENDS[v]: np.asarray(
                        point_timeseries(view[v], x=x, y=y, box=box).values, dtype=float
                    )
                    for v in layers
                }
            except InsarAEError as err:
                self.owner.notice = f"No time series there: {err}"
                cols = {}
            self._memo[key] = pd.DataFrame(
                cols, index=pd.DatetimeIndex(view["time"].values, name="date")
            )
        return self._memo[key]

    def pixel_rates(self) -> dict[str, RateFit | None]:
        """Linear (+ annual, ``rate_annual``) fit of each column of :meth:`pixel_series`."""
        df = self.pixel_series()
        annual = self.owner.rate_annual
        key = ("rates", self.owner.pixel, self.owner.pixel_box, annual)
        if key not in self._memo:
            self._memo[key] = {c: _rate_or_none(df.index, df[c].values, annual) for c in df.columns}
        return self._memo[key]

    def pin_pixel(self) -> None:
        """Pin the inspected pixel for comparison (the two latest pins are compared)."""
        pixel = self.owner.pixel
        if pixel is not None:
            self.pins = [*self.pins, (float(pixel[0]), float(pixel[1]))][-2:]

    def clear_pins(self) -> None:
        self.pins = []

    def comparison(self) -> dict[str, Any] | None:
        """Two pinned pixels A, B of the denoised (else raw) layer and B - A, mm, referenced.

        Returns {'layer', 'table': DataFrame (dates) with A_mm, B_mm, B_minus_A_mm and
        B_minus_A_sigma_mm (per-date 1-sigma: the two series' fit residual RMS combined),
        'fits': {'A', 'B', 'B - A': RateFit | None}} or None with fewer than two pins.
        """
        view, annual = self.owner.view, self.owner.rate_annual
        if len(self.pins) < 2 or view is None:
            return None
        key = ("compare", tuple(self.pins), annual)
        if key not in self._memo:
            layer = "deformation" if "deformation" in view else "displacement"
            (xa, ya), (xb, yb) = self.pins[-2:]
            idx = pd.DatetimeIndex(view["time"].values, name="date")
            a = np.asarray(point_timeseries(view[layer], x=xa, y=ya).values, dtype=float)
            b = np.asarray(point_timeseries(view[layer], x=xb, y=yb).values, dtype=float)
            fits = {
                "A": _rate_or_none(idx, a, annual),
                "B": _rate_or_none(idx, b, annual),
                "B - A": _rate_or_none(idx, b - a, annual),
            }
            rms = [f.residual_rms_mm if f is not None else np.nan for f in (fits["A"], fits["B"])]
            table = pd.DataFrame(
                {
                    "A_mm": a,
                    "B_mm": b,
                    "B_minus_A_mm": b - a,
                    "B_minus_A_sigma_mm": float(np.hypot(*rms)),
                },
                index=idx,
            )
            self._memo[key] = {
                "layer": layer,
                "table": table,
                "fits": fits,
                "points": {"A": (xa, ya), "B": (xb, yb)},
            }
        return self._memo[key]

    # ------------------------------------------------------------------- export tables
    def profiles_table(self) -> pd.DataFrame:
        """All profiles at the current date, long format (profile, series, distance, stats, fit)."""
        frames = []
        for k in range(len(self.profiles)):
            res = self.profile_at_date(k)
            prof = res["profile"]
            for layer in prof["layer"].values:
                fit = res["fits"][str(layer)]
                p = prof.sel(layer=layer)
                frames.append(
                    pd.DataFrame(
                        {
                            "profile": k + 1,
                            "series": LEGENDS[str(layer)],
                            "date": self.owner.date_label(),
                            "distance": np.asarray(p["distance"]),
                            "median_mm": np.asarray(p["median"]),
                            "p25_mm": np.asarray(p["p25"]),
                            "p75_mm": np.asarray(p["p75"]),
                            "count": np.asarray(p["count"]),
                            "fit_model": self.offset_model,
                            "x0": res["x0"] if res["x0"] is not None else np.nan,
                            "offset_mm": fit.offset_mm if fit else np.nan,
                            "offset_sigma_mm": fit.offset_sigma_mm if fit else np.nan,
                        }
                    )
                )
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def offsets_table(self) -> pd.DataFrame:
        """Offset through time of every profile, long format (profile, series, date, offset)."""
        frames = []
        for k in range(len(self.profiles)):
            ser = self.offsets_through_time(k)["series"]
            for layer in ser["layer"].values:
                s = ser.sel(layer=layer)
                frames.append(
                    pd.DataFrame(
                        {
                            "profile": k + 1,
                            "series": LEGENDS[str(layer)],
                            "date": pd.DatetimeIndex(s["time"].values).strftime("%Y-%m-%d"),
                            "offset_mm": np.asarray(s["offset"]),
                            "offset_sigma_mm": np.asarray(s["offset_sigma"]),
                            "model": self.offset_model,
                        }
                    )
                )
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _rate_or_none(dates: Any, values: Any, annual: bool) -> RateFit | None:
    try:
        return fit_rate(dates, values, annual=annual)
    except (InsarAEError, ValueError, np.linalg.LinAlgError):
        return None


def default_swath(ds: xr.Dataset) -> float:
    """Default full swath width: 1/25 of the frame width, at least 5 pixels (coordinate units)."""
    x = np.asarray(ds["x"].values, dtype=float)
    px = abs(x[1] - x[0]) if x.size > 1 else 1.0
    return float(max(5 * px, abs(x[-1] - x[0]) / 25))
