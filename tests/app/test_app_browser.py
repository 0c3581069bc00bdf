"""The dashboard used as a person would: Playwright drives Debian's Chromium against a
``panel serve app/main.py`` started on a free localhost port (fixtures in conftest.py).

The tests share one page and run in file order (each step builds on the previous one, as a
user's session does). Screenshots go to test-artifacts/app/; with INSAR_AE_UPDATE_SCREENSHOT=1
the last test also writes docs/screenshots/dashboard.png and dashboard-profiles.png (default
frame denoised, candidate profiles).
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SMALL_FRAME = "test-small-fault"  # the entry of the test catalog (conftest.TEST_CATALOG)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Plot frames of every Bokeh figure: title, frame box on the page, data ranges.
_PLOTS_JS = r"""
() => { const out = []; const seen = new Set();
  function walk(v) { if (!v || seen.has(v)) return; seen.add(v);
    if (v.model && v.model.type === 'Figure' && v.frame) {
      const r = v.canvas_view.el.getBoundingClientRect(); const f = v.frame.bbox;
      out.push({title: v.model.title ? v.model.title.text : null, left: r.left + f.left,
                top: r.top + f.top, width: f.width, height: f.height,
                x0: v.frame.x_range.start, x1: v.frame.x_range.end,
                y0: v.frame.y_range.start, y1: v.frame.y_range.end}); }
    for (const c of (v.child_views || [])) walk(c); }
  for (const v of Object.values(Bokeh.index)) walk(v); return out; }
"""
TIMEOUT_MS = 180_000  # 2 shared CPU cores: be patient, never flaky


@pytest.fixture(scope="module")
def page(browser, served_app, artifacts):
    ctx = browser.new_context(viewport={"width": 1600, "height": 1300}, accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.goto(served_app, timeout=TIMEOUT_MS)
    pg.evaluate("(js) => { window.__plots = eval('(' + js + ')'); }", _PLOTS_JS)
    wait_for_map(pg, "Raw displacement")
    yield pg
    pg.screenshot(path=str(artifacts / "final.png"), full_page=True)
    ctx.close()


def wait_for_map(pg, title: str) -> dict:
    pg.wait_for_function(
        f"() => window.__plots && window.__plots().some(p => p.title === {title!r})",
        timeout=TIMEOUT_MS,
        polling=500,
    )
    return plot(pg, title)


def plot(pg, title: str) -> dict:
    return next(p for p in pg.evaluate("() => window.__plots()") if p["title"] == title)


def to_page(m: dict, x: float, y: float) -> tuple[float, float]:
    """Data (x, y) on map ``m`` -> page pixel coordinates."""
    return (
        m["left"] + (x - m["x0"]) / (m["x1"] - m["x0"]) * m["width"],
        m["top"] + (m["y1"] - y) / (m["y1"] - m["y0"]) * m["height"],
    )


def at_fraction(m: dict, fx: float, fy: float) -> tuple[float, float]:
    """Page coordinates at fractions of the map frame (fy = 0 bottom, 1 top)."""
    return m["left"] + fx * m["width"], m["top"] + (1.0 - fy) * m["height"]


_TEXT_JS = r"""
(css) => { function find(root) { const x = root.querySelector(css); if (x) return x;
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) { const y = find(el.shadowRoot); if (y) return y; }
    return null; }
  const el = find(document); if (!el) return null;
  const root = el.shadowRoot || el;
  return Array.from(root.querySelectorAll('div')).map(d => d.innerText).join('\n'); }
"""

# Axis labels and the tick labels BokehJS draws, of the figure titled `title`.
_AXES_JS = r"""
(title) => { const out = []; const seen = new Set();
  function walk(v) { if (!v || seen.has(v)) return; seen.add(v);
    if (v.model && v.model.type === 'Figure' && v.model.title && v.model.title.text === title && v.renderer_views) {
      for (const rv of v.renderer_views.values()) {
        if (rv.model.type.endsWith('Axis')) {
          const ticks = rv.tick_coords.major[rv.dimension];
          out.push({label: rv.model.axis_label, dim: rv.dimension,
                    ticks: rv.model.formatter.doFormat(ticks, {loc: 0})}); } } }
    for (const c of (v.child_views || [])) walk(c); }
  for (const v of Object.values(Bokeh.index)) walk(v); return out; }
