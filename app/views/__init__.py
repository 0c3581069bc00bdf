"""Panel views of the dashboard: pn.viewable.Viewer classes, each given the part of the session
state it draws (the frame part ``DashboardState``, ``state.denoising`` or ``state.analysis``).

Every plot is drawn on a 2-D canvas, not WebGL (HoloViews' default): the maps are images,
which Bokeh never draws with WebGL, and the series hold a few hundred points, so WebGL only
adds a copy of each plot's GL canvas on every repaint, which is what a date switch costs
most in a browser without a GPU (see bench/results/app.md and docs/decisions.md).
"""

from holoviews.plotting.bokeh import BokehRenderer

BokehRenderer.webgl = False

from app.views.controls import (
    DenoiseControls,
    DisplayControls,
    FramePicker,
    ProfileControls,
    ReferenceControls,
    TimeControls,
)
from app.views.export import ExportPanel
from app.views.maps import MapGrid
from app.views.profiles import ProfileView
from app.views.timeseries import TimeSeriesView

__all__ = [
    "DenoiseControls",
    "DisplayControls",
    "ExportPanel",
    "FramePicker",
    "MapGrid",
    "ProfileControls",
    "ProfileView",
    "ReferenceControls",
    "TimeControls",
    "TimeSeriesView",
]
