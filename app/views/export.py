"""Downloads from the page: current map (PNG), profiles and time series (CSV), denoised cube
(NetCDF / GeoTIFF via ``insar_ae.io.write_frame``). File names are made on the server from the
catalog entry name and the date; nothing the browser sends is used as a path."""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import panel as pn
import param

from app.state import LAYERS, RATE, DashboardState
from app.views._plots import after_maps
from app.views.maps import CMAP

__all__ = ["EXPORT_DIR_ENV", "EXPORT_ROUTE", "ExportPanel", "public_attrs", "render_map_png"]

#: Folder served over plain HTTP by ``panel serve --static-dirs exports=<folder>`` (``make serve``
#: sets both): large exports are written there under an unguessable name and downloaded as a
#: file, streamed by the web server, instead of base64 through the session's websocket.
EXPORT_DIR_ENV = "INSAR_AE_EXPORT_DIR"
EXPORT_ROUTE = "exports"


def export_dir() -> Path | None:
    """The HTTP-served export folder, or None (then downloads go through the websocket)."""
    d = os.environ.get(EXPORT_DIR_ENV, "")
    return Path(d) if d and Path(d).is_dir() else None


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "frame"


_ABS_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\s\\/\"';,]+)+[\\/]([^\s\\/\"';,]+)")


def public_attrs(ds: Any, frame: str) -> Any:
    """A copy of ``ds`` whose attributes name no server path: every absolute path in a text
    attribute becomes its file name; ``source`` says the catalog entry."""
    out = ds.copy()

    def clean(attrs: dict) -> dict:
        return {
            k: _ABS_PATH.sub(lambda m: m.group(1), v) if isinstance(v, str) else v
            for k, v in attrs.items()
        }

    out.attrs = clean(out.attrs)
    if "source" in ds.attrs:
        out.attrs["source"] = f"insar_ae catalog entry {frame!r} ({out.attrs['source']})"
    for v in out.variables:
        out[v].attrs = clean(out[v].attrs)
    return out


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