"""
# Text of the map's hover tooltip shown now.
_TOOLTIP_JS = r"""
() => { const out = [];
  function walk(root) { for (const el of root.querySelectorAll('.bk-tooltip-content, .bk-Tooltip'))
      if (el.getBoundingClientRect().width > 0) out.push(el.innerText);
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot); }
  walk(document); return out.join('\n'); }
"""


def map_axes(pg, title: str) -> dict[str, dict]:
    """{"x": {"label", "ticks"}, "y": ...} of a map, as drawn."""
    return {("x", "y")[a["dim"]]: a for a in pg.evaluate(_AXES_JS, title)}


def check_plain_ticks(axes: dict[str, dict], lo_hi: dict[str, tuple[float, float]]) -> None:
    """Tick labels are plain numbers (thousands separators at most) inside the map's range."""
    for dim, (lo, hi) in lo_hi.items():
        ticks = axes[dim]["ticks"]
        assert len(ticks) >= 2, axes
        for t in ticks:
            assert re.fullmatch(r"[-−]?[\d,]+(\.\d+)?", t), (
                t
            )  # no 4.51856e+06 (− is Bokeh's minus sign)
            assert lo <= float(t.replace(",", "").replace("−", "-")) <= hi, (t, lo, hi)


def text_of(pg, css: str) -> str:
    """Text of a Panel pane found by its css class (its content lives in a shadow root)."""
    return pg.evaluate(_TEXT_JS, css) or ""


def wait_text(pg, css: str, pattern: str, timeout_ms: int = TIMEOUT_MS) -> str:
    """Wait until the pane's text matches ``pattern`` (regex); return the text."""
    pg.wait_for_function(
        f"([css, pat]) => {{ const t = ({_TEXT_JS})(css); return t && new RegExp(pat).test(t); }}",
        arg=[css, pattern],
        timeout=timeout_ms,
        polling=300,
    )
    return text_of(pg, css)


_DEEP_JS = r"""
(css) => { const out = [];
  function walk(root) { for (const el of root.querySelectorAll(css)) out.push(el);
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot); }
  walk(document); return out; }
"""


def deep_rects(pg, css: str) -> list[dict]:
    """Bounding boxes and display of every element matching ``css``, shadow roots included."""
    return pg.evaluate(
        f"(css) => ({_DEEP_JS})(css).map(e => {{ const r = e.getBoundingClientRect();"
        "return {x: r.x, y: r.y, w: r.width, h: r.height,"
        "display: getComputedStyle(e).display}; })",
        css,
    )


def test_page_opens_on_the_default_frame(page, artifacts):
    from insar_ae.catalog import DEFAULT_FRAME

    assert page.title() == "insar_ae"
    assert page.locator("select").first.input_value() == DEFAULT_FRAME
    info = wait_text(page, ".insar-frame-info", r"\d+ x \d+ px")
    assert "dates" in info and "truth" in info
    label = wait_text(page, ".insar-date", r"date \d+ of \d+")
    n = int(re.search(r"of (\d+)", label).group(1))
    assert f"date {n} of {n}" in label  # opens on the last date
    m = plot(page, "Raw displacement")
    assert m["width"] > 200 and m["x1"] > m["x0"]
    page.screenshot(path=str(artifacts / "01_default_frame.png"), full_page=True)


def test_the_page_works_offline_with_no_failed_request(browser, served_app, artifacts):
    """Every request off this server is blocked: none may be made, and none may fail."""
    from urllib.parse import urlparse

    host = urlparse(served_app).netloc
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    blocked: list[str] = []
    failed: list[str] = []

    def route(r) -> None:
        u = urlparse(r.request.url)
        if u.scheme in ("data", "blob") or u.netloc == host:
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    try:
        ctx.route("**/*", route)
        pg = ctx.new_page()
        pg.on("requestfailed", lambda r: failed.append(r.url))
        pg.set_default_timeout(TIMEOUT_MS)
        pg.goto(served_app, timeout=TIMEOUT_MS)
        pg.evaluate("(js) => { window.__plots = eval('(' + js + ')'); }", _PLOTS_JS)
        wait_for_map(pg, "Raw displacement")
        wait_text(pg, ".insar-date", r"date \d+ of")
        pg.wait_for_timeout(2000)
        pg.screenshot(path=str(artifacts / "00_offline.png"))
    finally:
        ctx.close()
    assert blocked == [] and failed == [], (blocked, failed)


