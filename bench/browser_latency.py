"""Browser-side dashboard latency on the default frame (Playwright + Debian's Chromium).

Measured in the page, from the user's action to the change being on screen:

- **first page**: ``goto`` until the first map (Raw displacement) is drawn, new browser context;
- **date switch**: a click on the player's *previous* button until every map's image source
  holds the new raster and the next animation frame has painted (median / 95th percentile /
  max of N), with the time the new images were received beside it (the rest is painting);
- **profile**: a line drawn with the mouse until its fitted offset is in the offsets table;
- date switches again with that profile drawn and, with ``--denoised``, after denoising (four
  maps: raw, denoised, noise, truth).

Run: ``nice -n 10 .venv/bin/python bench/browser_latency.py [--switches 40] [--note TEXT]`` (about
2 minutes on 2 cores). Appends a section to ``bench/results/app.md`` (``--no-record``: print only);
the load average at start and end is written with it (the budget applies under load).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "app"))

from _report import append_section  # noqa: E402

_DATE_SWITCH_JS = r"""
async () => {
  function deep(css) { function f(root) { const x = root.querySelector(css); if (x) return x;
      for (const el of root.querySelectorAll('*')) if (el.shadowRoot) { const y = f(el.shadowRoot); if (y) return y; }
      return null; } return f(document); }
  const srcs = Array.from(Bokeh.documents[0].all_models)
    .filter(m => m.type === 'ColumnDataSource' && m.data && m.data.image && m.data.image.length);
  const before = srcs.map(s => s.data.image[0]);
  const titles = ['Raw displacement', 'Denoised deformation', 'Removed noise', 'Truth'];
  // maps on the page now (the document keeps replaced figures for a while); hillshade and mask stay
  const nMaps = window.__plots().filter(p => titles.includes(p.title)).length;
  const t0 = performance.now();
  deep('button.previous').click();
  while (performance.now() - t0 < 20000) {
    await new Promise(r => requestAnimationFrame(r));
    if (srcs.filter((s, i) => s.data.image[0] !== before[i]).length >= nMaps) {
      const received = performance.now() - t0;  // every map's new image is in the document
      await new Promise(r => requestAnimationFrame(r));  // painted
      return [received, performance.now() - t0]; }
  }
  return null; }
"""


def _switches(pg, n: int) -> list[tuple[float, float]]:
    """``n`` date switches (previous date, one every 0.3 s) from the last date: (images
    received, painted) in ms after the click, per switch."""
    pg.locator("button.last").first.click()
    pg.wait_for_timeout(1500)
    out = []
    for _ in range(n):
        ms = pg.evaluate(_DATE_SWITCH_JS)
        if ms is not None:
            out.append((float(ms[0]), float(ms[1])))
        pg.wait_for_timeout(300)
    print(f"{len(out)} of {n} date switches timed", file=sys.stderr, flush=True)
    return out


def _stats(ms: list[float]) -> str:
    p95 = sorted(ms)[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"{statistics.median(ms):.0f} / {p95:.0f} / {max(ms):.0f} ms"


def _row(what: str, timed: list[tuple[float, float]]) -> str:
    """Painted (the budget's measure) median / p95 / max, and when the images were received."""
    received, painted = [r for r, _ in timed], [p for _, p in timed]
    return (
        f"| {what}, median / p95 / max of {len(timed)} | {_stats(painted)} "
        f"(images received: {_stats(received)}) |"
    )


def main() -> None:
    from _server import free_port, serve_command, wait_listening, warm_default_frame
    from conftest import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright
    from test_app_browser import _PLOTS_JS, at_fraction, plot, wait_for_map, wait_text

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--switches", type=int, default=40, help="date switches timed")
    ap.add_argument(
        "--note", default="", help="a sentence written under the table (what was measured)"
    )
    ap.add_argument("--no-record", action="store_true", help="print the table, do not append it")
    ap.add_argument(
        "--denoised",
        action="store_true",
        help="also denoise (default model, CPU) and time date switches with the four maps",
    )
    ap.add_argument("--pages", type=int, default=3, help="first pages timed (after one warm-up)")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    port = free_port()
    env = dict(
        os.environ, PYTHONUNBUFFERED="1", INSAR_AE_RESULT_CACHE="off", BOKEH_PY_LOG_LEVEL="warning"
    )
    warm_default_frame(env)
    proc = subprocess.Popen(
        serve_command(port, "--warm"),
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/main"
    try:
        wait_listening(port, proc, timeout=300)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            firsts = []
            for k in range(args.pages + 1):
                ctx = b.new_context(viewport={"width": 1600, "height": 1300})
                pg = ctx.new_page()
                pg.set_default_timeout(180_000)
                t0 = time.perf_counter()
                pg.goto(url, timeout=180_000)
                pg.evaluate("(js) => { window.__plots = eval('(' + js + ')'); }", _PLOTS_JS)
                wait_for_map(pg, "Raw displacement")
                if k:
                    firsts.append(time.perf_counter() - t0)
                if k < args.pages:
                    ctx.close()
            wait_text(pg, ".insar-date", r"date \d+ of")
            pg.wait_for_timeout(2000)
            switches = {"raw": _switches(pg, args.switches)}
            pg.get_by_role("button", name="Draw only", exact=True).click()
            m = plot(pg, "Raw displacement")
            a, c = at_fraction(m, 0.5, 0.15), at_fraction(m, 0.5, 0.85)
            pg.mouse.move(*a)
            pg.mouse.down()
            pg.wait_for_timeout(400)
            pg.mouse.up()
            pg.wait_for_timeout(200)
            t0 = time.perf_counter()
            pg.mouse.dblclick(*c)
            wait_text(pg, ".insar-offsets", r"P1\s+raw\s+-?\d+\.\d+ ± ")
            profile_s = time.perf_counter() - t0
            switches["profile"] = _switches(pg, args.switches)
            if args.denoised:
                t0 = time.perf_counter()
                pg.locator(".insar-denoise-run button").click()
                wait_text(pg, ".insar-denoise-status", r"Denoised|failed", timeout_ms=900_000)
                wait_for_map(pg, "Removed noise")
                denoise_s = time.perf_counter() - t0
                switches["denoised"] = _switches(pg, args.switches)
            b.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    rows = [
        f"| first page (goto -> first map drawn), median of {len(firsts)} | {statistics.median(firsts):.2f} s |",
        _row("date switch (click -> every map painted), raw + truth maps", switches["raw"]),
        f"| profile (double-click ending the line -> offset in the table) | {profile_s:.2f} s |",
        _row("date switch, raw + truth maps, one profile drawn", switches["profile"]),
    ]
    if "denoised" in switches:
        rows += [
            f"| denoising the frame (click -> four maps drawn) | {denoise_s:.1f} s |",
            _row(
                "date switch, four maps (raw, denoised, noise, truth), one profile",
                switches["denoised"],
            ),
        ]
    text = (
        f"## Browser-side latency (bench/browser_latency.py, {time.strftime('%Y-%m-%d')}, "
        f"{platform.node()}, {os.cpu_count()} CPUs)\n\n"
        "Default frame (512 x 512 x 80), `panel serve --warm`, Chromium headless (no GPU), measured in "
        f"the page; load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end. "
        "Budget (issue 17): date switch < 300 ms.\n\n"
        + (f"{args.note}\n\n" if args.note else "")
        + "| step | time |\n|---|---|\n"
        + "\n".join(rows)
    )
    print(text)
    if not args.no_record:
        append_section("app", text, "Dashboard latency")


if __name__ == "__main__":
    main()
