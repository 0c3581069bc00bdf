"""Issue 16, the server under load and from outside: session cap ("busy" page), localhost-only
clients ("refused" page), a session's data freed when it ends, frames shared read-only between
sessions, and the cap on concurrent denoising runs.

A real Bokeh server runs in this process (``panel.serve``, threaded, on a free 127.0.0.1 port)
with the app's own page function (:func:`app.sessions.serve` + :class:`app.main.Dashboard`) and a
16 x 16 catalog frame; pages are loaded as a browser does (HTTP GET, websocket, document pull;
``bench/_bokeh_client.py``), so every session is really created, used and destroyed by Bokeh.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

from _bokeh_client import PageLoad, page_load  # noqa: E402

from app import jobs, sessions  # noqa: E402
from insar_ae.testing import tiny_frame  # noqa: E402

pytestmark = pytest.mark.timeout(600)

LAB = """
metadata: {version: 1, insar_ae_include_default: false}
sources:
  small-a:
    description: small frame A
    driver: insar_ae.catalog.drivers.SyntheticFrame
    args: {preset: clean-fault, seed: 0, shape: [16, 16], n_dates: 6}
    metadata: {dates: {start: 2019-01-05, end: 2019-03-06, n_dates: 6}, shape: [16, 16], units: mm}
"""
DASHBOARD_MARK = "insar-frame-info"  # a css class of the Frame card: only in the dashboard
BUSY = "The server is busy"
REFUSED = "This dashboard only serves this machine"


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class _Made:
    """Weak references to every dashboard, its state and the state's parts the server built."""

    def __init__(self) -> None:
        self.refs: list[tuple[weakref.ref, ...]] = []

    def factory(self) -> Any:
        from app.main import Dashboard

        d = Dashboard()
        s = d.state
        self.refs.append(tuple(map(weakref.ref, (d, s, s.denoising, s.analysis))))
        return d

    def page(self) -> None:
        sessions.serve(self.factory)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The test catalog and a private frame cache for the whole module (the in-process server
    reads the environment of this process)."""
    mp = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("sessions")
    (folder / "lab.yaml").write_text(LAB)
    mp.setenv("INSAR_AE_CATALOG", str(folder / "lab.yaml"))
    mp.setenv("INSAR_AE_CACHE", str(folder / "cache"))
    mp.delenv(sessions.ALLOW_REMOTE_ENV, raising=False)
    yield
    mp.undo()


def _serve(made: _Made, host: str = "127.0.0.1") -> tuple[Any, str]:
    import panel as pn

    port = _free_port(host)
    server = pn.serve(
        {"main": made.page},
        port=port,
        address=host,
        threaded=True,
        show=False,
        websocket_origin=[f"{host}:{port}"],
        check_unused_sessions_milliseconds=500,
        # longer than a page build on a loaded 2-core machine: Bokeh drops a session
        # that gets no websocket within this time (and builds it again when it does)
        unused_session_lifetime_milliseconds=5000,
    )
    url = f"http://{host}:{port}/main"
    t_end = time.monotonic() + 60
    while time.monotonic() < t_end:
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return server, url
        time.sleep(0.1)
    raise TimeoutError(f"in-process server did not listen on {host}:{port}")


@pytest.fixture(scope="module")
def served(env: None) -> Iterator[tuple[_Made, str]]:
    made = _Made()
    server, url = _serve(made)
    try:
        yield made, url
    finally:
        server.stop()


_LOOP = (
    asyncio.new_event_loop()
)  # the client's loop (a websocket belongs to the loop it was opened on)


def _load(url: str, n: int = 1) -> list[PageLoad]:
    async def go() -> list[PageLoad]:
        return [await page_load(url, timeout=300) for _ in range(n)]  # one after the other

    return _LOOP.run_until_complete(go())


def _close_all(loads: list[PageLoad], timeout: float = 60.0) -> None:
    """Close the tabs and wait until the server has ended every session."""
    _LOOP.run_until_complete(_close(loads))
    t_end = time.monotonic() + timeout
    while sessions.live_sessions() and time.monotonic() < t_end:
        time.sleep(0.1)
    assert sessions.live_sessions() == 0, "sessions were not ended after their tabs closed"


async def _close(loads: list[PageLoad]) -> None:
    for load in loads:
        load.close()
    await asyncio.sleep(0.1)


# ---------------------------------------------------------------------------- who may connect
@pytest.mark.parametrize(
    ("ip", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.5.6.7", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("192.0.2.2", False),
        ("10.0.0.8", False),
        ("::ffff:10.0.0.8", False),
        ("fe80::1%eth0", False),
        ("", False),
        ("not-an-ip", False),
        (None, True),  # None: no client (the --warm run)
    ],
)
def test_client_allowed(ip, allowed, monkeypatch):
    monkeypatch.delenv(sessions.ALLOW_REMOTE_ENV, raising=False)
    assert sessions.client_allowed(ip) is allowed
    monkeypatch.setenv(sessions.ALLOW_REMOTE_ENV, "1")
    assert sessions.client_allowed(ip) is True


def test_remote_client_gets_refused_page_unless_allowed(served, monkeypatch):
    made, url = served
    monkeypatch.setattr(sessions, "_remote_ip", lambda: "203.0.113.7")
    n = len(made.refs)
    [load] = _load(url)
    assert load.ok and REFUSED in load.doc_text and "203.0.113.7" in load.doc_text
    assert DASHBOARD_MARK not in load.doc_text and len(made.refs) == n  # no dashboard was built
    assert sessions.live_sessions() == 0
    _close_all([load])
    monkeypatch.setenv(sessions.ALLOW_REMOTE_ENV, "1")
    [load] = _load(url)
    assert load.ok and DASHBOARD_MARK in load.doc_text and len(made.refs) == n + 1
    _close_all([load])


def test_non_loopback_address_is_refused_end_to_end(env):
    """A server bound to this machine's network address (as ``--address 0.0.0.0`` would be):
    a client reaching it over that address is not on loopback and gets the refused page."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # no packet is sent (UDP connect)
            host = s.getsockname()[0]
        except OSError:
            pytest.skip("this machine has no non-loopback IPv4 address")
    if host.startswith("127."):
        pytest.skip("this machine has no non-loopback IPv4 address")
    made = _Made()
    server, url = _serve(made, host)
    try:
        [load] = _load(url)
        assert load.ok and REFUSED in load.doc_text and host in load.doc_text
        assert made.refs == []
        _close_all([load])
    finally:
        server.stop()


