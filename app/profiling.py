"""Profile lines, candidate faults and pixel time series of a session (param only, no panel).

:class:`ProfileAnalysis` is the part of :class:`app.state.DashboardState` that turns the lines a
user drew into swath profiles, offset fits and offset time series, by calling
``insar_ae.analysis`` on the session's referenced data (``self.view``). Results are memoised per
(view, line, width, model, date) so the several views that show them compute them once.

Units: distances along the profile in the frame's coordinate units, values in mm (LOS, positive
toward the satellite).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import param
import xarray as xr

from insar_ae.analysis import (
    detect_transient,
    detection_map,
    fault_candidates,
    fit_creep,
    fit_step,
    offset_series,
    point_timeseries,
    swath_profile,
)

__all__ = ["ProfileAnalysis"]

#: Variables profiled, with their legend names.
PROFILE_VARS: dict[str, str] = {"displacement": "raw", "deformation": "denoised",
                                "deformation_true": "truth"}


class ProfileAnalysis(param.Parameterized):
    """Profiles, offsets, candidates and pixel series derived from ``self.view``."""

    profiles = param.List(default=[], item_type=np.ndarray,
                          doc="Profile polylines, each an (n, 2) array of x, y vertices.")
    profiles_revision = param.Integer(default=0, precedence=-1,
                                      doc="Bumped when profiles change other than by drawing.")
    active_profile = param.Integer(default=0, bounds=(0, None), doc="Profile shown in the plots.")
    swath_width = param.Number(default=1000.0, bounds=(0.0, None),
                               doc="Full width of the swath across each line, coordinate units.")
    offset_model = param.Selector(default="step", objects=["step", "creep"],
                                  doc="Model fitted across the fault: step or arctan creep.")
    show_candidates = param.Boolean(default=False, doc="Show candidate fault traces.")

    # view, dataset, time_index, pixel, pixel_radius, _memo, map_slice come from DashboardState.

    # ------------------------------------------------------------------------- lines
    def set_profiles_from_drawing(self, xs: list, ys: list) -> None:
        """Lines from the map's draw tool (lists of vertex x and y); lines of < 2 vertices dropped."""
        lines = [np.column_stack([np.asarray(a, float), np.asarray(b, float)])
                 for a, b in zip(xs or [], ys or [], strict=False) if len(a) >= 2]
        lines = [ln for ln in lines if np.all(np.isfinite(ln))]
        old = len(self.profiles)
        with param.parameterized.batch_call_watchers(self):
            self.profiles = lines
            if len(lines) > old or self.active_profile >= len(lines):
                self.active_profile = max(len(lines) - 1, 0)

    def add_profile(self, line: np.ndarray) -> None:
        """Append one line (n, 2) and make it the active profile."""
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
    def _line(self, k: int | None) -> np.ndarray | None:
        k = self.active_profile if k is None else k
        return self.profiles[k] if 0 <= k < len(self.profiles) else None

    def _swath_input(self, var: str, line: np.ndarray, time_index: int | None) -> xr.DataArray:
        """``view[var]`` cropped to the line's bounding box plus the half width (speed only:
        swath_profile uses no pixel farther than half_width from the line)."""
        da = self.view[var]
        if time_index is not None:
            da = da.isel(time=time_index)
        pad = self.swath_width / 2 + 2 * _pixel(da)
        sel = {}
        for dim, col in (("x", 0), ("y", 1)):
            c = np.asarray(da[dim].values)
            inside = np.flatnonzero((c >= line[:, col].min() - pad) & (c <= line[:, col].max() + pad))
            if inside.size:
                sel[dim] = slice(int(inside[0]), int(inside[-1]) + 1)
        return da.isel(sel)

    def _fit(self, distance: np.ndarray, values: np.ndarray):
        fit = fit_step if self.offset_model == "step" else fit_creep
        ok = np.isfinite(values)
        if ok.sum() < 4:
            return None
        try:
            return fit(distance, values)
        except ValueError:
            return None

    def profile_at_date(self, k: int | None = None) -> dict[str, Any] | None:
        """Swath profiles of profile k (active one by default) at the current date.

        Returns {'line', 'profiles': {legend: Dataset(median, p25, p75, count; distance)},
        'fits': {legend: OffsetFit | None}} or None when there is no such line.
        """
        line = self._line(k)
        if line is None:
            return None
        key = ("profile", line.tobytes(), self.swath_width, self.offset_model, self.time_index)
        if key not in self._memo:
            profiles, fits = {}, {}
            for var, legend in PROFILE_VARS.items():
                if var not in self.view:
                    continue
                da = self._swath_input(var, line, self.time_index).compute()
                prof = swath_profile(da, line, half_width=self.swath_width / 2)
                profiles[legend] = prof
                fits[legend] = self._fit(np.asarray(prof["distance"]), np.asarray(prof["median"]))
            self._memo[key] = {"line": line, "profiles": profiles, "fits": fits}
        return self._memo[key]

    def offsets_through_time(self, k: int | None = None) -> dict[str, Any] | None:
        """Offset across profile k at every date: {'series': {legend: Dataset}, 'transient'}.

        The transient is detected on the denoised series when present, else on the raw one.
        """
        line = self._line(k)
        if line is None:
            return None
        key = ("offsets", line.tobytes(), self.swath_width, self.offset_model)
        if key not in self._memo:
            series = {}
            for var, legend in PROFILE_VARS.items():
                if var not in self.view:
                    continue
                da = self._swath_input(var, line, None).compute()
                prof = swath_profile(da, line, half_width=self.swath_width / 2)
                series[legend] = offset_series(prof, model=self.offset_model)
            basis = series.get("denoised", series.get("raw"))
            transient = detect_transient(basis) if basis is not None else None
            self._memo[key] = {"series": series, "transient": transient}
        return self._memo[key]

    # ---------------------------------------------------------------- candidate faults
    def candidates(self) -> list[np.ndarray]:
        """Candidate fault traces ((n, 2) x/y polylines) from the detection map of the data."""
        key = ("candidates",)
        if key not in self._memo:
            dmap = detection_map(self.view)
            self._memo[key] = [np.asarray(c, dtype=float) for c in fault_candidates(dmap)]
        return self._memo[key]

    def add_profiles_across_candidates(self, indices: list[int] | None = None) -> int:
        """Add a profile perpendicular to each chosen candidate trace, through its middle.

        Length: half the smaller frame extent (enough far field on both sides), clipped to the
        frame. Returns the number of profiles added.
        """
        cands = self.candidates()
        chosen = range(len(cands)) if indices is None else indices
        lines = [_across(cands[i], self.dataset) for i in chosen if 0 <= i < len(cands)]
        if lines:
            with param.parameterized.batch_call_watchers(self):
                self.profiles = [*self.profiles, *lines]
                self.profiles_revision += 1
                self.active_profile = len(self.profiles) - 1
        return len(lines)

    # ---------------------------------------------------------------- pixel time series
    def pixel_series(self) -> pd.DataFrame:
        """Time series at the inspected pixel (mean within pixel_radius), one column per
        variable (raw, denoised, truth), mm, referenced; index = dates."""
        if self.pixel is None or self.view is None:
            return pd.DataFrame()
        x, y = self.pixel
        key = ("pixel", x, y, self.pixel_radius)
        if key not in self._memo:
            cols = {}
            for var, legend in PROFILE_VARS.items():
                if var in self.view:
                    ts = point_timeseries(self.view[var], x=x, y=y, radius=self.pixel_radius)
                    cols[legend] = np.asarray(ts.compute().values, dtype=float)
            self._memo[key] = pd.DataFrame(cols, index=pd.DatetimeIndex(self.view["time"].values,
                                                                       name="date"))
        return self._memo[key]

    # ------------------------------------------------------------------- export tables
    def profiles_table(self) -> pd.DataFrame:
        """All profiles at the current date, long format (profile, distance, legend stats, fit)."""
        frames = []
        for k in range(len(self.profiles)):
            res = self.profile_at_date(k)
            for legend, prof in res["profiles"].items():
                fit = res["fits"][legend]
                df = pd.DataFrame({
                    "profile": k + 1, "series": legend, "date": self.date_label(),
                    "distance": np.asarray(prof["distance"]),
                    "median_mm": np.asarray(prof["median"]), "p25_mm": np.asarray(prof["p25"]),
                    "p75_mm": np.asarray(prof["p75"]), "count": np.asarray(prof["count"]),
                    "fit_model": self.offset_model,
                    "offset_mm": fit.offset_mm if fit else np.nan,
                    "offset_sigma_mm": fit.offset_sigma_mm if fit else np.nan,
                })
                frames.append(df)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def offsets_table(self) -> pd.DataFrame:
        """Offset through time of every profile, long format (profile, series, date, offset)."""
        frames = []
        for k in range(len(self.profiles)):
            res = self.offsets_through_time(k)
            for legend, s in res["series"].items():
                df = s.to_dataframe().reset_index()
                df.insert(0, "series", legend)
                df.insert(0, "profile", k + 1)
                frames.append(df)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _pixel(da: xr.DataArray) -> float:
    x = np.asarray(da["x"].values, dtype=float)
    return float(abs(x[1] - x[0])) if x.size > 1 else 0.0


def _across(trace: np.ndarray, ds: xr.Dataset) -> np.ndarray:
    """Two-point line perpendicular to a trace through its middle vertex (display geometry)."""
    x = np.asarray(ds["x"].values, dtype=float)
    y = np.asarray(ds["y"].values, dtype=float)
    mid = trace[len(trace) // 2] if len(trace) > 2 else trace.mean(axis=0)
    d = trace[-1] - trace[0]
    norm = np.hypot(*d) or 1.0
    normal = np.array([-d[1], d[0]]) / norm
    half = min(np.ptp(x), np.ptp(y)) / 4
    ends = np.array([mid - half * normal, mid + half * normal])
    ends[:, 0] = np.clip(ends[:, 0], x.min(), x.max())
    ends[:, 1] = np.clip(ends[:, 1], y.min(), y.max())
    return ends
