"""Session state of the dashboard: param classes only (no panel import, no science).

One :class:`DashboardState` per browser session (or notebook cell), composed of three parts,
each owning its parameters and resetting them itself when a frame is loaded:

- the frame part, :class:`DashboardState` itself: the catalog entry shown, its dataset, the data
  shown (``denoised``, ``view``, ``data_revision``), the date, the reference, the inspected
  pixel, the colour limits and the display and rate settings;
- ``state.denoising``, a :class:`app.denoising.DenoiseSession`: model, device, time stride,
  the run's progress and the results cached per (frame, model, time stride);
- ``state.analysis``, a :class:`app.profiles.ProfileAnalysis`: profile lines, swath width,
  offset model, fault crossings, candidate faults, pinned pixels and their memoised results.

Each part holds its owner (``part.owner``, this frame part) and reads the data there; a frame
load (:meth:`DashboardState._load_frame`) sets every part inside one nested batch (the parts'
``new_frame``), so each watcher fires once, those of the frame part first. Views receive the
part they draw. Every number shown by the views comes from ``insar_ae`` functions called here
or in the parts; the views only draw.

Data flow: ``dataset`` (as read, validated) or ``denoised`` (dataset + deformation + noise) is
re-referenced with ``insar_ae.analysis.reference_to_point/area``: lazily for whole-cube uses
(``view``: time series, offsets through time) and one date at a time for the maps
(:meth:`DashboardState.date_slice`; re-referencing acts date by date, so both agree exactly).

Conventions: millimetres, line of sight, positive toward the satellite; ``x``/``y`` in the
frame's coordinate units (metres or degrees).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd
import param
import xarray as xr
from param.parameterized import batch_call_watchers

from app.denoising import DenoiseSession
from app.frames import catalog_notices, catalog_table, prepare, read_frame
from app.frames import lazy as as_lazy
from app.profiles import ProfileAnalysis
from insar_ae.analysis import reference_to_area, reference_to_point, valid_pixel_near, velocity
from insar_ae.catalog import DEFAULT_FRAME, catalog_paths
from insar_ae.errors import InsarAEError

__all__ = ["LAYERS", "RATE", "DashboardState"]

log = logging.getLogger(__name__)

#: Map layers in display order with their titles.
LAYERS: dict[str, str] = {
    "displacement": "Raw displacement",
    "deformation": "Denoised deformation",
    "noise": "Removed noise",
    "deformation_true": "Truth",
    "rate": "Rate (mm/yr)",
}
#: The map layer that does not change with the date (per-pixel rate of the denoised, else raw, data).
RATE = "rate"
_CLIM_SAMPLE = 250_000  # values used for the percentile auto-range
_SLICES = 4  # referenced dates kept per session (shown, prefetched, last for the colour limits)


class DashboardState(param.Parameterized):
    """Everything one dashboard session knows: the frame part's parameters here, the
    ``denoising`` and ``analysis`` parts beside them; views watch the part they draw."""

    # --- catalog -----------------------------------------------------------------------
    frame = param.Selector(objects=[], doc="Catalog entry shown (never a file path).")
    frames = param.DataFrame(
        default=None,
        allow_None=True,
        precedence=-1,
        doc="list_frames() table: description, dates, size, truth.",
    )
    dataset = param.ClassSelector(
        class_=xr.Dataset,
        allow_None=True,
        precedence=-1,
        doc="The frame as read from the catalog (validated).",
    )
    denoised = param.ClassSelector(
        class_=xr.Dataset,
        allow_None=True,
        precedence=-1,
        doc="dataset + deformation + noise, or None (set by the denoising part).",
    )
    view = param.ClassSelector(
        class_=xr.Dataset,
        allow_None=True,
        precedence=-1,
        doc="Denoised (else raw) data, referenced, lazy (dask).",
    )
    data_revision = param.Integer(
        default=0, precedence=-1, doc="Bumped whenever `view` changes (cheap key for plot streams)."
    )
    notice = param.String(default="", precedence=-1, doc="Last warning for the user (shown once).")
    # --- time --------------------------------------------------------------------------
    time_index = param.Integer(default=0, bounds=(0, None), doc="Index of the date shown.")
    # --- reference and inspection --------------------------------------------------------
    click_mode = param.Selector(
        default="inspect",
        objects=["inspect", "reference", "draw"],
        doc="What a click or box on a map does ('draw': nothing, so that "
        "drawing profile vertices leaves the pixel and reference alone).",
    )
    reference = param.Dict(
        default=None,
        allow_None=True,
        doc="None (as delivered), {'kind': 'point', 'x', 'y'} or "
        "{'kind': 'area', 'x', 'y', 'box': (x0, y0, x1, y1)}.",
    )
    pixel = param.NumericTuple(
        default=None,
        length=2,
        allow_None=True,
        doc="(x, y) of the inspected pixel (or box centre).",
    )
    pixel_box = param.NumericTuple(
        default=None,
        length=2,
        allow_None=True,
        doc="Half sides (x, y) of the inspected box; None = one pixel.",
    )
    # --- display -----------------------------------------------------------------------
    clim_mode = param.Selector(
        default="auto (fixed over time)",
        objects=["auto (fixed over time)", "auto (per date)", "manual"],
    )
    clim_percentile = param.Number(default=98.0, bounds=(50.0, 100.0))
    clim_symmetric = param.Boolean(default=True, doc="Colour limits symmetric about zero.")
    clim_manual = param.Range(default=(-10.0, 10.0), doc="Manual colour limits, mm.")
    show_hillshade = param.Boolean(default=True, doc="Hillshaded DEM under the maps.")
    show_mask = param.Boolean(default=True, doc="Grey out masked (invalid) pixels.")
    show_rate = param.Boolean(default=False, doc="Add the rate (velocity) map, mm/yr, as a layer.")
    rate_annual = param.Boolean(
        default=True, doc="Fit an annual term with the rate (pixel series, rate map)."
    )

    def __init__(
        self,
        *,
        catalog: str | None = None,
        frame: str | None = None,
        datasets: dict[str, xr.Dataset] | None = None,
        **params: Any,
    ) -> None:
        """Build the state for one session.

        Parameters
        ----------
        catalog
            Catalog path or None for the default catalog (a server-side setting only).
        frame
            Entry to show first; ``insar_ae.catalog.DEFAULT_FRAME`` when None.
        datasets
            In-memory frames by name, used *instead of* the catalog (notebooks, benchmarks).
        """
        super().__init__(**params)
        self._catalog = catalog
        self._datasets = dict(datasets or {})
        self._slices: OrderedDict[tuple, xr.Dataset] = OrderedDict()
        self._memo: dict[Any, Any] = {}
        #: The denoising part: model, device, time stride, runs and their results.
        self.denoising = DenoiseSession(self)
        #: The swath-profile analysis part: lines, crossings, candidates, pinned pixels.
        self.analysis = ProfileAnalysis(self)
        self.frames = self._frames_table()
        #: Catalog entries and files skipped as unreadable (shown in the Frame card).
        self.catalog_notices: list[str] = [] if self._datasets else catalog_notices(self._catalog)
        names = list(self.frames.index)
        if not names:
            raise InsarAEError(
                f"no usable catalog entry in {catalog_paths(self._catalog)}: "
                + "; ".join(self.catalog_notices)
            )
        self.param.frame.objects = names
        first = frame or (DEFAULT_FRAME if DEFAULT_FRAME in names else names[0])
        if first not in names:
            raise ValueError(f"frame={first!r} is not a catalog entry; expected one of {names}")
        with param.parameterized.discard_events(self):
            self.frame = first
        self._load_frame()

    # ---------------------------------------------------------------- catalog and loading
    def _frames_table(self) -> pd.DataFrame:
        if not self._datasets:
            return catalog_table(self._catalog)
        rows = {}
        for name, ds in self._datasets.items():
            t = pd.DatetimeIndex(ds["time"].values)
            rows[name] = {
                "description": ds.attrs.get("description", ds.attrs.get("title", name)),
                "region": "",
                "sensor": ds.attrs.get("sensor", ""),
                "start": t[0],
                "end": t[-1],
                "n_dates": len(t),
                "shape": (ds.sizes["y"], ds.sizes["x"]),
                "units": "mm",
                "has_truth": "deformation_true" in ds,
                "reference_point": ds.attrs.get("reference_point"),
            }
        return pd.DataFrame.from_dict(rows, orient="index")

    def _open(self, name: str) -> xr.Dataset:
        """The frame ``name``; when it cannot be read, a notice, and the frame shown stays."""
        if name in self._datasets:
            return prepare(self._datasets[name])
        try:
            return read_frame(name, self._catalog)
        except (InsarAEError, OSError) as err:
            if self.dataset is None:
                raise
            log.warning("frame %r could not be opened: %s", name, err)
            previous = self.dataset.attrs.get("catalog_entry", self.param.frame.objects[0])
            self.notice = f"Frame {name!r} could not be opened: {err}"
            self.frame = previous  # the picker shows the frame that stays
            return self.dataset

    def release(self) -> None:
        """Drop what this session holds, once it has ended: cancel its denoising, empty every
        part's caches and forget its data (the shared frames stay, other sessions use them)."""
        self.denoising.release()
        self.analysis.release()
        self._slices.clear()
        self._memo.clear()
        self._datasets.clear()
        with param.parameterized.discard_events(self):
            self.dataset = self.denoised = self.view = None

    @param.depends("frame", watch=True)
    def _load_frame(self) -> None:
        """Show the frame ``self.frame``: every part resets itself for it, in one nested batch
        whose innermost level is this frame part, so each watcher fires once: those of the
        frame part first (new data, view and date), then the denoising part's, then the
        analysis part's, each seeing every part already set for the new frame."""
        ds = self._open(self.frame)
        n = ds.sizes["time"]
        with (
            batch_call_watchers(self.analysis),
            batch_call_watchers(self.denoising),
            batch_call_watchers(self),
        ):
            self.analysis.new_frame(ds)
            cached = self.denoising.new_frame(ds)
            self.param.time_index.bounds = (0, n - 1)
            self.time_index = n - 1  # cumulative deformation shows best at the last date
            self.reference = None
            self.pixel = valid_pixel_near(ds)  # the centre, or the valid pixel nearest to it
            self.pixel_box = None
            self.dataset = ds
            self.denoised = cached

    @property
    def data(self) -> xr.Dataset:
        """Denoised data when available, else the raw frame (not re-referenced)."""
        return self.denoised if self.denoised is not None else self.dataset

    def _referenced(self, obj: xr.Dataset, ref: dict | None = None) -> xr.Dataset:
        ref = self.reference if ref is None else ref
        if ref is None:
            return obj
        if ref["kind"] == "point":
            return reference_to_point(obj, x=ref["x"], y=ref["y"])
        x0, y0, x1, y1 = ref["box"]
        return reference_to_area(
            obj, x=(x0 + x1) / 2, y=(y0 + y1) / 2, box=(abs(x1 - x0) / 2, abs(y1 - y0) / 2)
        )

    @param.depends("dataset", "denoised", "reference", watch=True)
    def _update_view(self) -> None:
        data = self.data
        if data is None:
            return
        lazy = as_lazy(data)  # dask views of the (shared) arrays: no per-session copy
        self._memo.clear()
        self._slices.clear()
        with batch_call_watchers(self):
            self.view = self._referenced(lazy)
            self.data_revision += 1

    # ------------------------------------------------------------------------ derived
    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.dataset["time"].values)

    def date_label(self, time_index: int | None = None) -> str:
        """'YYYY-MM-DD' of the date shown (or of ``time_index``)."""
        return f"{self.dates[self.time_index if time_index is None else time_index]:%Y-%m-%d}"

    @property
    def frame_info(self) -> dict[str, Any]:
        """The catalog row of the selected frame (description, start, end, n_dates, shape...)."""
        return dict(self.frames.loc[self.frame])

    @property
    def units_xy(self) -> str:
        return str(self.dataset["x"].attrs.get("units", ""))

    def layers(self) -> list[str]:
        """Layers to map, in display order: the cube variables, then the rate map if shown."""
        cubes = [v for v in LAYERS if self.view is not None and v in self.view]
        return cubes + ([RATE] if self.show_rate and cubes else [])

    def date_slice(self, time_index: int | None = None) -> xr.Dataset:
        """All layers at one date, referenced, computed, masked pixels NaN when show_mask (mm)."""
        i = self.time_index if time_index is None else int(time_index)
        key = self.slice_key(i)
        if key not in self._slices:
            data = self.data  # only what maps and profiles show (not the synthetic components)
            one = data[[v for v in (*LAYERS, "mask") if v in data]].isel(time=[i])
            one = one.compute() if any(one[v].chunks is not None for v in one.data_vars) else one
            one = self._referenced(one).isel(time=0)
            if self.show_mask and "mask" in one:
                mask = one["mask"].values
                one = one.assign({v: one[v].where(mask) for v in LAYERS if v in one})
            self._slices[key] = one
            while len(self._slices) > _SLICES:
                self._slices.popitem(last=False)
        self._slices.move_to_end(key)
        return self._slices[key]

    def slice_key(self, time_index: int | None = None) -> tuple:
        """What :meth:`date_slice` of that date depends on (a cache key for what is drawn from it)."""
        i = self.time_index if time_index is None else int(time_index)
        return (i, self.show_mask, id(self.data), repr(self.reference), self.data_revision)

    def map_slice(self, var: str, time_index: int | None = None) -> xr.DataArray:
        """2-D (y, x) map of ``var`` at a date (see :meth:`date_slice`), mm; the rate map
        (``var="rate"``, mm/yr) is the same at every date."""
        if var == RATE:
            return self.rate_map()
        return self.date_slice(time_index)[var]

    def rate_layer(self) -> str:
        """The cube the rate map is fitted to: denoised when available, else raw."""
        return (
            "deformation"
            if self.view is not None and "deformation" in self.view
            else "displacement"
        )

    def rate_map(self) -> xr.DataArray:
        """Per-pixel linear (+ annual, ``rate_annual``) rate of :meth:`rate_layer`, referenced,
        mm/yr, positive toward the satellite (``insar_ae.analysis.velocity``); masked pixels NaN
        when show_mask."""
        key = ("rate", self.rate_annual, self.show_mask)
        if key not in self._memo:
            rate = velocity(
                self.view[self.rate_layer()].transpose("time", "y", "x").compute(),
                annual=self.rate_annual,
            )
            if self.show_mask and "mask" in self.dataset:
                rate = rate.where(self.dataset["mask"].values)
            self._memo[key] = rate
        return self._memo[key]

    def rate_clim(self) -> tuple[float, float]:
        """Colour limits of the rate map, mm/yr: symmetric, the clim_percentile of |rate|."""
        key = ("rate_clim", self.rate_annual, self.show_mask, self.clim_percentile)
        if key not in self._memo:
            v = np.asarray(self.rate_map().values, dtype=float)
            v = np.abs(v[np.isfinite(v)])
            a = float(np.percentile(v, self.clim_percentile)) if v.size else 1.0
            self._memo[key] = (-(a or 1.0), a or 1.0)
        return self._memo[key]

    def mask_map(self) -> xr.DataArray | None:
        """(y, x) float map: 1 where masked (invalid), NaN elsewhere; None without a mask."""
        if "mask" not in self.dataset:
            return None
        return xr.where(self.dataset["mask"], np.nan, 1.0).astype(np.float32).compute()

    @param.depends(
        "clim_mode",
        "clim_percentile",
        "clim_symmetric",
        "clim_manual",
        "data_revision",
        "time_index",
        "show_mask",
    )
    def clim(self) -> tuple[float, float]:
        """Shared colour limits of every map (mm): manual, or a percentile of the raw
        displacement at the last date (fixed over time) or at the current date."""
        if self.clim_mode == "manual":
            lo, hi = self.clim_manual
            return (float(lo), float(hi))
        per_date = self.clim_mode == "auto (per date)"
        i = self.time_index if per_date else self.dataset.sizes["time"] - 1
        key = ("clim", i, self.clim_percentile, self.clim_symmetric, self.show_mask)
        if key not in self._memo:
            self._memo[key] = self._auto_clim(i)
        return self._memo[key]

    def _auto_clim(self, i: int) -> tuple[float, float]:
        values = np.asarray(self.map_slice("displacement", i).values)
        step = max(1, int(np.ceil(np.sqrt(values.size / _CLIM_SAMPLE))))
        v = values[::step, ::step]
        v = v[np.isfinite(v)]
        if v.size == 0:
            return (-1.0, 1.0)
        p = self.clim_percentile
        if self.clim_symmetric:
            a = float(np.percentile(np.abs(v), p)) or 1.0
            return (-a, a)
        lo, hi = (float(q) for q in np.percentile(v, [100.0 - p, p]))
        return (lo, hi) if hi > lo else (lo - 1.0, lo + 1.0)

    # ------------------------------------------------------------- reference and pixel
    def _set_reference(self, ref: dict) -> bool:
        try:  # check it on the first date only: the reference window must hold valid data
            self._referenced(self.data.isel(time=[0, -1]), ref)
        except InsarAEError as err:
            self.notice = f"Reference not changed: {err}"
            return False
        self.reference = ref
        return True

    def set_reference_point(self, x: float, y: float) -> bool:
        """Reference every date to the pixel nearest (x, y); False (and a notice) if invalid."""
        return self._set_reference({"kind": "point", "x": float(x), "y": float(y)})

    def set_reference_area(self, box: tuple[float, float, float, float]) -> bool:
        """Reference every date to the median of a box (x0, y0, x1, y1); False if invalid."""
        x0, y0, x1, y1 = (float(b) for b in box)
        return self._set_reference(
            {
                "kind": "area",
                "x": (x0 + x1) / 2,
                "y": (y0 + y1) / 2,
                "box": (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)),
            }
        )

    def clear_reference(self) -> None:
        """Back to the reference the data came with."""
        self.reference = None

    def reference_label(self) -> str:
        ref = self.reference
        if ref is None:
            rp = self.dataset.attrs.get("reference_point") or self.dataset.attrs.get(
                "reference_area"
            )
            return f"as delivered ({_rowcol(rp)})" if rp else "as delivered"
        if ref["kind"] == "point":
            return f"point x={self.coord(ref['x'])}, y={self.coord(ref['y'])}"
        x0, y0, x1, y1 = ref["box"]
        c = self.coord
        return f"area median, x {c(x0)}…{c(x1)}, y {c(y0)}…{c(y1)}"

    def coord(self, v: float) -> str:
        """A map coordinate for labels: whole metres, or 5 decimals of a degree (never 4.5e+06)."""
        return f"{v:.5f}" if self.units_xy.startswith("deg") else f"{v:.0f}"

    def on_tap(self, x: float | None, y: float | None) -> None:
        """A click on a map: inspect the pixel or set the reference point (click_mode)."""
        if x is None or y is None or self.click_mode == "draw":
            return
        if self.click_mode == "reference":
            self.set_reference_point(x, y)
        else:
            with batch_call_watchers(self):
                self.pixel = (float(x), float(y))
                self.pixel_box = None

    def on_box(self, bounds: tuple[float, float, float, float] | None) -> None:
        """A box drawn on a map: inspect its mean (inspect) or reference to it (reference)."""
        if bounds is None or self.click_mode == "draw":
            return
        x0, y0, x1, y1 = (float(b) for b in bounds)
        if self.click_mode == "reference":
            self.set_reference_area((x0, y0, x1, y1))
        else:
            with batch_call_watchers(self):
                self.pixel = ((x0 + x1) / 2, (y0 + y1) / 2)
                self.pixel_box = (abs(x1 - x0) / 2, abs(y1 - y0) / 2)


def _rowcol(rp: Any) -> str:
    """The delivered reference attribute, in x, y order (MintPy stores it as 'y,x')."""
    parts = [p.strip() for p in str(rp).split(",")]
    return f"x={parts[1]}, y={parts[0]}" if len(parts) == 2 else str(rp)