# ------------------------------------------------------------------------------ session cap
def test_sessions_beyond_the_cap_get_the_busy_page(served, monkeypatch):
    _made, url = served
    monkeypatch.setenv(sessions.MAX_SESSIONS_ENV, "2")
    loads = _load(url, 3)
    assert [load.ok for load in loads] == [True, True, True]
    assert DASHBOARD_MARK in loads[0].doc_text and DASHBOARD_MARK in loads[1].doc_text
    busy = loads[2].doc_text
    assert BUSY in busy and "2 dashboards are open" in busy and sessions.MAX_SESSIONS_ENV in busy
    assert DASHBOARD_MARK not in busy and len(busy) < len(loads[0].doc_text) / 5
    assert sessions.live_sessions() == 2
    _close_all(loads)  # closed tabs free their places
    [again] = _load(url)
    assert DASHBOARD_MARK in again.doc_text
    _close_all([again])


# -------------------------------------------------------------- freeing and sharing the data
def test_ended_session_frees_its_dashboard_and_state(served):
    made, url = served
    n = len(made.refs)
    loads = _load(url, 2)
    refs = made.refs[n:]
    assert len(refs) == 2
    dashboards = [r[0]() for r in refs]
    states = [r[1]() for r in refs]
    assert all(d is not None for d in dashboards) and all(s is not None for s in states)
    # read-only frames are shared: both sessions show the same Dataset object
    assert states[0].dataset is states[1].dataset
    raw = states[0].dataset["displacement"].values
    assert not raw.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        raw[0, 0, 0] = 1.0
    del dashboards, states, raw
    _close_all(loads)
    time.sleep(3.0)  # the server's collection and heap trim run 2 s after the last session ended
    gc.collect()
    alive = [tuple(r() is not None for r in one) for one in refs]
    assert alive == [(False,) * 4] * 2, (
        "an ended session's dashboard, state or state part is still referenced"
    )


