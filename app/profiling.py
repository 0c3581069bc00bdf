"""Profile lines, candidate faults and pixel time series of a session (param only, no panel).

:class:`ProfileAnalysis` is the part of :class:`app.state.DashboardState` that turns the lines a
user drew into swath profiles, offset fits and offset time series, by calling
``insar_ae.analysis`` on the session's re-referenced data. Results are memoised per
(line, width, model, date) and cleared when the data or the reference change.

Fault crossing ``x0``: located once per line on the denoised layer (else raw) at the last
date, where the signal is largest (``locate_fault`` for the step model, a free ``fit_creep``
for the creep model), then held fixed for every date and layer, so that offsets through time,
the current-date fit and raw vs denoised all refer to the same crossing.

Units: distances along a profile in the frame's coordinate units, values in mm (LOS, positive
toward the satellite); offsets are far side (end of the line) minus near side.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import param
import xarray as xr

from insar_ae.analysis import (
    crossing_line,
    detect_transient,
    fault_candidates,
    fit_creep,
    fit_step,
    locate_fault,
    offset_series,
    point_timeseries,
    swath_profile,
)
from insar_ae.errors import InsarAEError

__all__ = ["LEGENDS", "ProfileAnalysis"]

#: Layers profiled and plotted as series, with their legend names.
LEGENDS: dict[str, str] = {"displacement": "raw", "deformation": "denoised", "deformation_true": "truth"}


class ProfileAnalysis(param.Parameterized):
    """Profiles, offsets, candidates and pixel series of one session (mixin of DashboardState)."""

    profiles = param.List(default=[], item_type=np.ndarray,
                          doc="Profile polylines, each an (n, 2) array of x, y vertices.")
    profiles_revision = param.Integer(default=0, precedence=-1,
                                      doc="Bumped when profiles change other than by drawing.")
    active_profile = param.Integer(default=0, bounds=(0, None), doc="Profile shown in the plots.")
    swath_width = param.Number(default=1000.0, bounds=(0.0, None), inclusive_bounds=(False, True),
                               doc="Full width of the swath across each line, coordinate units.")
    offset_model = param.Selector(default="step", objects=["step", "creep"],
                                  doc="Model fitted across the fault: step, or shallow creep (arctan).")
    show_candidates = param.Boolean(default=False, doc="Show candidate fault traces.")

    # view, data, dataset, time_index, pixel, pixel_box, _memo, date_slice, date_label come
    # from DashboardState.

    # ------------------------------------------------------------------------- lines
    def set_profiles_from_drawing(self, xs: list, ys: list) -> None:
        """Lines from the map's draw tool (lists of vertex x and y); lines of < 2 vertices dropped."""
        lines = [np.column_stack([np.asarray(a, float), np.asarray(b, float)])
                 for a, b in zip(xs or [], ys or [], strict=False) if len(a) >= 2]
        lines = [ln for ln in lines if np.all(np.isfinite(ln)) and np.ptp(ln, axis=0).max() > 0]
        if len(lines) == len(self.profiles) and all(
                a.shape == b.shape and np.allclose(a, b) for a, b in zip(lines, self.profiles, strict=True)):
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
        return [v for v in LEGENDS if self.view is not None and v in self.view]

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
            inside = np.flatnonzero((c >= line[:, col].min() - pad) & (c <= line[:, col].max() + pad))
            if inside.size:
                sel[dim] = slice(int(inside[0]), int(inside[-1]) + 1)
        return obj.isel(sel)

    def _swath(self, obj: xr.Dataset, line: np.ndarray) -> xr.Dataset:
        layers = [v for v in self.profile_layers() if v in obj]
        return swath_profile(self._crop(obj[layers], line), line, half_width=self.swath_width / 2,
                             layers=layers)

    def _fit(self, prof: xr.Dataset, layer: str, x0: float | None) -> Any:
        dist = np.asarray(prof["distance"].values, dtype=float)
        values = np.asarray(prof["median"].sel(layer=layer).values, dtype=float)
        try:
            if self.offset_model == "step":
                return fit_step(dist, values, x0=x0)
            return fit_creep(dist, values, x0=x0, distance_unit_m=float(prof.attrs.get("metres_per_unit", 1.0)))
        except (InsarAEError, np.linalg.LinAlgError, ValueError):
            return None

    def line_crossing(self, k: int | None = None) -> float | None:
        """Fault crossing x0 of profile k (distance units), located at the last date."""
        line = self._line(k)
        if line is None:
            return None
        key = ("x0", line.tobytes(), self.swath_width, self.offset_model)
        if key not in self._memo:
            last = self.dataset.sizes["time"] - 1
            prof = self._swath(self.date_slice(last), line)
            layer = "deformation" if "deformation" in prof["layer"] else "displacement"
            dist = np.asarray(prof["distance"].values, dtype=float)
            values = np.asarray(prof["median"].sel(layer=layer).values, dtype=float)
            x0 = None
            try:
                if self.offset_model == "step":
                    x0 = float(locate_fault(dist, values))
                else:
                    fit = self._fit(prof, layer, None)
                    x0 = float(fit.x0) if fit is not None else None
            except (InsarAEError, ValueError):
                x0 = None
            self._memo[key] = x0
        return self._memo[key]

    def profile_at_date(self, k: int | None = None) -> dict[str, Any] | None:
        """Swath profile of line k (the active one by default) at the current date.

        Returns {'line', 'profile': Dataset (layer, distance) of median/mean/p25/p75/count,
        'x0', 'fits': {layer: OffsetFit | None}} or None when there is no such line.
        """
        line = self._line(k)
        if line is None:
            return None
        key = ("profile", line.tobytes(), self.swath_width, self.offset_model, self.time_index)
        if key not in self._memo:
            prof = self._swath(self.date_slice(), line)
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
        key = ("offsets", line.tobytes(), self.swath_width, self.offset_model)
        if key not in self._memo:
            prof = self._swath(self.view, line)
            series = offset_series(prof, model=self.offset_model, x0=self.line_crossing(k))
            layer = "deformation" if "deformation" in series["layer"] else "displacement"
            try:
                transient = detect_transient(series, layer=layer)
            except (InsarAEError, ValueError, np.linalg.LinAlgError):
                transient = None
            self._memo[key] = {"series": series, "transient": transient, "transient_layer": layer}
        return self._memo[key]

    # ---------------------------------------------------------------- candidate faults
    def candidates(self) -> list[np.ndarray]:
        """Candidate fault traces ((n, 2) x/y polylines, strongest first) from the change of the
        denoised (else raw) data between the first and last dates."""
        key = ("candidates",)
        if key not in self._memo:
            try:
                found = fault_candidates(self.data)
            except (InsarAEError, ValueError):
                found = []
            self._memo[key] = [np.asarray(c, dtype=float) for c in found]
        return self._memo[key]

    def add_profiles_across_candidates(self, indices: list[int] | None = None) -> int:
        """Add a profile crossing each chosen candidate trace at its middle (``crossing_line``).

        Length: half the smaller frame extent (far field on both sides). Returns the number added.
        """
        cands = self.candidates()
        chosen = range(len(cands)) if indices is None else indices
        x = np.asarray(self.dataset["x"].values, dtype=float)
        y = np.asarray(self.dataset["y"].values, dtype=float)
        length = 0.5 * min(np.ptp(x), np.ptp(y))
        lines = [crossing_line(cands[i], length=length) for i in chosen if 0 <= i < len(cands)]
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
        if self.pixel is None or self.view is None:
            return pd.DataFrame()
        x, y = self.pixel
        key = ("pixel", x, y, self.pixel_box)
        if key not in self._memo:
            layers = self.profile_layers()
            try:
                # one call per layer: their valid-pixel counts (coordinate n_valid) differ
                cols = {LEGENDS[v]: np.asarray(point_timeseries(self.view[v], x=x, y=y, box=self.pixel_box)
                                               .values, dtype=float) for v in layers}
            except InsarAEError as err:
                self.notice = f"No time series there: {err}"
                cols = {}
            self._memo[key] = pd.DataFrame(cols, index=pd.DatetimeIndex(self.view["time"].values, name="date"))
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
                frames.append(pd.DataFrame({
                    "profile": k + 1, "series": LEGENDS[str(layer)], "date": self.date_label(),
                    "distance": np.asarray(p["distance"]), "median_mm": np.asarray(p["median"]),
                    "p25_mm": np.asarray(p["p25"]), "p75_mm": np.asarray(p["p75"]),
                    "count": np.asarray(p["count"]), "fit_model": self.offset_model,
                    "x0": res["x0"] if res["x0"] is not None else np.nan,
                    "offset_mm": fit.offset_mm if fit else np.nan,
                    "offset_sigma_mm": fit.offset_sigma_mm if fit else np.nan,
                }))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def offsets_table(self) -> pd.DataFrame:
        """Offset through time of every profile, long format (profile, series, date, offset)."""
        frames = []
        for k in range(len(self.profiles)):
            ser = self.offsets_through_time(k)["series"]
            for layer in ser["layer"].values:
                s = ser.sel(layer=layer)
                frames.append(pd.DataFrame({
                    "profile": k + 1, "series": LEGENDS[str(layer)],
                    "date": pd.DatetimeIndex(s["time"].values).strftime("%Y-%m-%d"),
                    "offset_mm": np.asarray(s["offset"]), "offset_sigma_mm": np.asarray(s["offset_sigma"]),
                    "model": self.offset_model,
                }))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
