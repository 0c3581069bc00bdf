"""Linked maps of the current date: raw, denoised, removed noise, truth (HoloViews + datashader).

Each map is a ``hv.DynamicMap`` whose image is rasterized by datashader to the plot's current
range and pixel size (``RangeXY`` + ``PlotSize`` streams), so a 2000 x 2000 frame sends only a
screen-sized image to the browser and zooming re-rasterizes at full resolution. The rasterizing
is done in the DynamicMap callback (``datashader.Canvas.raster``, mean aggregation) rather than
by wrapping the map in ``holoviews.operation.datashader.rasterize``: same pixels, without
cloning the full frame through the operation pipeline at every update.

Speed (see bench/results/app.md): HoloViews draws and owns the plots (zoom, data, colour and
layout changes go through it); the frequent, small changes are applied in place to the Bokeh
models it drew (:mod:`app.views._plots`): a date switch replaces each map's image data, new
profile lines, the inspected pixel and the reference replace their sources' data. Each in-place
path falls back to a HoloViews redraw when the plots cannot be reached.

Maps share their axes (pan/zoom together) and the state's colour limits. Layers: hillshade of
the DEM (optional), the data, masked pixels in grey, profile lines, candidate faults, the
inspected pixel and the reference.

Mouse: a click inspects a pixel (or sets the reference, per ``state.click_mode``); the box-select
tool does the same for a box; on the first map the poly-draw tool (active by default) draws
profile lines: press and hold 300 ms for the first vertex, click further vertices,
double-click to end; drag a line to move it; select it and press Backspace to delete it.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial
from typing import Any

import colorcet as cc
import datashader
import holoviews as hv
import numpy as np
import panel as pn
import param
import xarray as xr
from bokeh.models import BasicTickFormatter, BoxZoomTool, NumeralTickFormatter
from holoviews.plotting.bokeh.annotation import LabelsPlot
from holoviews.plotting.bokeh.chart import PointPlot
from holoviews.plotting.bokeh.path import PathPlot, PolygonPlot
from holoviews.plotting.bokeh.raster import RasterPlot

from app.state import LAYERS, RATE, DashboardState
from app.views._plots import AFTER_MAPS, apply_updates, drawn_plots, watch

__all__ = ["CMAP", "MapGrid", "hillshade", "rasterize_to_screen"]

#: Diverging, perceptually uniform blue-white-red (colorcet CET-D1A); red = toward the satellite.
CMAP = cc.CET_D1A
_FRAME_WIDTH = 400
_PROFILE_COLOR = "#111111"
_CANDIDATE_COLOR = "#d81b60"
_REFERENCE_COLOR = "#ffeb3b"
_DATA_GROUPS = ("Data", "DataOverRelief")
#: Colour bar label of every data map.
CLABEL = "LOS mm, positive toward the satellite"
RATE_CLABEL = "LOS mm/yr, positive toward the satellite"
_RASTERS = 16  # screen rasters kept per session (4 layers x shown, prefetched and recent dates)
_PREFETCH_MS = (
    150  # delay after a date switch before the next date is prepared (after the browser painted)
)
_DateStream = hv.streams.Stream.define("DateStream", time_index=0)
_AnnotStream = hv.streams.Stream.define("AnnotStream", rev=0)


def hillshade(
    height: xr.DataArray, azimuth_deg: float = 315.0, altitude_deg: float = 45.0
) -> xr.DataArray:
    """Shaded relief of a DEM (display only), 0 (dark) .. 1 (lit), same grid as ``height``."""
    z = np.asarray(height.values, dtype=np.float64)
    fill = float(np.nanmean(z)) if np.isfinite(z).any() else 0.0
    x = np.asarray(height["x"].values, dtype=float)
    y = np.asarray(height["y"].values, dtype=float)
    scale = 111_000.0 if str(height["x"].attrs.get("units", "m")).startswith("deg") else 1.0
    dzdy, dzdx = np.gradient(np.nan_to_num(z, nan=fill), y * scale, x * scale)
    slope = np.arctan(np.hypot(dzdx, dzdy))
    aspect = np.arctan2(-dzdx, dzdy)
    az, alt = np.radians(azimuth_deg), np.radians(altitude_deg)
    shade = np.sin(alt) * np.cos(slope) + np.cos(alt) * np.sin(slope) * np.cos(az - aspect)
    return height.copy(data=np.clip(shade, 0.0, 1.0).astype(np.float32))


def _extent(da: xr.DataArray) -> tuple[float, float, float, float]:
    x = np.asarray(da["x"].values, dtype=float)
    y = np.asarray(da["y"].values, dtype=float)
    dx = abs(x[1] - x[0]) / 2 if x.size > 1 else 0.5
    dy = abs(y[1] - y[0]) / 2 if y.size > 1 else 0.5
    return (x.min() - dx, y.min() - dy, x.max() + dx, y.max() + dy)


def rasterize_to_screen(
    da: xr.DataArray,
    x_range: tuple | None,
    y_range: tuple | None,
    width: int | None,
    height: int | None,
) -> tuple[np.ndarray, tuple]:
    """Mean-aggregate a (y, x) grid onto a screen raster of the visible range (datashader).

    Returns the raster (rows from top to bottom) and its bounds (left, bottom, right, top).
    Never upsamples beyond the data's own resolution inside the range (zooming far in shows
    the native pixels).
    """
    left, b, r, t = _extent(da)
    xr_ = tuple(x_range) if x_range else (left, r)
    yr_ = tuple(y_range) if y_range else (b, t)
    ny, nx = da.sizes["y"], da.sizes["x"]
    fx = max(min((xr_[1] - xr_[0]) / max(r - left, 1e-300), 1.0), 0.0)
    fy = max(min((yr_[1] - yr_[0]) / max(t - b, 1e-300), 1.0), 0.0)
    w = int(max(min(width or _FRAME_WIDTH, max(nx * fx, 2)), 2))
    h = int(max(min(height or _FRAME_WIDTH, max(ny * fy, 2)), 2))
    cvs = datashader.Canvas(plot_width=w, plot_height=h, x_range=xr_, y_range=yr_)
    agg = cvs.raster(da, agg="mean")
    arr = np.asarray(agg.values)
    if agg["y"].values[0] < agg["y"].values[-1]:  # ascending rows -> top-down
        arr = arr[::-1]
    return arr, (xr_[0], yr_[0], xr_[1], yr_[1])


def _box(x0: float, y0: float, x1: float, y1: float) -> dict[str, list[float]]:
    return {"x": [x0, x1, x1, x0], "y": [y0, y0, y1, y1]}


#: Hover: plain coordinates (no 4.51856e+06) and the value in mm.
_TOOLTIPS = [("x", "$x{0.[0000]}"), ("y", "$y{0.[0000]}"), ("LOS mm", "@image{0.00}")]
_RATE_TOOLTIPS = [("x", "$x{0.[0000]}"), ("y", "$y{0.[0000]}"), ("LOS mm/yr", "@image{0.00}")]


def _register_styles() -> None:
    """Options of every map layer, by element group, set once per process (cheap updates)."""
    import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh option keywords)

    o = hv.opts
    hv.opts.defaults(
        o.Image(
            "Data",
            cmap=CMAP,
            colorbar=True,
            clabel=CLABEL,
            tools=["hover", "tap", "box_select"],
            clipping_colors={"NaN": "#00000000"},
            hover_tooltips=_TOOLTIPS,
        ),
        o.Image(
            "DataOverRelief",
            cmap=CMAP,
            colorbar=True,
            clabel=CLABEL,
            alpha=0.8,
            tools=["hover", "tap", "box_select"],
            clipping_colors={"NaN": "#00000000"},
            hover_tooltips=_TOOLTIPS,
        ),
        o.Image(
            "Rate",
            cmap=CMAP,
            colorbar=True,
            clabel=RATE_CLABEL,
            tools=["hover", "tap", "box_select"],
            clipping_colors={"NaN": "#00000000"},
            hover_tooltips=_RATE_TOOLTIPS,
        ),
        o.Image(
            "RateOverRelief",
            cmap=CMAP,
            colorbar=True,
            clabel=RATE_CLABEL,
            alpha=0.8,
            tools=["hover", "tap", "box_select"],
            clipping_colors={"NaN": "#00000000"},
            hover_tooltips=_RATE_TOOLTIPS,
        ),
        o.Image("Shade", cmap="gray", colorbar=False, clim=(0.0, 1.0), tools=[]),  # static
        o.Image(
            "Mask",
            cmap=["#7a7a7a"],
            alpha=0.6,
            colorbar=False,
            clipping_colors={"NaN": "#00000000"},
            tools=[],
        ),
        o.Path("Profile", color=_PROFILE_COLOR, line_width=3),
        o.Labels(
            "Profile",
            text_color=_PROFILE_COLOR,
            text_font_size="11pt",
            text_font_style="bold",
            text_align="right",
            text_baseline="bottom",
        ),
        o.Path("Candidate", color=_CANDIDATE_COLOR, line_width=2, line_dash="dashed"),
        o.Points("Crossing", marker="x", size=16, line_width=3, color=_CANDIDATE_COLOR, tools=[]),
        o.Path("Drawn", color=_PROFILE_COLOR, line_width=3),
        o.Polygons("Pixel", fill_alpha=0.0, line_color="black", line_width=2.5),
        o.Polygons(
            "Reference",
            fill_color=_REFERENCE_COLOR,
            fill_alpha=0.45,
            line_color="black",
            line_width=2,
        ),
        backend="bokeh",
    )


class MapGrid(pn.viewable.Viewer):
    """The linked maps of one session."""

    state = param.ClassSelector(class_=DashboardState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        _register_styles()
        s = self.state
        # The date is not in this stream: a date switch pushes new rasters straight into the
        # plots' image sources (_push_date); HoloViews redraws on zoom, data or colour changes.
        self._content = hv.streams.Params(
            s,
            [
                "data_revision",
                "show_mask",
                "clim_mode",
                "clim_percentile",
                "clim_symmetric",
                "clim_manual",
                "rate_annual",
            ],
        )
        self._screens: dict[str, tuple[hv.streams.RangeXY, hv.streams.PlotSize]] = {}
        # The date shown, updated silently on a fast date switch so that the data layer's
        # memoised raster is reused by annotation-only redraws (and redone on a new date).
        self._date = _DateStream(time_index=s.time_index)
        # Lines, labels and markers: DynamicMaps keyed by a silent revision, redrawn in place
        # (_push_annotations) when the profiles, the inspected pixel or the reference change.
        self._annot = _AnnotStream(rev=0)
        a = s.analysis  # the profile lines, crossings and candidate faults drawn on the maps
        self._cands = hv.streams.Params(parameters=[a.param.show_candidates, s.param.data_revision])
        self._key: tuple | None = None
        # Screen rasters of the last few dates and layers, and the date prepared ahead.
        self._rasters: OrderedDict[tuple, tuple[np.ndarray, tuple]] = OrderedDict()
        self._shown, self._prefetching = s.time_index, False
        self._pane = pn.pane.HoloViews(
            sizing_mode="stretch_width", min_height=400, linked_axes=True
        )
        # One banner over the maps: the date every map shows, the units and the reference.
        self._banner = pn.pane.Markdown(
            "", css_classes=["insar-map-date"], margin=(0, 10), styles={"font-size": "1.2em"}
        )
        s.param.watch(
            self._update_banner, ["time_index", "reference", "dataset"], precedence=AFTER_MAPS
        )
        self._update_banner()
        watch(
            [
                s.param.view,
                s.param.show_hillshade,
                s.param.show_mask,
                a.param.profiles_revision,
                s.param.frame,
                s.param.show_rate,
                s.param.rate_annual,
            ],
            self._maybe_rebuild,
        )
        s.param.watch(self._push_date, ["time_index"])
        watch(
            [
                a.param.profiles,
                s.param.pixel,
                s.param.pixel_box,
                s.param.reference,
                a.param.manual_crossings,
                a.param.swath_width,
            ],
            self._push_annotations,
        )
        self._maybe_rebuild()

    # ------------------------------------------------------------------------ building
    def _maybe_rebuild(self, *_: Any) -> bool:
        """Rebuild the maps when the frame, the layers or the static overlays change."""
        s = self.state
        key = (
            s.frame,
            tuple(s.layers()),
            s.show_hillshade,
            s.show_mask,
            s.analysis.profiles_revision,
            s.show_rate and s.rate_annual,
        )
        if key == self._key:
            return False
        self._key = key
        self._pane.object = self._layout()
        return True

    def _layout(self) -> hv.Layout:
        s = self.state
        ds = s.dataset
        self._extent = _extent(ds["height"])
        self._aspect = 1.0
        if str(ds["x"].attrs.get("units", "m")).startswith("deg"):
            self._aspect = 1.0 / max(np.cos(np.radians(float(ds["y"].mean()))), 0.1)
        # Relief and mask do not change with the date: drawn once, at most ~1000 px across
        # (display context only; the data layer is re-rasterized at every zoom).
        self._shade = self._static(hillshade(ds["height"]), "Shade") if s.show_hillshade else None
        mask = s.mask_map() if s.show_mask else None
        self._mask = self._static(mask, "Mask") if mask is not None else None
        maps = [self._map(var, draw=(i == 0)) for i, var in enumerate(s.layers())]
        return hv.Layout(maps).cols(2)  # axes are shared by default (linked pan/zoom)

    def _update_banner(self, *_: Any) -> None:
        s = self.state
        self._banner.object = (
            f"**{s.date_label()}** · date {s.time_index + 1} of {len(s.dates)} · "
            f"{CLABEL} · reference: {s.reference_label()}"
        )

    def _push_date(self, *_: Any) -> None:
        """Show the current date: re-rasterize each map at its current range and size and
        replace the data of its image source (no HoloViews re-render: a 2000 x 2000 date
        switch then costs one regrid per map). Falls back to re-running the DynamicMaps when
        the plots are not reachable."""
        s = self.state
        self._date.update(time_index=s.time_index)  # silent: no HoloViews redraw
        if self._maybe_rebuild():  # new plots are drawn at the current date anyway
            return
        try:
            targets = [
                (rp.current_frame.vdims[0].name, rp)
                for rp in drawn_plots(self._pane, RasterPlot, _DATA_GROUPS)
            ]
        except Exception:  # Panel/HoloViews internals changed: take the slow, safe path
            targets = []
        if not targets or any(
            var not in self._screens or var not in s.layers() for var, _ in targets
        ):
            hv.streams.Stream.trigger([self._date])
            return
        lo, hi = s.clim()
        updates = []
        for var, rp in targets:
            rng, size = self._screens[var]
            arr, (left, b, r, t) = self._raster(
                var, s.time_index, rng.x_range, rng.y_range, size.width, size.height
            )
            updates.append(
                (
                    rp.handles["source"],
                    {
                        "data": {  # Bokeh images start at the bottom row
                            "image": [arr[::-1]],
                            "x": [left],
                            "y": [b],
                            "dw": [r - left],
                            "dh": [t - b],
                        }
                    },
                )
            )
            mapper = rp.handles.get("color_mapper")
            if mapper is not None and (mapper.low, mapper.high) != (lo, hi):
                updates.append((mapper, {"low": lo, "high": hi}))
        apply_updates(updates)
        self._prefetch_soon()

    def _raster(
        self,
        var: str,
        i: int,
        x_range: tuple | None,
        y_range: tuple | None,
        width: int | None,
        height: int | None,
    ) -> tuple[np.ndarray, tuple]:
        """The screen raster of ``var`` on date ``i`` (:func:`rasterize_to_screen`), kept for
        the last few (date, layer, range, size): a date prepared ahead is only sent."""
        s = self.state
        key = (
            (var, s.slice_key(i), x_range, y_range, width, height)
            if var != RATE
            else (var, s.rate_annual, s.show_mask, s.data_revision, x_range, y_range, width, height)
        )
        if key in self._rasters:
            self._rasters.move_to_end(key)
            return self._rasters[key]
        out = self._rasters[key] = rasterize_to_screen(
            s.map_slice(var, i), x_range, y_range, width, height
        )
        while len(self._rasters) > _RASTERS:
            self._rasters.popitem(last=False)
        return out

    def _prefetch_soon(self) -> None:
        """On a served page, prepare the next date in the direction of the last step shortly
        after this switch (the player and the arrow buttons step one date at a time)."""
        s = self.state
        step = 1 if s.time_index >= self._shown else -1
        self._shown = s.time_index
        if pn.state.curdoc is None or self._prefetching:
            return
        self._prefetching = True
        pn.state.curdoc.add_timeout_callback(partial(self._prefetch, step), _PREFETCH_MS)

    def _prefetch(self, step: int) -> None:
        self._prefetching = False
        s = self.state
        i = s.time_index + step
        if not 0 <= i < len(s.dates):
            return
        for var in s.layers():
            if var != RATE and var in self._screens:
                rng, size = self._screens[var]
                self._raster(var, i, rng.x_range, rng.y_range, size.width, size.height)

    def _push_annotations(self, *_: Any) -> None:
        """Redraw lines, labels and markers in place (their sources' data only)."""
        self._annot.update(rev=self._annot.rev + 1)  # silent; later full redraws see the change
        builders = (
            (PathPlot, "Profile", self._lines_element),
            (LabelsPlot, "Profile", self._labels_element),
            (PointPlot, "Crossing", self._crossings_element),
            (PolygonPlot, "Pixel", self._pixel_element),
            (PolygonPlot, "Reference", self._reference_element),
        )
        try:
            found = [
                (p, make)
                for cls, group, make in builders
                for p in drawn_plots(self._pane, cls, (group,))
                if type(p) is cls
            ]
            updates = [
                (p.handles["source"], {"data": p.get_data(make(), {}, {})[0]}) for p, make in found
            ]
        except Exception:  # Panel/HoloViews internals changed: take the slow, safe path
            found = []
        if found:
            apply_updates(updates)
        else:
            hv.streams.Stream.trigger([self._annot])

    def _map(self, var: str, *, draw: bool) -> hv.DynamicMap:
        """One map: layers are option-free DynamicMaps styled by group (see _register_styles),
        collated into one DynamicMap, so a date switch re-runs and re-styles only the data."""
        s = self.state
        title = LAYERS[var]
        if var == RATE:
            fit = "linear + annual" if s.rate_annual else "linear"
            title = f"Rate of the {'denoised' if s.rate_layer() == 'deformation' else 'raw'} data ({fit} fit, mm/yr)"
        layers = []
        if self._shade is not None:
            layers.append(self._shade)
        rng, size = hv.streams.RangeXY(), hv.streams.PlotSize()
        self._screens[var] = (rng, size)
        data = hv.DynamicMap(
            partial(self._image, var), streams=[self._content, self._date, rng, size]
        )
        layers.append(data)
        if self._mask is not None:
            layers.append(self._mask)
        if draw:
            layers.append(self._editable_lines())
        else:
            layers.append(hv.DynamicMap(self._lines_element, streams=[self._annot]))
        layers.append(hv.DynamicMap(self._labels_element, streams=[self._annot]))
        layers.append(hv.DynamicMap(self._crossings_element, streams=[self._annot]))
        layers.append(hv.DynamicMap(self._candidates_element, streams=[self._cands]))
        layers.append(hv.DynamicMap(self._pixel_element, streams=[self._annot]))
        layers.append(hv.DynamicMap(self._reference_element, streams=[self._annot]))
        # Per-map plot options ride on a static, empty element (propagated to the overlay plot):
        # options on the DynamicMap itself would re-style the whole overlay on every date.
        # Plain tick numbers (no 4.51856e+06): metres with thousands separators; degrees with
        # as many decimals as the tick spacing needs (a fixed "0.00" labelled 150.945 as 150.95).
        fmt = (
            BasicTickFormatter(use_scientific=False)
            if self._aspect != 1.0
            else NumeralTickFormatter(format="0,0")
        )
        # The frame's shape is fixed from the data extent (square pixels on the ground) rather
        # than with data_aspect, which makes HoloViews walk the whole figure on every update.
        left, b, r, t = self._extent
        height = int(
            np.clip(_FRAME_WIDTH * (t - b) * self._aspect / max(r - left, 1e-300), 150, 800)
        )
        zoom = BoxZoomTool(match_aspect=True)
        layers.append(
            hv.Path([], group="Frame").opts(
                title=title,
                frame_width=_FRAME_WIDTH,
                frame_height=height,
                xformatter=fmt,
                yformatter=fmt,
                tools=[zoom],
                default_tools=["pan", "wheel_zoom", "save", "reset"],
                xlabel="longitude (°)" if self._aspect != 1.0 else f"x ({s.units_xy})",
                ylabel="latitude (°)" if self._aspect != 1.0 else f"y ({s.units_xy})",
                active_tools=["poly_draw", "wheel_zoom"] if draw else ["pan", "wheel_zoom"],
            )
        )
        # transient: a second click on the same spot (in the other click mode) still counts
        tap = hv.streams.Tap(source=data, x=None, y=None, transient=True)
        tap.add_subscriber(lambda x, y: s.on_tap(x, y))
        box = hv.streams.BoundsXY(source=data, bounds=None, transient=True)
        box.add_subscriber(lambda bounds: s.on_box(bounds))
        return hv.Overlay(layers).collate()

    def _editable_lines(self) -> hv.Path:
        s = self.state
        path = hv.Path(
            list(s.analysis.profiles), group="Drawn"
        )  # its source belongs to the draw tool
        draw = hv.streams.PolyDraw(
            source=path,
            drag=True,
            show_vertices=True,
            vertex_style={"size": 8, "fill_color": "white", "line_color": _PROFILE_COLOR},
        )
        edit = hv.streams.PolyEdit(
            source=path, shared=True, vertex_style={"size": 8, "fill_color": _REFERENCE_COLOR}
        )

        def _sync(data: dict | None) -> None:
            if data is not None:
                s.analysis.set_profiles_from_drawing(data.get("xs", []), data.get("ys", []))

        draw.add_subscriber(_sync)
        edit.add_subscriber(_sync)
        return path

    # ------------------------------------------------------------------------ elements
    def _image(
        self,
        var: str,
        time_index: int = 0,
        x_range: tuple | None = None,
        y_range: tuple | None = None,
        width: int | None = None,
        height: int | None = None,
        **_: Any,
    ) -> hv.Image:
        s = self.state  # the date comes from the state (time_index only keys the memo)
        arr, bounds = self._raster(var, s.time_index, x_range, y_range, width, height)
        rate = var == RATE  # not a date map: its own limits, and the date switch skips it
        vdim = hv.Dimension(
            var,
            label=LAYERS[var],
            unit="mm/yr" if rate else "mm",
            range=s.rate_clim() if rate else s.clim(),
        )
        group = ("Rate" if rate else "Data") + ("" if self._shade is None else "OverRelief")
        return hv.Image(
            arr, bounds=bounds, kdims=["x", "y"], vdims=[vdim], extents=self._extent, group=group
        )

    def _static(self, da: xr.DataArray, group: str) -> hv.Image:
        scale = min(1.0, 1000 / max(da.sizes["x"], da.sizes["y"]))
        arr, bounds = rasterize_to_screen(
            da, None, None, int(da.sizes["x"] * scale) or 1, int(da.sizes["y"] * scale) or 1
        )
        return hv.Image(arr, bounds=bounds, kdims=["x", "y"], vdims=[group.lower()], group=group)

    def _lines_element(self, **_: Any) -> hv.Path:
        return hv.Path(list(self.state.analysis.profiles), group="Profile")

    def _labels_element(self, **_: Any) -> hv.Labels:
        pts = [
            (float(p[0, 0]), float(p[0, 1]), f"P{k + 1}")
            for k, p in enumerate(self.state.analysis.profiles)
        ]
        return hv.Labels(pts, kdims=["x", "y"], vdims=["text"], group="Profile")

    def _crossings_element(self, **_: Any) -> hv.Points:
        """Where each profile crosses its fault (the x0 its offsets are fitted at)."""
        a = self.state.analysis
        pts = [p for p in (a.crossing_point(k) for k in range(len(a.profiles))) if p is not None]
        return hv.Points(pts, kdims=["x", "y"], group="Crossing")

    def _candidates_element(self, show_candidates: bool, **_: Any) -> hv.Path:
        return hv.Path(
            self.state.analysis.candidates() if show_candidates else [], group="Candidate"
        )

    def _pixel_element(self, **_: Any) -> hv.Polygons:
        """The inspected pixel (an open square) or box."""
        s = self.state
        if s.pixel is None:
            return hv.Polygons([], group="Pixel")
        h = self._marker_half()
        hx, hy = s.pixel_box if s.pixel_box is not None else (h, h)
        return hv.Polygons(
            [_box(s.pixel[0] - hx, s.pixel[1] - hy, s.pixel[0] + hx, s.pixel[1] + hy)],
            group="Pixel",
        )

    def _reference_element(self, **_: Any) -> hv.Polygons:
        """The reference point (a yellow square) or area."""
        ref = self.state.reference
        h = self._marker_half()
        if ref is None:  # the reference the data came with ("y,x" in coordinate units), if known
            rp = str(self.state.dataset.attrs.get("reference_point", "") or "").split(",")
            try:
                ry, rx = float(rp[0]), float(rp[1])
            except (ValueError, IndexError):
                return hv.Polygons([], group="Reference")
            return hv.Polygons([_box(rx - h, ry - h, rx + h, ry + h)], group="Reference")
        corners = (
            ref["box"]
            if ref["kind"] == "area"
            else (ref["x"] - h, ref["y"] - h, ref["x"] + h, ref["y"] + h)
        )
        return hv.Polygons([_box(*corners)], group="Reference")

    def _marker_half(self) -> float:
        left, b, r, t = self._extent
        return max(r - left, t - b) / 120  # markers about 1.7 % of the frame across

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self._banner, self._pane, sizing_mode="stretch_width")