def test_start_up_heap_is_frozen_once_before_the_first_dashboard(monkeypatch):
    """Full collections must not walk the libraries' objects (they stalled date switches)."""
    monkeypatch.setattr(sessions, "_heap_frozen", False)
    try:
        assert sessions.freeze_startup_heap() is True
        assert gc.get_freeze_count() > 10_000  # the imported libraries
        assert sessions.freeze_startup_heap() is False  # once per process
    finally:
        gc.unfreeze()


def test_release_drops_the_session_data():
    from app.state import DashboardState

    s = DashboardState(datasets={"tiny": tiny_frame(0, n_time=6, ny=16, nx=16)})
    x, y = s.dataset["x"].values, s.dataset["y"].values
    s.analysis.add_profile([[x[2], y[8]], [x[-3], y[8]]])
    assert s.analysis.profile_at_date() is not None and s.analysis._results
    s.denoising._remember(s.denoising._key, s.dataset)  # a result kept by the session
    view = weakref.ref(s.view)
    s.release()  # every part empties what it holds
    gc.collect()
    assert s.dataset is None and s.denoised is None and s.view is None and view() is None
    assert not s.analysis._results and s.analysis.profiles == [] and s.analysis.pins == []
    assert not s.denoising._cache and s.denoising.job is None


# ----------------------------------------------------------------------- denoising job cap
def test_denoise_jobs_beyond_the_cap_get_a_busy_message(monkeypatch):
    from app.state import DashboardState

    gate = threading.Event()

    def slow_run(job: jobs.DenoiseJob) -> None:  # stands in for the model: waits for the test
        try:
            gate.wait(60)
            job.result, job.status, job.message = job.ds, "done", "done"
        finally:
            job.finished_at = time.monotonic()
            job.ds = None
            with jobs._lock:
                jobs._running.discard(job)

    monkeypatch.setattr(jobs.DenoiseJob, "_run", slow_run)
    monkeypatch.setenv(jobs.MAX_JOBS_ENV, "1")
    monkeypatch.setenv("INSAR_AE_RESULT_CACHE", "")
    frames = {"tiny": tiny_frame(0, n_time=6, ny=16, nx=16)}
    a, b = DashboardState(datasets=frames), DashboardState(datasets=frames)
    da, db = a.denoising, b.denoising
    da._disk = db._disk = None  # no server-wide result cache: both must run
    notices: list[str] = []
    b.param.watch(lambda e: notices.append(e.new), "notice")
    job = da.start_denoise()
    assert job is not None and da.denoise_status == "running" and jobs.running_jobs() == 1
    assert db.start_denoise() is None
    assert db.job is None and db.denoise_status == "idle" and jobs.running_jobs() == 1
    assert BUSY in db.denoise_message and "1 denoising runs" in db.denoise_message
    assert notices and BUSY in notices[-1] and jobs.MAX_JOBS_ENV in notices[-1]
    gate.set()
    assert job.wait(30) and da.poll_denoise() and da.denoise_status == "done"
    assert jobs.running_jobs() == 0
    second = db.start_denoise()  # a place is free again
    assert second is not None and second.wait(30) and db.poll_denoise()
    assert db.denoise_status == "done" and jobs.running_jobs() == 0


def test_max_jobs_and_sessions_read_the_environment(monkeypatch):
    monkeypatch.setenv(jobs.MAX_JOBS_ENV, "3")
    monkeypatch.setenv(sessions.MAX_SESSIONS_ENV, "5")
    assert jobs.max_jobs() == 3 and sessions.max_sessions() == 5
    monkeypatch.setenv(jobs.MAX_JOBS_ENV, "zero")
    monkeypatch.setenv(sessions.MAX_SESSIONS_ENV, "0")
    assert jobs.max_jobs() == jobs.DEFAULT_MAX_JOBS and sessions.max_sessions() == 1


