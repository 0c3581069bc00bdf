"""The insar_ae dashboard: ``make serve``, or ``panel serve app/main.py --address 127.0.0.1``,
or, in a notebook, ``from app.main import Dashboard; Dashboard()``.

Under ``panel serve`` this script runs once per browser session, so every session gets its own
:class:`~app.state.DashboardState`; the frames read from the catalog are shared, read-only
(:mod:`app.frames`). :func:`app.sessions.serve` caps the open sessions, serves only this machine
unless remote clients are allowed deliberately, and frees a session's data when it ends
(docs/dashboard.md, *Serving and security*).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script by `panel serve app/main.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import holoviews as hv
import panel as pn
import param

from app.state import DashboardState
from app.views import (
    DenoiseControls,
    DisplayControls,
    ExportPanel,
    FramePicker,
    MapGrid,
    ProfileControls,
    ProfileView,
    ReferenceControls,
    TimeControls,
    TimeSeriesView,
)

__all__ = ["Dashboard", "create_app"]

pn.extension(notifications=True, sizing_mode="stretch_width")
hv.extension("bokeh", logo=False)

_ACCENT = "#1565c0"


#: Panel's Fast design without its Google web font (the page needs no network). Named "Fast":
#: Panel finds a design's bundled files by its class name.
_OfflineFast = type(
    "Fast",
    (pn.theme.Fast,),
    {"_resources": {**pn.theme.Fast._resources, "font": {}}, "__module__": __name__},
)


_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


class Dashboard(pn.viewable.Viewer):
    """One dashboard: a fresh state and its views. Display it in a notebook, or ``.servable()``."""

    state = param.ClassSelector(class_=DashboardState, doc="Session state (a new one by default).")

    def __init__(self, **params: Any) -> None:
        if params.get("state") is None:
            params["state"] = DashboardState()
        super().__init__(**params)
        s = self.state  # each view gets the part it draws: the frame part, or one of its parts
        self.frame = FramePicker(state=s)
        self.denoise = DenoiseControls(denoising=s.denoising)
        self.time = TimeControls(state=s)
        self.display = DisplayControls(state=s)
        self.reference = ReferenceControls(state=s)
        self.profile_controls = ProfileControls(analysis=s.analysis)
        self.export = ExportPanel(state=s)
        self.maps = MapGrid(state=s)
        self.timeseries = TimeSeriesView(analysis=s.analysis)
        self.profiles = ProfileView(analysis=s.analysis)
        s.param.watch(self._notify, "notice")

    def _notify(self, event: param.parameterized.Event) -> None:
        """Show a state warning (bad reference, no data at a pixel...) as a toast, once."""
        if event.new and pn.state.notifications is not None:
            pn.state.notifications.warning(event.new, duration=6000)
        if event.new:
            with param.parameterized.discard_events(self.state):
                self.state.notice = ""

    def sidebar(self) -> list[pn.viewable.Viewable]:
        """The control cards, top to bottom."""
        card = {"sizing_mode": "stretch_width", "margin": (5, 0)}
        return [
            pn.Card(self.frame, title="Frame", **card),
            pn.Card(self.denoise, title="Denoise", **card),
            pn.Card(self.time, title="Time", **card),
            pn.Card(self.display, title="Colour limits & display", **card),  # open: easy to find
            pn.Card(self.reference, title="Reference & inspection", **card),
            pn.Card(self.profile_controls, title="Profiles", **card),
            pn.Card(self.export, title="Export", **card),
        ]

    def main(self) -> list[pn.viewable.Viewable]:
        """Maps on top; the pixel time series beside the swath profile; offsets through time."""
        card = {"sizing_mode": "stretch_width", "margin": (5, 5)}
        return [
            pn.Card(
                self.maps, title="Maps of the date shown (linked: pan and zoom together)", **card
            ),
            pn.Row(
                pn.Card(self.timeseries, title="Pixel time series", **card),
                pn.Card(
                    self.profiles.profile_panel(), title="Swath profile and fitted offset", **card
                ),
                sizing_mode="stretch_width",
            ),
            pn.Card(
                self.profiles.offsets_panel(), title="Offset through time (active profile)", **card
            ),
        ]

    def template(self) -> pn.template.FastListTemplate:
        """The page served by ``panel serve``: title, sidebar controls, maps in the main area."""
        # One root per template area: every root added to a Bokeh document re-walks all models
        # already there, so a root per card made the first page of a session markedly slower.
        return pn.template.FastListTemplate(
            title="insar_ae",
            site="InSAR deformation explorer",
            sidebar=[pn.Column(*self.sidebar(), sizing_mode="stretch_width", margin=0)],
            main=[pn.Column(*self.main(), sizing_mode="stretch_width", margin=0)],
            sidebar_width=340,
            accent_base_color=_ACCENT,
            header_background=_ACCENT,
            main_layout=None,
            theme_toggle=False,
            # Offline: no web font from a CDN (system sans-serif fonts; widgets carry no
            # Tabler icons, which Bokeh loads from jsdelivr); every other asset is served here.
            font=_FONT,
            font_url="",
            design=_OfflineFast,
        )

    def servable(self, title: str | None = None, **kwargs: Any) -> pn.template.FastListTemplate:
        return self.template().servable(title=title or "insar_ae", **kwargs)

    def __panel__(self) -> pn.viewable.Viewable:
        """Notebook layout (no template): controls on the left, plots on the right."""
        return pn.Row(
            pn.Column(*self.sidebar(), width=340, sizing_mode="fixed"),
            pn.Column(*self.main(), sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )


def create_app() -> pn.template.FastListTemplate:
    """A new dashboard page (new state) for one browser session."""
    return Dashboard().template()


if pn.state.served:
    from app.sessions import serve

    serve(Dashboard)
