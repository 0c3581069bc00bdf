"""Browser sessions of one ``panel serve`` process: who may open one, how many at a time, and
freeing what each one holds when it ends.

``app/main.py`` calls :func:`serve` once per browser session. It answers with

- the dashboard, when the client is on this machine (or remote clients are allowed, see
  :data:`ALLOW_REMOTE_ENV`) and fewer than :func:`max_sessions` dashboards are open;
- otherwise a one-line page that says why (``busy`` or ``refused``; ``unavailable`` when the
  dashboard cannot start, e.g. no catalog entry is usable), built in milliseconds and holding
  no data.

``panel serve`` binds the address it is given (``--address``; every interface without it): the
app cannot change that once it runs, so :func:`client_allowed` is where "this machine only" is
enforced, for every session, from the TCP peer address (headers such as ``Origin`` or
``X-Forwarded-For`` play no part unless ``--use-xheaders`` is given).

When the session ends (tab closed, or never connected: Bokeh drops it after
``--unused-session-lifetime``), :func:`_ended` releases it: the state's caches, datasets and
denoising job are dropped (:meth:`app.state.DashboardState.release`), Panel's JavaScript-link
registry forgets the session's widgets (``panel.links.Callback.registry`` holds them strongly
through their own arguments, which kept every session's whole dashboard alive), and after a
garbage collection the C heap is trimmed so that the process really shrinks. Frames read from
the catalog are shared by all sessions (:mod:`app.frames`) and stay.

Before the first dashboard of the process, :func:`freeze_startup_heap` moves everything alive
(the imported libraries) out of the garbage collector's reach: full collections then walk only
what sessions made, and stop stalling date switches (decision 83).
"""

from __future__ import annotations

import ctypes
import gc
import ipaddress
import logging
import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import panel as pn

from app.settings import positive_int_env

__all__ = [
    "ALLOW_REMOTE_ENV",
    "MAX_SESSIONS_ENV",
    "client_allowed",
    "freeze_startup_heap",
    "live_sessions",
    "max_sessions",
    "serve",
]

log = logging.getLogger(__name__)

#: Environment variable: the most dashboards one server process keeps open at a time.
MAX_SESSIONS_ENV = "INSAR_AE_MAX_SESSIONS"
DEFAULT_MAX_SESSIONS = 24
#: Environment variable: "1" lets clients on other machines open a dashboard (off by default).
ALLOW_REMOTE_ENV = "INSAR_AE_ALLOW_REMOTE"
_TRIM_DELAY_S = 2.0  # one collection + heap trim per burst of ended sessions


@dataclass
class _Session:
    """What the server keeps for one open dashboard until its session ends."""

    dashboard: Any
    links: list[weakref.ref] = field(default_factory=list)


_lock = threading.Lock()
_live: dict[str, _Session] = {}
_trim_pending = False
_heap_frozen = False


def max_sessions() -> int:
    """The session cap: ``$INSAR_AE_MAX_SESSIONS`` (default 24)."""
    return positive_int_env(MAX_SESSIONS_ENV, DEFAULT_MAX_SESSIONS)


def live_sessions() -> int:
    """Dashboards open in this process right now."""
    with _lock:
        return len(_live)


def client_allowed(ip: str | None) -> bool:
    """True for a client on this machine (loopback), for any client when
    ``$INSAR_AE_ALLOW_REMOTE`` is 1/true/yes (the server was exposed deliberately), and when
    there is no client (``ip`` None: the server's own ``--warm`` run)."""
    if os.environ.get(ALLOW_REMOTE_ENV, "").strip().lower() in ("1", "true", "yes") or ip is None:
        return True
    if not ip:
        return False
    try:
        addr = ipaddress.ip_address(ip.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)
    return bool((mapped or addr).is_loopback)


def _remote_ip() -> str | None:
    ctx = getattr(pn.state.curdoc, "session_context", None)
    request = getattr(ctx, "request", None)
    return getattr(request, "remote_ip", None) if request is not None else None


def _message_page(title: str, text: str) -> pn.viewable.Viewable:
    return pn.Column(
        pn.pane.Markdown(f"## insar_ae: {title}\n\n{text}", css_classes=["insar-busy"]),
        sizing_mode="stretch_width",
    )


