"""Fixtures of the dashboard tests: a served app on a free localhost port, a Chromium page."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `app` is a top-level folder of the repository, not installed
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from _server import free_port, serve_command, wait_listening, warm_default_frame  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = REPO / "test-artifacts" / "app"
#: A small synthetic entry for the denoising step: the default frame (512 x 512 x 80) takes
#: minutes to denoise on 2 CPU cores. Served through INSAR_AE_CATALOG; the built-in entries
#: (and the default frame) stay listed.
SMALL_FRAME = "test-small-fault"
TEST_CATALOG = f"""\
metadata:
  version: 1
  description: insar_ae dashboard-test catalog (a small frame for the denoising step)
sources:
  {SMALL_FRAME}:
    description: "Small creeping fault with a slow-slip event (clean-fault preset, 64 x 64 px, 16 dates)."
    driver: insar_ae.catalog.drivers.SyntheticFrame
    args:
      preset: clean-fault
      seed: 0
      shape: [64, 64]
      n_dates: 16
    metadata:
      region: test (synthetic, local metric grid)
      sensor: Sentinel-1 (synthetic)
      dates: {{start: 2019-01-05, end: 2019-07-04, n_dates: 16}}
      shape: [64, 64]
      units: mm
      has_truth: true
"""


@pytest.fixture(autouse=True)
def _result_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test gets an empty server-wide result cache (never the user's ~/.cache)."""
    folder = tmp_path_factory.mktemp("result_cache")
    monkeypatch.setenv("INSAR_AE_RESULT_CACHE", str(folder))
    return folder


@pytest.fixture(scope="session")
def test_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog file with the small frame (used with INSAR_AE_CATALOG)."""
    path = tmp_path_factory.mktemp("app_catalog") / "test-catalog.yaml"
    path.write_text(TEST_CATALOG)
    return path


@pytest.fixture(scope="module")
def served_app(test_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``panel serve app/main.py`` on a free 127.0.0.1 port; yields the page URL; stopped after."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"Debian's chromium not found at {CHROMIUM} (apt-get install chromium, "
            "or `make browser`); Playwright cannot download its own browser here"
        )
    port = free_port()
    exports = tmp_path_factory.mktemp("exports")  # served over HTTP, as `make serve` does
    env = dict(
        os.environ,
        INSAR_AE_CATALOG=str(test_catalog),
        PYTHONUNBUFFERED="1",
        INSAR_AE_RESULT_CACHE=str(tmp_path_factory.mktemp("served_result_cache")),
        INSAR_AE_EXPORT_DIR=str(exports),
        OMP_NUM_THREADS="1",
        BOKEH_PY_LOG_LEVEL="warning",
    )
    # Generate the default frame once up front (cached), so the page test times the page.
    warm_default_frame(env)
    log = (tmp_path_factory.mktemp("panel_log") / "panel.log").open("w")
    cmd = serve_command(port, "--static-dirs", f"exports={exports}")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/main"
    try:
        wait_listening(port, proc, timeout=300)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (skips when absent)."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"Debian's chromium not found at {CHROMIUM} (apt-get install chromium, "
            "or `make browser`); Playwright cannot download its own browser here"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
