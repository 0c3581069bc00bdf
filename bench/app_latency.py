"""Dashboard latency: server-side date switch, profile + fit update, first page ready.

Usage::

    .venv/bin/python bench/app_latency.py [--size 2000] [--dates 16] [--repeat 15]
                                          [--no-browser] [--out bench/results/app.md]

1. **Date switch** on a size x size frame built in memory (``insar_ae.testing.tiny_frame``:
   a step plus white noise), with the four map layers (raw, denoised, noise, truth; the
   "denoised" layer is the truth plus 0.3 mm noise, the values do not matter for speed): time
   of ``state.time_index = i`` on a rendered dashboard (every view updates: four rasterized
   maps, time series, date label...), plus serialising the resulting Bokeh patch, as the
   server does before sending it. Reported without and with an active profile line.
2. **Profile + fit update** after a line is drawn (``set_profiles_from_drawing``): swath
   profiles, step fits, offsets through time with transient detection, plots and table; on
   the same frame and on the default catalog frame.
3. **First page ready** (Playwright + Debian's Chromium, skipped without it): ``panel serve``
   on a free port; time from ``goto`` until the maps are drawn and the date label is shown, for
   the first session of a fresh server (imports included) and for a second session.

Times are wall-clock medians; CPU time of the process is given too, since the bench machine
is shared (see the load average printed in the results).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import numpy as np  # noqa: E402
from _report import cpu_model  # noqa: E402
from _server import free_port, serve_command, wait_listening  # noqa: E402


def _frame(size: int, n_dates: int):
    from insar_ae.testing import tiny_frame

    ds = tiny_frame(0, n_time=n_dates, ny=size, nx=size, pixel_m=50.0, noise_mm=3.0)
    rng = np.random.default_rng(1)
    den = ds["deformation_true"] + rng.normal(0, 0.3, ds["deformation_true"].shape).astype(
        np.float32
    )
    out = ds.assign(deformation=den.assign_attrs(units="mm"))
    return out.assign(noise=(out["displacement"] - out["deformation"]).assign_attrs(units="mm"))


class _Patches:
    """Collects the document's change events and serialises them like the server does."""

    def __init__(self, doc):
        from bokeh.document.events import DocumentPatchedEvent

        self.doc, self.events, self._kind = doc, [], DocumentPatchedEvent
        doc.callbacks.on_change(self._on)

    def _on(self, event):
        if isinstance(event, self._kind):
            self.events.append(event)

    def flush(self) -> int:
        from bokeh.protocol import Protocol

        if not self.events:
            return 0
        msg = Protocol().create("PATCH-DOC", self.events)
        size = (
            len(msg.header_json)
            + len(msg.content_json)
            + sum(len(b.to_bytes()) for b in msg.buffers)
        )
        self.events = []
        return size


def _dashboard(state):
    from bokeh.document import Document

    from app.main import Dashboard

    dash = Dashboard(state=state)
    doc = Document()
    doc.add_root(dash.__panel__().get_root(doc))
    return dash, _Patches(doc)


def _timed(fn, patches) -> tuple[float, float, int]:
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    size = patches.flush()
    return time.perf_counter() - w0, time.process_time() - c0, size