def serve(make_dashboard: Callable[[], Any]) -> Any:
    """Serve the page of the session being created (call from the ``panel serve`` script).

    Returns the dashboard, or None when a ``busy`` / ``refused`` page was served instead."""
    ip = _remote_ip()
    if not client_allowed(ip):
        log.warning(
            "refused a session from %s (remote clients are off; set %s=1 to allow)",
            ip,
            ALLOW_REMOTE_ENV,
        )
        _message_page(
            "refused",
            f"This dashboard only serves this machine (your address: {ip}). "
            f"Whoever runs it can allow other machines ({ALLOW_REMOTE_ENV}=1, see "
            "docs/dashboard.md).",
        ).servable(title="insar_ae: refused")
        return None
    with _lock:
        n = len(_live)
    if n >= max_sessions():
        log.warning(
            "busy: %d dashboards open (limit %d); a session got the busy page", n, max_sessions()
        )
        _message_page(
            "busy",
            f"The server is busy: {n} dashboards are open, the most it keeps at a time "
            f"(set by {MAX_SESSIONS_ENV}). Try again in a minute; closed tabs free their place "
            "within about 30 s.",
        ).servable(title="insar_ae: busy")
        return None
    from panel.links import Callback

    from insar_ae.errors import InsarAEError

    freeze_startup_heap()
    before = {id(k) for k in list(Callback.registry.keys())}
    try:
        dashboard = make_dashboard()
    except InsarAEError as err:  # e.g. no usable catalog entry: one line, no traceback page
        log.error("no dashboard for this session: %s", err)
        _message_page("unavailable", f"The dashboard cannot start: {err}").servable(
            title="insar_ae: unavailable"
        )
        return None
    dashboard.servable()
    links = [weakref.ref(k) for k in list(Callback.registry.keys()) if id(k) not in before]
    ctx = pn.state.curdoc.session_context if pn.state.curdoc is not None else None
    if ctx is not None and ip is not None:  # a browser session (not the --warm run)
        with _lock:
            _live[ctx.id] = _Session(dashboard, links)
        pn.state.curdoc.on_session_destroyed(_ended)
    return dashboard


def freeze_startup_heap() -> bool:
    """Once per process: collect, then ``gc.freeze()`` every object still alive; True the first
    time. Called before the first dashboard is made, when what is alive is the imported
    libraries (Bokeh, HoloViews, Panel, xarray, torch): hundreds of thousands of objects that
    live as long as the process. Left in the collector, each full collection walks them all and
    holds the server for a few hundred milliseconds, which is what the slowest date switches
    were (bench/results/app.md). Objects made later, every session's, are collected as before."""
    global _heap_frozen
    with _lock:
        if _heap_frozen:
            return False
        _heap_frozen = True
    gc.collect()
    gc.freeze()
    log.info("froze %d start-up objects out of the garbage collector", gc.get_freeze_count())
    return True


def _ended(session_context: Any) -> None:
    """A session ended: release its dashboard and schedule one collection and heap trim."""
    with _lock:
        session = _live.pop(session_context.id, None)
    if session is None:
        return
    try:
        session.dashboard.state.release()
    except Exception:  # never let a cleanup error keep the rest alive
        log.exception("releasing a session's state failed")
    from panel.links import Callback

    for ref in session.links:
        key = ref()
        if key is not None:
            Callback.registry.pop(key, None)
    session.dashboard = None
    _schedule_trim()


def _schedule_trim() -> None:
    global _trim_pending
    if _trim_pending:
        return
    _trim_pending = True
    try:
        from tornado.ioloop import IOLoop

        IOLoop.current().call_later(_TRIM_DELAY_S, _collect)
    except Exception:
        _collect()


def _collect() -> None:
    """Collect the ended sessions' reference cycles, then give freed heap back to the system."""
    global _trim_pending
    _trim_pending = False
    gc.collect()
    trim_heap()


def trim_heap() -> bool:
    """``malloc_trim(0)`` on glibc (freed arrays otherwise stay in the process); False elsewhere."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):
        return False
