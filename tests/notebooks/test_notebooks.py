"""The notebook course (notebooks/*.ipynb): each runs end to end, draws its figures, is stored stripped.

Every notebook is executed with nbclient in a fresh kernel that runs *this* interpreter (a private
kernelspec, so a user-level ``python3`` kernel pointing elsewhere cannot interfere), with
cwd = notebooks/, ``INSAR_AE_NB_FAST=1`` (short training in 05) and at most ``CELL_TIMEOUT_S`` per
cell; any cell error fails the test. The synthetic-frame cache is the per-session temp dir set by
tests/conftest.py (inherited by the kernel), so frames are generated afresh in each session.
06_real_data needs ../shared/data/real (``INSAR_AE_REAL_DATA``) and is skipped, with the reason,
when it is absent. Executed copies go to test-artifacts/notebooks/ (gitignored) for inspection.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
NB_DIR = REPO / "notebooks"
ARTIFACTS = REPO / "test-artifacts" / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))
EXPECTED = [
    "01_quickstart.ipynb",
    "02_why_insar_is_noisy.ipynb",
    "03_north_anatolian_slow_slip.ipynb",
    "04_coso_geothermal.ipynb",
    "05_train_your_own.ipynb",
    "06_real_data.ipynb",
]
NEEDS_REAL_DATA = {"06_real_data.ipynb"}
CELL_TIMEOUT_S = 300
KERNEL_NAME = "insar-ae-test-python"
# Output MIME types that carry a figure: matplotlib PNG, HoloViews/Panel (Bokeh) plots.
FIGURE_MIME = ("image/png", "application/vnd.holoviews_exec.v0+json")


@pytest.fixture(scope="session")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Jupyter data dir holding a kernelspec that runs ``sys.executable`` (the venv's Python)."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "insar_ae test kernel",
                "language": "python",
            }
        )
    )
    return root


def _save_executed(nb: nbformat.NotebookNode, name: str) -> Path:
    """Write the executed notebook to test-artifacts/notebooks/ (atomically)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=ARTIFACTS, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    try:
        nbformat.write(nb, tmp)
        os.replace(tmp, ARTIFACTS / name)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return ARTIFACTS / name


def _outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def test_the_course_has_the_six_notebooks_in_order() -> None:
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_is_valid_and_stripped(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{path.name} has no code cell"
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.outputs or c.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; strip them before committing"
    assert "widgets" not in nb.metadata, f"{path.name}: widget state saved in the metadata"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_opens_with_a_title_and_what_the_reader_learns(path: Path) -> None:
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), (
        f"{path.name}: the first cell must be a markdown title"
    )
    assert re.search(r"(?i)you will learn", first.source), (
        f"{path.name}: the first cell must say what the reader will learn"
    )


def test_docs_list_every_notebook_once() -> None:
    text = (REPO / "docs" / "notebooks.md").read_text()
    for path in NOTEBOOKS:
        assert text.count(path.name) >= 1, f"docs/notebooks.md does not mention {path.name}"


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_end_to_end_and_draws_figures(
    path: Path,
    kernel_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    if path.name in NEEDS_REAL_DATA:
        real = request.getfixturevalue("real_data_dir")  # skips, with the reason, when absent
        monkeypatch.setenv("INSAR_AE_REAL_DATA", str(real))
    monkeypatch.setenv("INSAR_AE_NB_FAST", "1")
    monkeypatch.setenv(
        "JUPYTER_PATH",
        os.pathsep.join([str(kernel_dir), *filter(None, [os.environ.get("JUPYTER_PATH")])]),
    )
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # no user startup files

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=KERNEL_NAME,
        timeout=CELL_TIMEOUT_S,
        allow_errors=False,
        record_timing=True,
        resources={"metadata": {"path": str(NB_DIR)}},
    )
    try:
        client.execute()  # raises CellExecutionError (with the cell's traceback) on any error
    finally:
        _save_executed(nb, path.name)

    outputs = _outputs(nb)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    figures = [o for o in outputs if any(m in o.get("data", {}) for m in FIGURE_MIME)]
    assert len(figures) >= 2, f"{path.name} drew {len(figures)} figure(s); expected its plots"
    # HoloViews/Panel catch plotting errors and display them instead of raising: look for them too
    tracebacks = [
        text for text in map(_text, outputs) if "Traceback (most recent call last)" in text
    ]
    assert not tracebacks, f"{path.name} shows a traceback: {tracebacks[0][:1000]}"
    # the notebook route of the dashboard: a cell that builds Dashboard(...) displays it
    for cell in nb.cells:
        if cell.cell_type == "code" and "Dashboard(state=" in cell.source:
            shown = [o for o in cell.outputs if FIGURE_MIME[1] in o.get("data", {})]
            assert shown, f"{path.name}: the Dashboard cell displayed no Panel/Bokeh output"


def _text(output: dict) -> str:
    """Everything textual an output carries (stream text, plain text, HTML)."""
    if output.get("output_type") == "stream":
        return str(output.get("text", ""))
    data = output.get("data", {})
    return "\n".join(str(data.get(m, "")) for m in ("text/plain", "text/html"))
