"""Panel views of the dashboard: pn.viewable.Viewer classes that draw a DashboardState."""

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