def bench_date_switch(size: int, n_dates: int, repeat: int) -> list[dict]:
    from app.state import DashboardState

    ds = _frame(size, n_dates)
    state = DashboardState(datasets={f"memory-{size}": ds})
    den = state.denoising
    den._remember(den._key, ds)  # the "denoised" layers above, as a result of this session
    den.start_denoise()  # cache hit: shows them at once
    assert state.layers() == ["displacement", "deformation", "noise", "deformation_true"]
    _dash, patches = _dashboard(state)
    patches.flush()
    rows = []
    for label in ("no profile", "one profile"):
        if label == "one profile":
            x, y = ds["x"].values, ds["y"].values
            state.analysis.add_profile(
                [[x[size // 10], y[size // 2]], [x[-size // 10], y[size // 2]]]
            )
            patches.flush()
        for i in range(2):  # warm-up (numba compilation of the regridding)
            state.time_index = i
        patches.flush()
        w, c, b = [], [], []
        for k in range(repeat):
            i = (k * 7 + 3) % n_dates
            if i == state.time_index:
                i = (i + 1) % n_dates
            tw, tc, nb = _timed(lambda i=i: setattr(state, "time_index", i), patches)
            w.append(tw), c.append(tc), b.append(nb)
        rows.append(
            {
                "what": f"date switch, {size} x {size}, 4 maps, {label}",
                "wall_ms": 1e3 * statistics.median(w),
                "p90_ms": 1e3 * float(np.percentile(w, 90)),
                "cpu_ms": 1e3 * statistics.median(c),
                "patch_kB": statistics.median(b) / 1e3,
                "budget_ms": 150,
            }
        )
    return rows


def bench_profile(state, label: str, repeat: int) -> list[dict]:
    """Draw a line: (a) until the profile, its fit and the offsets table are updated (the
    offset-through-time plot is deferred to the next tick on the server), (b) until that
    plot is updated too."""
    dash, patches = _dashboard(state)
    deferred: list = []
    dash.profiles._defer = deferred.append  # what the server runs on the next tick
    patches.flush()
    x, y = state.dataset["x"].values, state.dataset["y"].values
    nx, ny = x.size, y.size
    first, full, cpu = [], [], []
    for k in range(repeat):
        j = ny // 2 + (k % 5) - 2  # a slightly different line each time (no memo)
        xs, ys = [x[nx // 10], x[-nx // 10]], [y[j], y[j]]
        w0, c0 = time.perf_counter(), time.process_time()
        state.analysis.set_profiles_from_drawing([xs], [ys])
        patches.flush()
        first.append(time.perf_counter() - w0)
        while deferred:
            deferred.pop(0)()
        patches.flush()
        full.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
        state.analysis.clear_profiles()
        while deferred:
            deferred.pop(0)()
        patches.flush()
    return [
        {
            "what": f"profile + fit drawn (plot, fit text, offsets table), {label}",
            "wall_ms": 1e3 * statistics.median(first),
            "p90_ms": 1e3 * float(np.percentile(first, 90)),
            "cpu_ms": float("nan"),
            "patch_kB": float("nan"),
            "budget_ms": 300,
        },
        {
            "what": f"... then offset through time of every date + transient, {label}",
            "wall_ms": 1e3 * statistics.median(full),
            "p90_ms": 1e3 * float(np.percentile(full, 90)),
            "cpu_ms": 1e3 * statistics.median(cpu),
            "patch_kB": float("nan"),
            "budget_ms": "—",
        },
    ]


_READY_JS = (
    "() => { const f = []; const seen = new Set(); function w(v) { if (!v || seen.has(v)) return; "
    "seen.add(v); if (v.model && v.model.type === 'Figure' && v.frame && v.model.title && "
    "v.model.title.text === 'Raw displacement') f.push(v); for (const c of (v.child_views || [])) w(c); } "
    "if (!window.Bokeh) return false; for (const v of Object.values(Bokeh.index)) w(v); "
    "return f.length > 0 && !!document.title; }"
)


def _serve(extra: list[str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(
        serve_command(port, *extra),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port, proc, timeout=300)
    except (RuntimeError, TimeoutError):
        proc.kill()
        raise
    return proc, port


def bench_first_page() -> list[dict]:
    """Time from goto to the drawn maps: fresh server (imports, JIT, frame read in the first
    session), its second session, and a server started with --warm (all that done before)."""
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        print("first page: skipped (no /usr/bin/chromium)")
        return []
    from playwright.sync_api import sync_playwright

    from insar_ae.catalog import DEFAULT_FRAME, open_catalog_frame

    open_catalog_frame(DEFAULT_FRAME)  # generated and cached on disk before timing
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for extra, labels in (
            ([], ("fresh server, first session", "fresh server, second session")),
            (["--warm"], ("server started with --warm, first session",)),
        ):
            proc, port = _serve(extra)
            try:
                for label in labels:
                    page = browser.new_page(viewport={"width": 1600, "height": 1300})
                    t0 = time.perf_counter()
                    page.goto(f"http://127.0.0.1:{port}/main", timeout=300_000)
                    page.wait_for_function(_READY_JS, timeout=300_000, polling=100)
                    rows.append(
                        {
                            "what": f"first page ready, default frame ({label})",
                            "wall_ms": 1e3 * (time.perf_counter() - t0),
                            "p90_ms": float("nan"),
                            "cpu_ms": float("nan"),
                            "patch_kB": float("nan"),
                            "budget_ms": 5000,
                        }
                    )
                    page.close()
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        browser.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=2000)
    ap.add_argument("--dates", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="append a markdown section to this file")
    args = ap.parse_args()

    import holoviews as hv

    hv.extension("bokeh", logo=False)
    from app.state import DashboardState
    from insar_ae.catalog import DEFAULT_FRAME

    load0 = os.getloadavg()
    rows = bench_date_switch(args.size, args.dates, args.repeat)
    big = DashboardState(datasets={"memory": _frame(args.size, args.dates)})
    rows += bench_profile(
        big, f"{args.size} x {args.size} x {args.dates} (raw + truth)", max(5, args.repeat // 3)
    )
    default = DashboardState(frame=DEFAULT_FRAME)
    shape = f"{default.dataset.sizes['y']} x {default.dataset.sizes['x']} x {default.dataset.sizes['time']}"
    rows += bench_profile(
        default, f"default frame {DEFAULT_FRAME} ({shape})", max(5, args.repeat // 3)
    )
    if not args.no_browser:
        rows += bench_first_page()
    load1 = os.getloadavg()

    cpu = cpu_model()
    lines = [
        f"## Dashboard latency ({date.today():%Y-%m-%d})",
        "",
        f"Machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}; load average "
        f"{load0[0]:.1f} at start, {load1[0]:.1f} at end (the machine is shared: wall times include "
        "waiting for a core; CPU time is this process's).",
        f"Command: `.venv/bin/python bench/app_latency.py --size {args.size} --dates {args.dates} "
        f"--repeat {args.repeat}{' --no-browser' if args.no_browser else ''}`",
        "",
        "| what | median wall (ms) | p90 wall (ms) | median CPU (ms) | patch (kB) | budget (ms) |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def num(v: object) -> str:
        return "—" if not isinstance(v, (int, float)) or v != v else f"{v:.0f}"

    for r in rows:
        lines.append(
            f"| {r['what']} | {num(r['wall_ms'])} | {num(r['p90_ms'])} | {num(r['cpu_ms'])} | "
            f"{num(r['patch_kB'])} | {r['budget_ms']} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