def test_maps_say_date_units_and_the_device_is_a_selector(page):
    date = re.search(r"\d{4}-\d{2}-\d{2}", text_of(page, ".insar-date")).group(0)
    banner = wait_text(page, ".insar-map-date", date)
    assert "LOS mm, positive toward the satellite" in banner
    titles = page.evaluate(
        "() => Array.from(Bokeh.documents[0].all_models)"
        ".filter(m => m.type === 'ColorBar').map(m => m.title)"
    )
    assert titles and set(titles) == {"LOS mm, positive toward the satellite"}
    assert page.locator(".insar-device select").count() == 1  # a selector, not buttons
    assert not re.search(r"\d\.\d+e\+\d", text_of(page, ".insar-pixel"))  # no 4.51856e+06
    # one date slider: the player's own slider is hidden
    player_sliders = page.evaluate(
        f"() => ({_DEEP_JS})('.insar-player').flatMap(h => "
        "Array.from((h.shadowRoot || h).querySelectorAll('input[type=range]')))"
        ".filter(e => e.getBoundingClientRect().width > 0).length"
    )
    assert player_sliders == 0


def test_map_axes_and_hovers_read_plain_numbers_in_x_y_order(page):
    """Axes x (m) and y (m) with plain tick numbers; the hover says x, then y, then the value;
    the reference the data came with is drawn; the colour limits are in an open card."""
    m = plot(page, "Raw displacement")
    axes = map_axes(page, "Raw displacement")
    assert axes["x"]["label"] == "x (m)" and axes["y"]["label"] == "y (m)"
    check_plain_ticks(axes, {"x": (m["x0"], m["x1"]), "y": (m["y0"], m["y1"])})
    page.mouse.move(*at_fraction(m, 0.4, 0.6))
    page.wait_for_function(
        f"() => ({_TOOLTIP_JS})().includes('LOS mm')", timeout=30_000, polling=200
    )
    tip = page.evaluate(_TOOLTIP_JS)
    assert not re.search(r"\de[+-]\d", tip), tip
    hx, hy = (float(re.search(rf"{k}\s*:?\s*(-?[\d.]+)", tip).group(1)) for k in ("x", "y"))
    assert abs(hx - (m["x0"] + 0.4 * (m["x1"] - m["x0"]))) < 0.02 * (m["x1"] - m["x0"]), tip
    assert abs(hy - (m["y0"] + 0.6 * (m["y1"] - m["y0"]))) < 0.02 * (m["y1"] - m["y0"]), tip
    assert tip.index("x") < tip.index("y") < tip.index("LOS mm")
    page.mouse.move(5, 5)
    # the reference as delivered: a yellow square on each map shown (the document may still hold
    # the empty one of a replaced first draw)
    shown = sum(
        p["title"] in ("Raw displacement", "Truth") for p in page.evaluate("() => window.__plots()")
    )
    refs = page.evaluate(
        "() => Array.from(Bokeh.documents[0].all_models).filter(m => m.type === 'GlyphRenderer'"
        " && m.glyph && m.glyph.fill_color && m.glyph.fill_color.value === '#ffeb3b')"
        ".map(m => (m.data_source.data.xs || []).length)"
    )
    assert refs.count(1) == shown == 2, refs
    assert "as delivered (x=" in text_of(page, ".insar-map-date")
    assert page.get_by_text(
        "Auto-range percentile"
    ).first.is_visible()  # colour limits: an open card


