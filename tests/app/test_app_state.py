"""Dashboard state without a browser: set parameters, assert the derived values.

Frames are small in-memory ``insar_ae.testing.tiny_frame`` scenes with a known truth: a step
across x = mean(x) growing by 1 mm per date on the east side (positive toward the satellite).
"""

from __future__ import annotations

import io
import re
import time

import numpy as np
import pandas as pd
import pytest

from app.state import LAYERS, DashboardState
from insar_ae.testing import tiny_frame

STEP_MM = 1.0  # tiny_frame: east side moves by 1 mm per date


@pytest.fixture()
def frames():
    return {
        "tiny": tiny_frame(0, n_time=12, ny=32, nx=40),
        "other": tiny_frame(1, n_time=10, ny=24, nx=30, step_mm_per_date=2.0),
    }


@pytest.fixture()
def state(frames):
    return DashboardState(datasets=frames, frame="tiny")


def across_the_step(s: DashboardState) -> np.ndarray:
    """A west -> east line across the tiny frame's step (x = mean x)."""
    x, y = s.dataset["x"].values, s.dataset["y"].values
    return np.array([[x[2], y[len(y) // 2]], [x[-3], y[len(y) // 2]]])


def wait_for(job_state: DashboardState, timeout: float = 600.0) -> None:
    t_end = time.monotonic() + timeout
    while not job_state.denoising.poll_denoise():
        assert time.monotonic() < t_end, "denoising did not finish in time"
        time.sleep(0.05)


# --------------------------------------------------------------------------- frames and time
def test_opens_the_chosen_frame_on_its_last_date(state):
    assert state.frame == "tiny"
    assert state.time_index == state.dataset.sizes["time"] - 1 == 11
    assert state.date_label() == "2020-05-12"  # 2020-01-01 + 11 x 12 days
    assert state.layers() == ["displacement", "deformation_true"]
    assert list(state.frames.index) == ["tiny", "other"]


def test_switching_frame_resets_date_reference_and_profiles(state):
    state.set_reference_point(*state.pixel)
    state.analysis.add_profile(across_the_step(state))
    state.frame = "other"
    assert state.dataset.sizes["x"] == 30
    assert state.time_index == 9 and state.reference is None and state.analysis.profiles == []
    assert state.param.time_index.bounds == (0, 9)


def test_catalog_entries_only_are_offered(test_catalog):
    s = DashboardState(catalog=str(test_catalog), frame="test-small-fault")
    assert "test-small-fault" in s.param.frame.objects
    assert s.dataset.sizes["x"] == 64 and "deformation_true" in s.layers()
    with pytest.raises(ValueError, match="not a catalog entry"):
        DashboardState(catalog=str(test_catalog), frame="/etc/passwd")


# --------------------------------------------------------------------------- maps and colours
def test_map_of_a_date_equals_the_lazily_referenced_cube(state):
    state.set_reference_point(*state.pixel)
    for i in (0, 5, 11):
        fast = state.map_slice("displacement", i).values
        lazy = state.view["displacement"].isel(time=i).values
        np.testing.assert_allclose(fast, lazy, atol=1e-6)


def test_symmetric_percentile_colour_limits_follow_the_data(state):
    lo, hi = state.clim()
    last = np.abs(state.map_slice("displacement", 11).values)
    assert lo == -hi and hi == pytest.approx(np.nanpercentile(last, 98), rel=1e-6)
    state.clim_mode, state.clim_manual = "manual", (-3.0, 5.0)
    assert state.clim() == (-3.0, 5.0)
    state.clim_mode, state.clim_symmetric = "auto (per date)", False
    state.time_index = 0
    lo0, hi0 = state.clim()
    assert hi0 - lo0 < hi - lo  # first date: only noise


def test_masked_pixels_are_hidden_only_when_asked(frames):
    ds = frames["tiny"].copy()
    mask = np.ones((ds.sizes["y"], ds.sizes["x"]), bool)
    mask[:5, :5] = False
    ds["mask"] = (("y", "x"), mask)
    s = DashboardState(datasets={"masked": ds})
    assert np.isnan(s.map_slice("displacement").values[:5, :5]).all()
    assert s.mask_map().values[0, 0] == 1.0
    s.show_mask = False
    assert np.isfinite(s.map_slice("displacement").values[:5, :5]).all()


# --------------------------------------------------------------------------- reference, pixel
def test_reference_point_zeroes_that_pixel_at_every_date(state):
    x, y = float(state.dataset["x"][30]), float(state.dataset["y"][10])
    before = state.analysis.pixel_series()
    assert state.set_reference_point(x, y)
    state.on_tap(x, y)  # inspect mode: look at the reference pixel itself
    ts = state.analysis.pixel_series()
    np.testing.assert_allclose(ts["raw"].values, 0.0, atol=1e-6)
    np.testing.assert_allclose(ts["truth"].values, 0.0, atol=1e-6)
    assert "point" in state.reference_label()
    assert not before["raw"].equals(ts["raw"])


def test_reference_area_subtracts_the_box_median(state):
    x, y = state.dataset["x"].values, state.dataset["y"].values
    box = (x[25], y[5], x[35], y[15])  # all east of the step
    assert state.set_reference_area(box)
    truth = state.map_slice("deformation_true").values
    # east side is now 0, west side -11 mm (the step at the last date)
    assert np.nanmedian(truth[:, 30]) == pytest.approx(0.0, abs=1e-6)
    assert np.nanmedian(truth[:, 5]) == pytest.approx(-11.0 * STEP_MM, abs=1e-6)


def test_an_invalid_reference_is_refused_with_a_notice(state):
    assert not state.set_reference_point(1e9, 1e9)
    assert state.reference is None and "outside the frame" in state.notice


def test_clicks_follow_the_click_mode(state):
    x, y = float(state.dataset["x"][3]), float(state.dataset["y"][4])
    state.on_tap(x, y)
    assert state.pixel == (x, y) and state.reference is None
    state.on_box((x, y, x + 400.0, y + 200.0))
    assert state.pixel == (x + 200.0, y + 100.0) and state.pixel_box == (200.0, 100.0)
    state.click_mode = "draw"
    state.on_tap(0.0, 0.0)
    assert state.pixel == (x + 200.0, y + 100.0)
    state.click_mode = "reference"
    state.on_tap(x, y)
    assert state.reference == {"kind": "point", "x": x, "y": y}


def test_pixel_series_has_dates_and_every_layer(state):
    ts = state.analysis.pixel_series()
    assert isinstance(ts.index, pd.DatetimeIndex) and len(ts) == 12
    assert list(ts.columns) == ["raw", "truth"]


# --------------------------------------------------------------------------- profiles
def test_a_drawn_profile_fits_the_known_step(state):
    a = state.analysis
    line = across_the_step(state)
    a.set_profiles_from_drawing([list(line[:, 0])], [list(line[:, 1])])
    assert len(a.profiles) == 1 and a.active_profile == 0
    res = a.profile_at_date()
    truth, raw = res["fits"]["deformation_true"], res["fits"]["displacement"]
    assert truth.offset_mm == pytest.approx(11.0 * STEP_MM, abs=0.05)  # east (far) minus west
    assert raw.offset_mm == pytest.approx(11.0 * STEP_MM, abs=4 * raw.offset_sigma_mm + 0.2)
    assert 0 < raw.offset_sigma_mm < 1.0


def test_offset_through_time_grows_one_mm_per_date(state):
    state.analysis.add_profile(across_the_step(state))
    series = state.analysis.offsets_through_time()["series"]
    truth = series["offset"].sel(layer="deformation_true").values
    np.testing.assert_allclose(truth, np.arange(12) * STEP_MM, atol=0.05)


def test_profile_changes_with_date_width_and_model(state):
    a = state.analysis
    a.add_profile(across_the_step(state))
    last = a.profile_at_date()["fits"]["deformation_true"].offset_mm
    state.time_index = 4
    assert a.profile_at_date()["fits"]["deformation_true"].offset_mm == pytest.approx(4.0, abs=0.05)
    a.swath_width = 300.0
    assert a.profile_at_date()["profile"].attrs["half_width"] == pytest.approx(150.0)
    a.offset_model = "creep"
    assert a.profile_at_date()["fits"]["deformation_true"].model == "creep"
    assert last == pytest.approx(11.0, abs=0.05)


def test_candidate_fault_becomes_a_crossing_profile(state):
    cands = state.analysis.candidates()
    assert cands, "the tiny frame's step should be a candidate fault"
    trace_x = cands[0][:, 0]
    assert np.ptp(trace_x) < 300.0  # the step is the vertical line x = mean(x)
    assert state.analysis.add_profiles_across_candidates([0]) == 1
    line = state.analysis.profiles[-1]
    assert abs(line[0, 1] - line[1, 1]) < 1e-6  # horizontal, across the vertical trace
    assert abs(
        state.analysis.profile_at_date()["fits"]["deformation_true"].offset_mm
    ) == pytest.approx(11.0, abs=0.1)


def test_a_denoised_layer_without_the_step_does_not_move_the_crossing(frames):
    ds = frames["tiny"].copy()
    x = ds["x"].values
    bump = 3.0 * np.exp(-(((x - x[6]) / 300.0) ** 2))  # "denoised": no step, a bump elsewhere
    ds["deformation"] = ds["displacement"] * 0 + bump[None, None, :].astype(np.float32)
    s = DashboardState(datasets={"f": ds})
    s.analysis.add_profile(across_the_step(s))
    c = s.analysis.crossing()
    fault = x.mean() - across_the_step(s)[0, 0]
    assert c.source == "displacement" and abs(c.x0 - fault) <= 100.0
    res = s.analysis.profile_at_date()
    assert {f.x0 for f in res["fits"].values() if f is not None} == {
        c.x0
    }  # one crossing, every layer
    assert res["fits"]["deformation_true"].offset_mm == pytest.approx(11.0, abs=0.05)
    assert s.analysis.km_per_distance() == pytest.approx(1e-3)
    px, _py = s.analysis.crossing_point()
    assert abs(px - x.mean()) <= 100.0


def test_a_typed_crossing_is_used_for_every_layer_and_date(state):
    a = state.analysis
    a.add_profile(across_the_step(state))
    located = a.line_crossing()
    a.set_crossing(located + 700.0)
    assert a.crossing().source == "user" and a.line_crossing() == located + 700.0
    assert a.profile_at_date()["fits"]["displacement"].x0 == located + 700.0
    ser = a.offsets_through_time()["series"]
    assert float(ser["offset"].sel(layer="deformation_true")[-1]) < 11.0 - 1.0  # no step there
    a.set_crossing(None)
    assert a.line_crossing() == located


def test_exported_attributes_name_no_server_path(real_data_dir):  # Sydney is real data
    from app.views.export import public_attrs

    s = DashboardState(frame="sydney-envisat")
    assert "/" in s.view.attrs["source"]
    clean = public_attrs(s.view, s.frame)
    for attrs in [clean.attrs, *(clean[v].attrs for v in clean.variables)]:
        for value in attrs.values():
            assert not (isinstance(value, str) and re.search(r"/(work|home|root|tmp)/", value)), (
                value
            )
    assert "timeseries.h5" in clean.attrs["source"] and "sydney-envisat" in clean.attrs["source"]


def test_sydney_opens_on_a_valid_pixel_near_the_centre(real_data_dir):
    s = DashboardState(frame="sydney-envisat")
    ts = s.analysis.pixel_series()
    assert len(ts) and np.isfinite(ts["raw"].values[1:]).all()
    x, y = s.dataset["x"].values, s.dataset["y"].values
    assert abs(s.pixel[0] - x[len(x) // 2]) < 0.25 * np.ptp(x)
    assert abs(s.pixel[1] - y[len(y) // 2]) < 0.25 * np.ptp(y)


def test_rate_map_layer_pixel_rate_and_two_pinned_pixels(state):
    a = state.analysis
    from app.views.export import ExportPanel, render_map_png

    assert "rate" not in state.layers()
    state.show_rate = True
    assert state.layers()[-1] == "rate"
    rate = state.map_slice("rate")
    x = state.dataset["x"].values
    east, west = rate.sel(x=x[x > x.mean()]), rate.sel(x=x[x < x.mean()])
    per_year = STEP_MM * 365.25 / 12  # 1 mm per 12-day date
    assert float(east.median()) == pytest.approx(per_year, rel=0.1)
    assert abs(float(west.median())) < 0.1 * per_year
    lo, hi = state.rate_clim()
    assert lo == -hi and hi > per_year * 0.5
    assert render_map_png(state, "rate")[:4] == b"\x89PNG"
    fits = a.pixel_rates()
    assert set(fits) == {"raw", "truth"} and fits["truth"].rate_sigma_mm_yr >= 0
    y0 = float(state.dataset["y"].values[10])
    state.pixel = (float(x[3]), y0)
    a.pin_pixel()
    state.pixel = (float(x[-4]), y0)
    a.pin_pixel()
    res = a.comparison()
    assert res["layer"] == "displacement"
    diff = res["fits"]["B - A"]
    assert diff.rate_mm_yr == pytest.approx(per_year, abs=4 * diff.rate_sigma_mm_yr + 1.0)
    assert (res["table"]["B_minus_A_sigma_mm"] > 0).all()
    panel = ExportPanel(state=state)
    text = panel._compare_csv().getvalue()
    assert "# rate B - A:" in text and "B_minus_A_mm" in text
    state.frame = "other"
    assert a.pins == []


# --------------------------------------------------------------------------- exports
def test_export_tables_hold_profiles_offsets_and_series(state):
    a = state.analysis
    from app.views.export import ExportPanel, render_map_png

    a.add_profile(across_the_step(state))
    prof = a.profiles_table()
    assert set(prof["series"]) == {"raw", "truth"} and (prof["profile"] == 1).all()
    offs = a.offsets_table()
    assert len(offs) == 2 * 12 and {"date", "offset_mm", "offset_sigma_mm"} <= set(offs)
    assert render_map_png(state, "displacement")[:8] == b"\x89PNG\r\n\x1a\n"
    panel = ExportPanel(state=state)
    text = panel._ts_csv().getvalue()
    body = pd.read_csv(io.StringIO(text), comment="#")
    assert list(body.columns) == ["date", "raw_mm", "truth_mm"] and len(body) == 12


# --------------------------------------------------------------------------- denoising
@pytest.mark.slow
def test_denoising_runs_off_thread_and_is_cached_per_frame_and_model(state, tmp_path, monkeypatch):
    d = state.denoising
    from app.views.export import ExportPanel
    from insar_ae.io import open_frame

    d.model_name = "window-v2"  # time windows exist for the 9-date window model only
    assert d.time_stride == (4 if d.device == "cpu" else 1)  # fast default on a CPU
    d.time_stride = 2
    job = d.start_denoise()
    assert job is not None and d.denoise_status == "running" and job.options.time_stride == 2
    wait_for(state)
    assert state.denoised["deformation"].attrs["time_stride"] == 2
    assert d.denoise_status == "done" and d.denoise_fraction == 1.0
    assert state.layers() == [v for v in LAYERS if v != "rate"]  # raw, denoised, noise, truth
    np.testing.assert_allclose(
        state.map_slice("noise").values,
        state.map_slice("displacement").values - state.map_slice("deformation").values,
        atol=1e-4,
    )
    denoised = state.denoised
    state.frame = "other"
    assert state.denoised is None and state.layers() == ["displacement", "deformation_true"]
    state.frame = "tiny"  # back: the cached result, no new job
    assert state.denoised is denoised and d.denoise_message == "cached result"
    assert d.start_denoise() is None
    d.time_stride = 1  # another stride is another result ...
    assert state.denoised is None and not d.is_cached
    d.time_stride = 2  # ... and the first one is still kept
    assert state.denoised is denoised
    # the denoised cube downloads as NetCDF that insar_ae reads back
    nc = tmp_path / "cube.nc"
    nc.write_bytes(ExportPanel(state=state)._cube("netcdf", ".nc", {}).getvalue())
    back = open_frame(nc)
    np.testing.assert_allclose(
        back["deformation"].values, state.view["deformation"].values, atol=1e-4
    )
    panel = ExportPanel(state=state)
    panel._prepare_netcdf()  # compressed, written first: its size is shown before the download
    assert (
        panel._nc.file
        and not panel._nc.disabled
        and ("MB" in panel._nc.label or "kB" in panel._nc.label)
    )
    packed = open_frame(panel._nc.file)
    np.testing.assert_allclose(
        packed["deformation"].values, state.view["deformation"].values, atol=1e-4
    )
    served = (
        tmp_path / "served"
    )  # with an HTTP-served export folder: a link, not a websocket transfer
    served.mkdir()
    monkeypatch.setenv("INSAR_AE_EXPORT_DIR", str(served))
    panel._prepare_netcdf()
    files = list(served.glob("*/*.nc"))
    assert len(files) == 1 and len(files[0].parent.name) >= 20  # under an unguessable folder name
    assert f'href="exports/{files[0].parent.name}/{files[0].name}"' in panel._nc_link.object
    assert panel._nc_link.visible and not panel._nc.visible
    panel._prepare_netcdf()  # the previous file goes
    assert len(list(served.glob("*/*.nc"))) == 1
    tif = ExportPanel(state=state)._cube(
        "geotiff", ".tif", {"what": "stack", "variable": "deformation"}
    )
    import rasterio

    with rasterio.MemoryFile(tif.getvalue()) as mem, mem.open() as src:
        assert src.count == 12 and src.shape == (32, 40)  # one band per date
        np.testing.assert_allclose(
            src.read(12), state.view["deformation"].isel(time=11).values, atol=1e-4, equal_nan=True
        )


@pytest.mark.slow
def test_a_new_session_gets_the_result_from_the_server_wide_disk_cache(frames, _result_cache):
    from app.results import ResultCache

    first = DashboardState(datasets=frames, frame="tiny")
    first.denoising.start_denoise()
    wait_for(first)
    t_end = time.monotonic() + 60
    while not list(_result_cache.glob("*.nc")):  # written off the UI thread
        assert time.monotonic() < t_end
        time.sleep(0.05)
    time.sleep(0.5)
    t0 = time.perf_counter()
    second = DashboardState(datasets=frames, frame="tiny")  # a reload, or another user
    opened_s = time.perf_counter() - t0
    assert second.denoised is not None and second.denoising.denoise_status == "done"
    assert (
        second.denoising.denoise_message == "cached result"
        and second.denoising.start_denoise() is None
    )
    np.testing.assert_allclose(
        second.denoised["deformation"].values, first.denoised["deformation"].values, atol=1e-5
    )
    np.testing.assert_allclose(
        second.denoised["noise"].values, first.denoised["noise"].values, atol=1e-4
    )
    print(f"second session with the cached result: {opened_s:.2f} s")
    # another model stride is another key; a size limit evicts the least recently used
    second.denoising.time_stride = 1 if second.denoising.time_stride != 1 else 2
    assert second.denoised is None or second.denoising.model_kind != "window"
    cache = ResultCache(_result_cache, max_bytes=0)
    assert cache.trim() and not list(_result_cache.glob("*.nc"))


@pytest.mark.slow
def test_switching_frame_while_denoising_keeps_the_result_for_later(state):
    d = state.denoising
    d.start_denoise()
    state.frame = "other"  # the job keeps running for "tiny"
    wait_for(state)
    assert state.denoised is None and d.denoise_status == "idle"
    assert "tiny" in d.denoise_message
    state.frame = "tiny"
    assert state.denoised is not None and d.denoise_status == "done"


def test_a_job_takes_the_denoise_options_whole(state):
    d = state.denoising
    from app.jobs import DenoiseJob
    from insar_ae.errors import ParameterError
    from insar_ae.model import DenoiseOptions, denoise

    assert d.options == DenoiseOptions(
        model=d.model_name,
        device=d.device,
        time_stride=d.time_stride,
    )
    ds = tiny_frame(4, n_time=10, ny=32, nx=32)
    opts = DenoiseOptions(device="cpu", tile=32, overlap=8)
    job = DenoiseJob(ds, opts, frame="tiny").start()
    assert job.wait(300) and job.status == "done", job.error
    expected = denoise(ds, opts)["deformation"].values
    np.testing.assert_array_equal(job.result["deformation"].values, expected)
    with pytest.raises(ParameterError, match="DenoiseOptions"):
        DenoiseJob(ds, {"device": "cpu"})  # type: ignore[arg-type]


def test_a_failed_denoising_reports_the_error(frames):
    short = frames["tiny"].isel(time=slice(0, 5))  # the window model needs at least 9 dates
    s = DashboardState(datasets={"short": short})
    s.denoising.model_name = "window-v2"
    s.denoising.start_denoise()
    wait_for(s, timeout=120)
    assert s.denoising.denoise_status == "error"
    assert "9" in s.denoising.denoise_error and s.denoised is None


@pytest.mark.slow
def test_cancel_stops_a_running_denoising():
    big = tiny_frame(2, n_time=40, ny=256, nx=256)
    s = DashboardState(datasets={"big": big})
    job = s.denoising.start_denoise()
    s.denoising.cancel_denoise()
    wait_for(s, timeout=300)
    assert s.denoising.denoise_status == "cancelled" and s.denoised is None and job.result is None


# --------------------------------------------------------------------------- sessions
def test_two_sessions_do_not_share_state(frames):
    a = DashboardState(datasets=frames, frame="tiny")
    b = DashboardState(datasets=frames, frame="tiny")
    a.time_index = 3
    a.set_reference_point(*a.pixel)
    a.analysis.add_profile(across_the_step(a))
    a.denoising._cache[a.denoising._key] = a.dataset
    assert b.time_index == 11 and b.reference is None and b.analysis.profiles == []
    assert not b.denoising.is_cached and b.view is not a.view


def test_each_dashboard_gets_its_own_state_and_renders_in_a_notebook(frames):
    from bokeh.document import Document

    from app.main import Dashboard

    one = Dashboard(state=DashboardState(datasets=frames))
    two = Dashboard(state=DashboardState(datasets=frames))
    assert one.state is not two.state
    root = one.__panel__().get_root(Document())  # what a notebook cell displays
    assert root is not None
    one.state.time_index = 2
    assert two.state.time_index == 11
    assert one.template().title == "insar_ae"


def test_a_date_switch_redraws_the_rendered_maps_in_place(frames):
    """The maps' image sources receive the new date's raster (the fast path, no re-render)."""
    from bokeh.document import Document
    from holoviews.plotting.bokeh.raster import RasterPlot

    from app.views._plots import drawn_plots
    from app.views.maps import MapGrid

    s = DashboardState(datasets=frames, frame="tiny")
    grid = MapGrid(state=s)
    grid.__panel__().get_root(Document())
    (plot,) = [
        p
        for p in drawn_plots(grid._pane, RasterPlot, ("Data", "DataOverRelief"))
        if p.current_frame.vdims[0].name == "deformation_true"
    ]
    source = plot.handles["source"]
    before = source.data["image"][0].copy()
    s.time_index = 3
    after = source.data["image"][0]
    # truth: east half moves 1 mm per date; the raster shows 3 mm there now (11 mm before)
    assert np.nanmax(before) == pytest.approx(11.0, abs=1e-4)
    assert np.nanmax(after) == pytest.approx(3.0, abs=1e-4)
    assert plot.handles["color_mapper"].high == pytest.approx(s.clim()[1])


# --------------------------------------------------------------------------- the state's parts
def test_a_frame_load_fires_each_watcher_once_the_frame_parts_first(state):
    """The frame part and its parts are set in one nested batch: every watcher fires once, the
    frame part's first, and each sees every part already reset for the new frame."""
    a, d = state.analysis, state.denoising
    a.add_profile(across_the_step(state))
    a.pin_pixel()
    a.show_candidates = True
    d.denoise_status, d.denoise_message = "cancelled", "stopped by you"
    calls = []

    def record(part):
        def watcher(*events):
            calls.append(
                {
                    "part": part,
                    "names": sorted(e.name for e in events),
                    "profiles": list(a.profiles),
                    "status": d.denoise_status,
                    "revision": state.data_revision,
                    "frame_of_view": state.view.sizes["x"],
                }
            )

        return watcher

    state.param.watch(record("frame"), ["dataset", "view", "data_revision", "time_index"])
    d.param.watch(record("denoising"), ["denoise_status", "denoise_message"])
    a.param.watch(record("analysis"), ["profiles", "profiles_revision", "pins", "show_candidates"])
    revision = state.data_revision
    state.frame = "other"
    # the frame part's watcher runs twice, as before the parts: for the view its own
    # _update_view watcher sets (run first), then for the frame's other parameters; then the
    # denoising part's and the analysis part's watchers, once each
    assert [c["part"] for c in calls] == ["frame", "frame", "denoising", "analysis"]
    assert calls[0]["names"] == ["data_revision", "view"]
    assert calls[1]["names"] == ["dataset", "time_index"]
    assert calls[2]["names"] == ["denoise_message", "denoise_status"]
    assert calls[3]["names"] == ["pins", "profiles", "profiles_revision", "show_candidates"]
    for c in calls:  # every part is reset, and the new frame's data shown, before any watcher
        assert c["profiles"] == [] and c["status"] == "idle"
        assert c["revision"] == revision + 1 and c["frame_of_view"] == 30
    assert a.pins == [] and not a.show_candidates and d.denoise_message == ""


def test_profile_results_are_kept_until_the_data_change(state):
    """The analysis part memoises its results and forgets them when the owner's data change
    (new reference, denoised layers or frame): nothing outside it clears them."""
    a = state.analysis
    a.add_profile(across_the_step(state))
    first = a.profile_at_date()
    assert a.profile_at_date() is first  # kept
    a.offset_model = "creep"
    assert a.profile_at_date() is not first  # another model: another result (first kept too)
    a.offset_model = "step"
    assert a.profile_at_date() is first
    x, y = float(state.dataset["x"][3]), float(state.dataset["y"][4])
    assert state.set_reference_point(x, y)  # new data: every result is computed again
    again = a.profile_at_date()
    assert again is not first and len(a._results) < 10
    assert again["fits"]["deformation_true"].offset_mm == pytest.approx(
        first["fits"]["deformation_true"].offset_mm, abs=1e-4
    )  # a point reference shifts both sides alike


def test_each_view_gets_the_part_it_draws(frames):
    from app.main import Dashboard

    dash = Dashboard(state=DashboardState(datasets=frames, frame="tiny"))
    s = dash.state
    assert dash.denoise.denoising is s.denoising and s.denoising.owner is s
    assert dash.profiles.analysis is s.analysis and s.analysis.owner is s
    assert dash.profile_controls.analysis is s.analysis and dash.timeseries.analysis is s.analysis
    assert dash.maps.state is s and dash.export.state is s and dash.frame.state is s
    assert not isinstance(s, type(s.analysis)) and not isinstance(s, type(s.denoising))


def test_a_frame_switch_refreshes_the_offsets_plot_once(frames):
    """A new frame changes the line (analysis part) and the data (frame part) at once: the
    offsets through time, drawn on the next tick, are redrawn once."""
    from app.main import Dashboard

    dash = Dashboard(state=DashboardState(datasets=frames, frame="tiny"))
    deferred: list = []
    dash.profiles._defer = deferred.append  # what the server runs on the next tick
    dash.state.analysis.add_profile(across_the_step(dash.state))
    assert len(deferred) == 1
    deferred.pop()()
    dash.state.frame = "other"
    assert len(deferred) == 1
    deferred.pop()()


def test_offsets_table_warns_that_weak_denoised_offsets_are_lower_bounds(frames):
    import holoviews as hv

    from app.views.profiles import ProfileView

    hv.extension("bokeh", logo=False)

    raw_only = DashboardState(datasets={"f": frames["tiny"]})
    raw_only.analysis.add_profile(across_the_step(raw_only))
    assert "lower bounds" not in ProfileView(analysis=raw_only.analysis)._summary()
    ds = frames["tiny"].copy()
    ds["deformation"] = ds["displacement"].copy()
    s = DashboardState(datasets={"f": ds})
    s.analysis.add_profile(across_the_step(s))
    text = ProfileView(analysis=s.analysis)._summary()
    assert "| P1 | denoised |" in text and "lower bounds" in text