def render_map_png(state: DashboardState, var: str, *, dpi: int = 120) -> bytes:
    """The map of ``var`` at the current date as PNG bytes (same colour map and limits as shown)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    da = state.map_slice(var)
    x, y = np.asarray(da["x"].values), np.asarray(da["y"].values)
    lo, hi = state.rate_clim() if var == RATE else state.clim()
    fig = Figure(figsize=(7, 6), dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    extent = (x[0], x[-1], y[-1], y[0]) if y[0] > y[-1] else (x[0], x[-1], y[0], y[-1])
    origin = "upper" if y[0] > y[-1] else "lower"
    im = ax.imshow(
        np.asarray(da.values),
        extent=extent,
        origin=origin,
        cmap=ListedColormap(CMAP),
        vmin=lo,
        vmax=hi,
        interpolation="nearest",
    )
    for k, line in enumerate(state.analysis.profiles):
        ax.plot(line[:, 0], line[:, 1], color="k", lw=2)
        ax.annotate(f"P{k + 1}", line[0], fontweight="bold")
    if state.reference is not None and state.reference["kind"] == "point":
        ax.plot(state.reference["x"], state.reference["y"], "s", mfc="#ffeb3b", mec="k", ms=8)
    ax.set_aspect("equal")
    ax.set_xlabel(f"x ({state.units_xy})")
    ax.set_ylabel(f"y ({state.units_xy})")
    ax.set_title(
        f"{state.frame} · {LAYERS[var]} · {state.date_label()}\nreference: {state.reference_label()}",
        fontsize=9,
    )
    fig.colorbar(
        im,
        ax=ax,
        label=f"LOS {'mm/yr' if var == RATE else 'mm'}, positive toward the satellite",
        shrink=0.85,
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


class ExportPanel(pn.viewable.Viewer):
    """Download buttons (pn.widgets.FileDownload with callbacks)."""

    state = param.ClassSelector(class_=DashboardState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        s = self.state
        self._layer = pn.widgets.Select(label="Map to export", options=self._layer_options())
        s.param.watch(
            lambda *_: setattr(self._layer, "options", self._layer_options()), ["view", "show_rate"]
        )
        kw = {"color": "primary", "variant": "outline", "sizing_mode": "stretch_width"}
        self._png = pn.widgets.FileDownload(
            callback=self._png_bytes, filename="map.png", label="Map (PNG)", **kw
        )
        self._ts = pn.widgets.FileDownload(
            callback=self._ts_csv, filename="timeseries.csv", label="Time series (CSV)", **kw
        )
        self._prof = pn.widgets.FileDownload(
            callback=self._profiles_csv, filename="profiles.csv", label="Profiles (CSV)", **kw
        )
        self._offs = pn.widgets.FileDownload(
            callback=self._offsets_csv,
            filename="offsets.csv",
            label="Offsets through time (CSV)",
            **kw,
        )
        self._cmp = pn.widgets.FileDownload(
            callback=self._compare_csv,
            filename="comparison.csv",
            label="Pinned pixels A, B, B - A (CSV)",
            **kw,
        )
        # The cube is written (compressed) first, so its size is known before the download
        # starts; the download then sends that file.
        self._nc_prepare = pn.widgets.Button(
            label="Prepare denoised cube (NetCDF, compressed)",
            css_classes=["insar-nc-prepare"],
            **kw,
        )
        self._nc_prepare.on_click(self._prepare_netcdf)
        self._nc = pn.widgets.FileDownload(
            filename="denoised.nc",
            label="Download NetCDF",
            disabled=True,
            css_classes=["insar-nc-download"],
            **kw,
        )
        self._nc_size = pn.pane.Markdown(
            "",
            css_classes=["insar-nc-size"],
            margin=(0, 10),
            styles={"font-size": "0.85em", "color": "#666"},
        )
        self._nc_link = pn.pane.HTML(
            "", css_classes=["insar-nc-link"], margin=(0, 10), visible=False
        )
        self._tmpdir: str | None = None
        self._served: Path | None = None  # this session's folder under the HTTP export folder
        self._tif = pn.widgets.FileDownload(
            callback=lambda: self._cube(
                "geotiff", ".tif", {"what": "stack", "variable": "deformation"}
            ),
            filename="denoised.tif",
            label="Denoised cube (GeoTIFF)",
            **kw,
        )
        a = s.analysis
        after_maps(
            [s.param.frame, s.param.time_index, s.param.view, a.param.profiles, a.param.pins],
            self._names,
        )
        self._layer.param.watch(self._names, "value")
        s.param.watch(self._reset_netcdf, ["frame", "view"])
        self._names()
        self._reset_netcdf()

    def _layer_options(self) -> dict[str, str]:
        return {LAYERS[v]: v for v in self.state.layers()}

    def _names(self, *_: Any) -> None:
        s = self.state
        stem = f"{_safe(s.frame)}_{s.date_label()}"
        self._png.filename = f"{stem}_{self._layer.value or 'displacement'}.png"
        self._ts.filename = f"{_safe(s.frame)}_timeseries.csv"
        self._prof.filename = f"{stem}_profiles.csv"
        self._offs.filename = f"{_safe(s.frame)}_offsets.csv"
        self._nc.filename = f"{_safe(s.frame)}_denoised.nc"
        self._tif.filename = f"{_safe(s.frame)}_denoised.tif"
        ready = s.denoised is not None
        self._tif.disabled = self._nc_prepare.disabled = not ready
        self._prof.disabled = self._offs.disabled = not s.analysis.profiles
        self._cmp.filename = f"{_safe(s.frame)}_pixels_compared.csv"
        self._cmp.disabled = len(s.analysis.pins) < 2

    # ------------------------------------------------------------------ callbacks
    def _png_bytes(self) -> io.BytesIO:
        return io.BytesIO(render_map_png(self.state, self._layer.value or "displacement"))

    def _ts_csv(self) -> io.StringIO:
        s = self.state
        df = s.analysis.pixel_series()
        x, y = s.pixel
        where = (
            f"box half sides {s.pixel_box[0]:.6g} x {s.pixel_box[1]:.6g} {s.units_xy} (mean)"
            if s.pixel_box is not None
            else "nearest pixel"
        )
        head = (
            f"# frame={s.frame}; x={x:.6g} y={y:.6g} {s.units_xy}; {where}; "
            f"reference={s.reference_label()}; units=mm, LOS, positive toward the satellite\n"
        )
        return io.StringIO(head + df.add_suffix("_mm").to_csv(date_format="%Y-%m-%d"))

    def _profiles_csv(self) -> io.StringIO:
        s = self.state
        head = (
            f"# frame={s.frame}; reference={s.reference_label()}; "
            f"swath width={s.analysis.swath_width:.6g} "
            f"{s.units_xy}; units=mm, LOS, positive toward the satellite\n"
        )
        return io.StringIO(head + s.analysis.profiles_table().to_csv(index=False))

    def _offsets_csv(self) -> io.StringIO:
        s, a = self.state, self.state.analysis
        head = f"# frame={s.frame}; reference={s.reference_label()}; model={a.offset_model}; units=mm\n"
        return io.StringIO(head + a.offsets_table().to_csv(index=False, date_format="%Y-%m-%d"))

    def _compare_csv(self) -> io.StringIO:
        """A, B, B - A with its per-date 1-sigma, and the rate of each (header lines)."""
        s = self.state
        res = s.analysis.comparison()
        if res is None:
            return io.StringIO("# pin two pixels first\n")
        (xa, ya), (xb, yb) = res["points"]["A"], res["points"]["B"]
        lines = [
            f"# frame={s.frame}; layer={res['layer']}; A: x={s.coord(xa)} y={s.coord(ya)}; "
            f"B: x={s.coord(xb)} y={s.coord(yb)} {s.units_xy}; reference={s.reference_label()}; "
            "units=mm, LOS, positive toward the satellite"
        ]
        for name, fit in res["fits"].items():
            if fit is not None:
                lines.append(
                    f"# rate {name}: {fit.rate_mm_yr:.3f} +- {fit.rate_sigma_mm_yr:.3f} mm/yr "
                    f"({'linear + annual' if fit.annual else 'linear'} fit, 1 sigma)"
                )
        return io.StringIO("\n".join(lines) + "\n" + res["table"].to_csv(date_format="%Y-%m-%d"))

    def _cube(self, fmt: str, suffix: str, kw: dict[str, Any]) -> io.BytesIO:
        """The denoised cube as shown (current reference) written by insar_ae.io.write_frame:
        NetCDF with every layer, GeoTIFF with one band per date of ``deformation``; no
        server path in its attributes."""
        from insar_ae.io import write_frame

        s = self.state
        with tempfile.TemporaryDirectory(prefix="insar_ae_export_") as tmp:
            path = write_frame(
                public_attrs(s.view, s.frame), Path(tmp) / f"export{suffix}", format=fmt, **kw
            )
            return io.BytesIO(Path(path).read_bytes())

    def write_netcdf(self) -> Path:
        """Write the denoised cube as shown (compressed NetCDF, every layer) to this session's
        export folder (under the HTTP-served one when there is one, in a folder named by a
        random token); returns the file (the previous one is removed)."""
        from insar_ae.io import write_frame

        s = self.state
        served = export_dir()
        if self._served is not None:
            shutil.rmtree(self._served, ignore_errors=True)
            self._served = None
        if served is not None:
            folder = served / secrets.token_urlsafe(16)
            folder.mkdir()
            self._served = folder
        else:
            if self._tmpdir is None:
                self._tmpdir = tempfile.mkdtemp(prefix="insar_ae_export_")
            folder = Path(self._tmpdir)
        if pn.state.curdoc is not None:
            pn.state.on_session_destroyed(
                lambda _ctx, d=str(folder): shutil.rmtree(d, ignore_errors=True)
            )
        target = folder / f"{_safe(s.frame)}_denoised.nc"
        return write_frame(
            public_attrs(s.view, s.frame), target, format="netcdf", compress=True, overwrite=True
        )

    def _reset_netcdf(self, *_: Any) -> None:
        """New data or reference: the prepared file is stale, prepare it again."""
        self._nc.disabled, self._nc.file, self._nc.label = True, None, "Download NetCDF"
        self._nc.visible, self._nc_link.visible = True, False
        self._nc_size.object = (
            "" if self.state.denoised is not None else "Denoise first to export the cube."
        )

    def _prepare_netcdf(self, _: Any = None) -> None:
        self._nc_prepare.loading = True
        try:
            path = self.write_netcdf()
        finally:
            self._nc_prepare.loading = False
        size = _size(os.path.getsize(path))
        if self._served is not None:  # a plain HTTP file download, streamed by the server
            href = f"{EXPORT_ROUTE}/{self._served.name}/{path.name}"
            self._nc_link.object = (
                f'<a href="{href}" download="{path.name}" class="insar-nc-href" '
                f'style="font-weight:600">Download {path.name} ({size})</a>'
            )
            self._nc_link.visible, self._nc.visible = True, False
        else:  # no HTTP export folder: through the websocket
            self._nc.file = str(path)
            self._nc.filename = path.name
            self._nc.label = f"Download NetCDF ({size})"
            self._nc.disabled, self._nc.visible = False, True
        self._nc_size.object = (
            f"**{path.name}**: {_size(os.path.getsize(path))}, zlib-compressed, every layer, "
            f"reference {self.state.reference_label()}."
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            self._layer,
            self._png,
            self._ts,
            self._cmp,
            self._prof,
            self._offs,
            self._nc_prepare,
            self._nc_size,
            self._nc,
            self._nc_link,
            self._tif,
            sizing_mode="stretch_width",
        )