def test_maps_follow_the_date_slider_while_it_is_dragged(page):
    before = text_of(page, ".insar-map-date")
    handle = next(
        r for r in deep_rects(page, ".insar-date-slider .noUi-handle, .noUi-handle") if r["w"] > 0
    )
    track = next(r for r in deep_rects(page, ".noUi-base") if r["w"] > 0)
    x, y = handle["x"] + handle["w"] / 2, handle["y"] + handle["h"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for k in range(1, 11):  # drag left over about 40 % of the track, still pressed
        page.mouse.move(x - 0.04 * k * track["w"], y)
        page.wait_for_timeout(60)
    page.wait_for_function(
        f"() => ({_TEXT_JS})('.insar-map-date') !== {before!r}", timeout=30_000, polling=100
    )
    during = text_of(page, ".insar-map-date")
    page.mouse.up()
    assert during != before  # the maps changed date before the release
    page.locator("button.last").first.click()
    wait_text(page, ".insar-date", r"date (\d+) of \1")


def test_player_steps_change_the_date_label(page):
    before = text_of(page, ".insar-date")
    page.locator("button.first").first.click()
    first = wait_text(page, ".insar-date", r"date 1 of")
    assert first != before
    page.locator("button.next").first.click()
    second = wait_text(page, ".insar-date", r"date 2 of")
    assert second.split(" ")[0] > first.split(" ")[0]  # ISO dates sort as strings
    page.locator("button.last").first.click()
    wait_text(page, ".insar-date", r"date (\d+) of \1")


def test_clicking_a_map_shows_that_pixels_time_series(page):
    m = plot(page, "Raw displacement")
    before = text_of(page, ".insar-pixel")
    x = m["x0"] + 0.3 * (m["x1"] - m["x0"])
    y = m["y0"] + 0.7 * (m["y1"] - m["y0"])
    page.mouse.click(*to_page(m, x, y))
    page.wait_for_function(
        f"() => ({_TEXT_JS})('.insar-pixel') !== {before!r}", timeout=TIMEOUT_MS, polling=300
    )
    txt = text_of(page, ".insar-pixel")
    got_x = float(re.search(r"x=([-\d.e+]+)", txt).group(1))
    got_y = float(re.search(r"y=([-\d.e+]+)", txt).group(1))
    assert abs(got_x - x) < 0.02 * (m["x1"] - m["x0"])
    assert abs(got_y - y) < 0.02 * (m["y1"] - m["y0"])
    assert re.search(r"raw -?\d+\.\d+ mm", txt), txt
    PIXEL.update(x=got_x, y=got_y)


PIXEL: dict[str, float] = {}  # the pixel inspected above (valid data), reused as reference


def test_drawing_a_profile_shows_a_fitted_offset(page, artifacts):
    page.get_by_role("button", name="Draw only", exact=True).click()
    wait_text(page, ".insar-click-mode", "only draw profiles")
    pixel_before = text_of(page, ".insar-pixel")
    m = plot(page, "Raw displacement")
    a, b = at_fraction(m, 0.5, 0.15), at_fraction(m, 0.5, 0.85)
    page.mouse.move(*a)
    page.mouse.down()
    page.wait_for_timeout(500)  # press and hold 300 ms: first vertex
    page.mouse.up()
    page.wait_for_timeout(300)
    page.mouse.dblclick(*b)  # last vertex, ends the line
    page.wait_for_timeout(300)
    page.keyboard.press("Escape")
    txt = wait_text(page, ".insar-offsets", r"P1\s+raw\s+-?\d+\.\d+ ± \d+\.\d+ mm")
    assert "truth" in txt  # the default frame has a truth
    assert text_of(page, ".insar-pixel") == pixel_before  # drawing left the inspected pixel alone
    page.screenshot(path=str(artifacts / "02_profile.png"), full_page=True)


def test_setting_a_reference_point_changes_the_values(page):
    """Referencing to the inspected pixel itself makes its values 0 at every date."""
    before = text_of(page, ".insar-pixel")
    assert not re.search(r"raw -?0\.00 mm", before)
    page.get_by_role("button", name="Set reference", exact=True).click()
    wait_text(page, ".insar-click-mode", "sets the reference")  # the server has the mode
    m = plot(page, "Raw displacement")
    page.mouse.click(*to_page(m, PIXEL["x"], PIXEL["y"]))
    ref = wait_text(page, ".insar-reference", r"point x=")
    assert f"x={PIXEL['x']:.6g}"[:8] in ref
    after = wait_text(page, ".insar-pixel", r"raw -?0\.00 mm")
    assert after != before
    page.get_by_role("button", name="Inspect pixel", exact=True).click()
    wait_text(page, ".insar-click-mode", "inspects a pixel")


def test_time_series_csv_download_matches_the_frame(page, artifacts):
    label = text_of(page, ".insar-date")
    n = int(re.search(r"of (\d+)", label).group(1))
    with page.expect_download(timeout=TIMEOUT_MS) as dl:
        page.get_by_role("button", name=re.compile("Time series \\(CSV\\)")).click()
    path = Path(dl.value.path())
    shutil.copy(path, artifacts / dl.value.suggested_filename)
    text = path.read_text()
    assert text.startswith("# frame=") and "reference=point" in text
    rows = list(csv.DictReader(io.StringIO("\n".join(text.splitlines()[1:]))))
    assert len(rows) == n
    assert {"date", "raw_mm", "truth_mm"} <= set(rows[0])
    dates = [r["date"] for r in rows]
    assert dates == sorted(dates) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", dates[0])
    assert all(r["raw_mm"] == "" or abs(float(r["raw_mm"])) < 1e4 for r in rows)


def test_profiles_csv_download_has_the_offsets(page, artifacts):
    with page.expect_download(timeout=TIMEOUT_MS) as dl:
        page.get_by_role("button", name=re.compile("Profiles \\(CSV\\)")).click()
    text = Path(dl.value.path()).read_text()
    rows = list(csv.DictReader(io.StringIO("\n".join(text.splitlines()[1:]))))
    assert {r["series"] for r in rows} >= {"raw", "truth"}
    assert all(r["profile"] == "1" for r in rows)
    assert any(r["offset_mm"] not in ("", "nan") for r in rows)
    check_crossing_against_truth(text, rows, "1")


def check_crossing_against_truth(text: str, rows: list[dict], profile: str) -> None:
    """The crossing used is within one swath width of the truth's, and the truth fitted there is
    within 20 % of the truth fitted at the truth's own crossing (default frame's fault)."""
    import numpy as np

    from insar_ae.analysis import fit_step, locate_fault

    width = float(re.search(r"swath width=([\d.e+]+)", text).group(1))
    truth = [r for r in rows if r["series"] == "truth" and r["profile"] == profile]
    d = np.array([float(r["distance"]) for r in truth])
    v = np.array([float(r["median_mm"]) if r["median_mm"] else np.nan for r in truth])
    x0 = float(truth[0]["x0"])
    true_x0 = locate_fault(d, v)
    assert abs(x0 - true_x0) <= width, (x0, true_x0, width)
    expected = fit_step(d, v, x0=true_x0).offset_mm
    assert abs(expected) > 5.0  # the line crosses the fault
    assert float(truth[0]["offset_mm"]) == pytest.approx(expected, rel=0.2)


def test_a_second_session_does_not_share_the_first_ones_state(page, browser, served_app):
    """Another browser session starts fresh: default frame, last date, no reference, no profile."""
    assert "point x=" in text_of(page, ".insar-reference")  # the first session has both
    assert "P1" in text_of(page, ".insar-offsets")
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        other = ctx.new_page()
        other.set_default_timeout(TIMEOUT_MS)
        other.goto(served_app, timeout=TIMEOUT_MS)
        wait_text(other, ".insar-date", r"date (\d+) of \1")  # opens on its last date
        assert "as delivered" in wait_text(other, ".insar-reference", r"Reference")
        assert "No profile yet" in wait_text(other, ".insar-offsets", r"\w")
    finally:
        ctx.close()
    assert "point x=" in text_of(page, ".insar-reference")  # and the first one is untouched


def test_a_typed_crossing_refits_every_layer(page):
    page.locator(".insar-crossing input").fill("3.5")
    page.locator(".insar-crossing input").press("Enter")
    wait_text(page, ".insar-offsets", r"3\.50 km")
    page.locator(".insar-crossing-reset button").click()  # back to the located crossing
    page.wait_for_function(
        f"() => !/3\\.50 km/.test(({_TEXT_JS})('.insar-offsets'))", timeout=TIMEOUT_MS, polling=300
    )


def test_clicking_the_profile_plot_moves_the_crossing(page):
    """A click on the swath profile sets the crossing there (km along the line) for every layer;
    *Locate crossing again* goes back to the located one."""
    prof = next(
        p
        for p in page.evaluate("() => window.__plots()")
        if re.search(r"P1 swath profile", p["title"] or "")
    )
    before = wait_text(page, ".insar-offsets", r"P1\s+raw")
    located = float(re.search(r"(-?\d+\.\d+) km", before).group(1))
    fx = 0.25 if (located - prof["x0"]) / (prof["x1"] - prof["x0"]) > 0.5 else 0.75
    want = prof["x0"] + fx * (prof["x1"] - prof["x0"])
    page.mouse.click(*at_fraction(prof, fx, 0.5))
    page.wait_for_function(
        f"() => ({_TEXT_JS})('.insar-offsets') !== {before!r}", timeout=TIMEOUT_MS, polling=300
    )
    txt = text_of(page, ".insar-offsets")
    got = [float(v) for v in re.findall(r"(-?\d+\.\d+) km", txt)]
    tol = 0.02 * (prof["x1"] - prof["x0"])
    assert got and all(abs(g - want) < tol for g in got), (got, want, tol)  # every layer, one x0
    page.locator(".insar-crossing-reset button").click()
    back = wait_text(page, ".insar-offsets", rf"{located:.2f} km")
    assert float(re.search(r"(-?\d+\.\d+) km", back).group(1)) == located


def test_candidate_fault_profiles_cross_the_fault(page, artifacts):
    page.get_by_role("button", name="Clear profiles").click()
    wait_text(page, ".insar-offsets", "No profile yet")
    page.get_by_role("button", name="Profiles across candidate faults").click()
    txt = wait_text(page, ".insar-offsets", r"P1\s+raw\s+-?\d+\.\d+")
    n = len(set(re.findall(r"P(\d+)\s+raw", txt)))
    assert 1 <= n <= 3, txt
    page.screenshot(path=str(artifacts / "02b_candidates.png"), full_page=True)
    with page.expect_download(timeout=TIMEOUT_MS) as dl:
        page.get_by_role("button", name=re.compile("Profiles \\(CSV\\)")).click()
    text = Path(dl.value.path()).read_text()
    rows = list(csv.DictReader(io.StringIO("\n".join(text.splitlines()[1:]))))
    for k in range(1, n + 1):
        check_crossing_against_truth(text, rows, str(k))


def test_rate_map_and_two_pixels_either_side_of_the_fault(page, artifacts):
    page.locator(".insar-show-rate input").check()
    wait_for_map(page, "Rate of the raw data (linear + annual fit, mm/yr)")
    for fy in (0.3, 0.7):  # south and north of the fault (it runs N80E through the centre)
        page.locator(".insar-map-date").first.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        m = plot(page, "Raw displacement")  # where it is now (the page may have scrolled)
        before = text_of(page, ".insar-pixel")
        page.mouse.click(*at_fraction(m, 0.5, fy))
        page.wait_for_function(
            f"() => ({_TEXT_JS})('.insar-pixel') !== {before!r}", timeout=TIMEOUT_MS, polling=300
        )
        assert re.search(
            r"raw -?\d+\.\d+ ± \d+\.\d+ mm/yr", wait_text(page, ".insar-pixel-rate", "mm/yr")
        )
        page.locator(".insar-pin button").click()
    txt = wait_text(page, ".insar-compare", r"B - A")
    diff = float(re.search(r"B - A\s+difference\s+(-?\d+\.\d+) ±", txt).group(1))
    assert abs(diff) > 1.0  # a creeping fault between them
    page.screenshot(path=str(artifacts / "02c_rate_and_pixels.png"), full_page=True)
    with page.expect_download(timeout=TIMEOUT_MS) as dl:
        page.get_by_role("button", name=re.compile("Pinned pixels")).click()
    text = Path(dl.value.path()).read_text()
    assert "# rate B - A:" in text and "B_minus_A_sigma_mm" in text
    page.locator(".insar-show-rate input").uncheck()


def test_a_geographic_frame_reads_longitude_latitude_and_opens_on_valid_data(page, real_data_dir):
    """Sydney (MintPy, degrees, masked pixels): lon/lat axes with plain ticks, and the inspected
    pixel at opening has data."""
    page.locator("select").first.select_option("sydney-envisat")
    wait_text(page, ".insar-frame-info", r"47 x 72 px|72 x 47 px")
    pix = wait_text(page, ".insar-pixel", r"raw -?\d+\.\d+ mm")
    assert "nan" not in pix.lower(), pix
    m = wait_for_map(page, "Raw displacement")
    page.wait_for_function(
        "() => window.__plots().some(p => p.title === 'Raw displacement' && p.x0 > 100)",
        timeout=TIMEOUT_MS,
        polling=300,
    )
    m = plot(page, "Raw displacement")
    axes = map_axes(page, "Raw displacement")
    assert axes["x"]["label"] == "longitude (°)" and axes["y"]["label"] == "latitude (°)"
    check_plain_ticks(axes, {"x": (m["x0"], m["x1"]), "y": (m["y0"], m["y1"])})
    assert 150 < m["x0"] < 152 and -35 < m["y0"] < -33  # x is the longitude, y the latitude


def test_denoising_runs_to_the_end_and_is_cached(page, artifacts):
    """The default frame (512 x 512 x 80) is denoised to the end with the default series model
    (all dates at once, tile batch by tile batch); the page stays responsive meanwhile, and
    coming back to the frame shows the cached result at once."""
    from insar_ae.catalog import DEFAULT_FRAME

    page.locator("select").first.select_option(DEFAULT_FRAME)
    wait_text(page, ".insar-frame-info", r"512 x 512 px")
    page.locator(".insar-denoise-run button").click()
    # the series model reports tile batches, each carrying all 80 dates
    wait_text(page, ".insar-denoise-status", r"tile batch \d+/\d+|Denoised")
    # responsive while it runs: the player still moves the date
    page.locator("button.first").first.click()
    wait_text(page, ".insar-date", r"date 1 of")
    status = wait_text(page, ".insar-denoise-status", r"Denoised|failed", timeout_ms=900_000)
    assert "Denoised" in status, status
    wait_for_map(page, "Denoised deformation")
    wait_for_map(page, "Removed noise")
    page.screenshot(path=str(artifacts / "03_denoised.png"), full_page=True)
    # the cube export: written compressed first, its size said, then downloaded as that file
    page.locator(".insar-nc-prepare button").click()
    size_text = wait_text(page, ".insar-nc-size", r"\d+(\.\d+)? (MB|kB)")
    with page.expect_download(timeout=TIMEOUT_MS) as dl:  # a plain HTTP download (--static-dirs)
        page.locator(".insar-nc-link a").click()
    nc = Path(dl.value.path())
    said = float(re.search(r"([\d.]+) MB", size_text).group(1))
    assert abs(nc.stat().st_size / 1e6 - said) <= 0.1, (nc.stat().st_size, size_text)
    raw_mb = 512 * 512 * 80 * 4 * 4 / 1e6  # four float32 cubes
    assert nc.stat().st_size / 1e6 < 0.95 * raw_mb  # lossless zlib: noisy floats shrink ~15-20 %
    print(f"NetCDF export: {nc.stat().st_size / 1e6:.1f} MB (uncompressed cubes {raw_mb:.0f} MB)")
    import xarray as xr

    back = xr.open_dataset(
        nc, engine="h5netcdf"
    )  # the attributes as stored (open_frame adds its own source)
    texts = [
        v
        for a in [back.attrs, *(back[v].attrs for v in back.variables)]
        for v in a.values()
        if isinstance(v, str)
    ]
    assert not any(str(REPO) in t or "/tmp/" in t for t in texts), texts
    # switch away and back: the cached result shows at once
    page.locator("select").first.select_option(SMALL_FRAME)
    wait_text(page, ".insar-frame-info", r"64 x 64 px")
    page.locator("select").first.select_option(DEFAULT_FRAME)
    assert "cached" in wait_text(page, ".insar-denoise-status", r"cached")
    # a reload is a new session: the server-wide on-disk cache serves the result at once
    page.wait_for_timeout(5000)  # the result is written to disk off the UI thread
    page.reload(timeout=TIMEOUT_MS)
    page.evaluate("(js) => { window.__plots = eval('(' + js + ')'); }", _PLOTS_JS)
    assert "cached" in wait_text(page, ".insar-denoise-status", r"cached", timeout_ms=60_000)
    wait_for_map(page, "Denoised deformation")
    if os.environ.get(
        "INSAR_AE_UPDATE_SCREENSHOT"
    ):  # the README's and docs/dashboard.md's pictures
        shots = REPO / "docs" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(2000)
        page.screenshot(path=str(shots / "dashboard.png"), full_page=False)
        page.get_by_role("button", name="Profiles across candidate faults").click()
        wait_text(page, ".insar-offsets", r"P1\s+denoised\s+-?\d+\.\d+")
        page.locator(
            ".insar-offsets"
        ).first.scroll_into_view_if_needed()  # series and profile in view
        page.wait_for_timeout(7000)  # the "profiles added" notice has gone
        page.screenshot(path=str(shots / "dashboard-profiles.png"), full_page=False)