# ------------------------------------------------------------------ catalog notices shown
def test_skipped_catalog_entries_are_shown_in_the_dashboard(tmp_path, monkeypatch):
    """A bad entry and a missing catalog file: the dashboard opens with the good entries and
    says, in the Frame card, what was skipped."""
    import os

    from app.main import Dashboard
    from app.state import DashboardState

    lab = tmp_path / "lab.yaml"
    lab.write_text(
        LAB
        + """
  lab-bad-date:
    description: a date that does not exist
    driver: insar_ae.catalog.drivers.SyntheticFrame
    args: {preset: clean-fault, shape: [16, 16]}
    metadata: {dates: {start: 2019-13-45, end: 2020-01-01, n_dates: 6}, units: mm}
"""
    )
    monkeypatch.setenv("INSAR_AE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("INSAR_AE_CATALOG", f"{lab}{os.pathsep}{tmp_path / 'missing.yaml'}")
    state = DashboardState()
    assert list(state.frames.index) == ["small-a"] and state.dataset.sizes["time"] == 6
    assert len(state.catalog_notices) == 2
    assert "lab-bad-date" in state.catalog_notices[1] or "lab-bad-date" in state.catalog_notices[0]
    assert any("missing.yaml" in n and "not found" in n for n in state.catalog_notices)
    alert = Dashboard(state=state).frame._notices
    assert alert.visible and "Catalog entries skipped" in alert.object
    assert "lab-bad-date" in alert.object and "missing.yaml" in alert.object


def test_no_usable_catalog_entry_gives_a_one_line_page(served, tmp_path, monkeypatch):
    _made, url = served
    broken = tmp_path / "broken.yaml"
    broken.write_text("""
metadata: {version: 1, insar_ae_include_default: false}
sources:
  only-bad:
    description: a date that does not exist
    driver: insar_ae.catalog.drivers.SyntheticFrame
    args: {preset: clean-fault, shape: [16, 16]}
    metadata: {dates: {start: 2019-13-45, end: 2020-01-01, n_dates: 6}, units: mm}
""")
    monkeypatch.setenv("INSAR_AE_CATALOG", str(broken))
    [load] = _load(url)
    assert load.ok and "The dashboard cannot start: no usable catalog entry" in load.doc_text
    assert "only-bad" in load.doc_text and "Traceback" not in load.doc_text
    assert sessions.live_sessions() == 0
    _close_all([load])


def _alive(kinds: tuple[type, ...]) -> int:
    """Objects of these types the garbage collector still tracks."""
    gc.collect()
    with warnings.catch_warnings():  # isinstance on some modules' lazy attributes warns
        warnings.simplefilter("ignore")
        return sum(1 for o in gc.get_objects() if isinstance(o, kinds))


def test_repeated_sessions_leave_no_plot_elements_or_documents_behind(served):
    """Waves of sessions: once they end, no HoloViews element (the maps' rasters) and no Bokeh
    document of theirs is still referenced. (A holder outside the session once kept ~8 MB of
    map arrays per ended session of the default frame: bench/load_waves.py measures that.)"""
    import holoviews as hv
    from bokeh.document import Document

    made, url = served
    kinds = (hv.core.Dimensioned, Document)
    _close_all(_load(url, 1))  # one-off costs (imports, caches filled once)
    time.sleep(3.0)
    before = _alive(kinds)
    n = len(made.refs)
    for _ in range(2):
        loads = _load(url, 2)
        live = _alive(kinds)
        _close_all(loads)
        time.sleep(3.0)
    assert live > before, "the sessions built no plot elements: the test would not see a leak"
    after = _alive(kinds)
    assert after <= before, (
        f"{after - before} HoloViews elements/Bokeh documents kept by ended sessions"
    )
    assert len(made.refs) - n == 4
