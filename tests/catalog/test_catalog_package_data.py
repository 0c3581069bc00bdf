"""Issue 17: the built-in catalog is package data, found from any folder and from a wheel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from insar_ae.catalog import DEFAULT_CATALOG

REPO = Path(__file__).resolve().parents[2]
BUILTIN = {"anatolia-slow-slip", "coso-deflation", "clean-fault", "noise-only"}
LIST = (
    "import json, insar_ae, insar_ae.catalog as c; df = c.list_frames(); "
    "print(json.dumps({'file': insar_ae.__file__, 'catalog': str(c.DEFAULT_CATALOG), "
    "'names': list(df.index)}))"
)


def _run(cwd: Path, **env: str) -> dict:
    full = {k: v for k, v in os.environ.items() if k not in ("INSAR_AE_CATALOG", "PYTHONPATH")}
    full.update(env)
    out = subprocess.run(
        [sys.executable, "-c", LIST],
        cwd=cwd,
        env=full,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_builtin_catalog_lives_in_the_package():
    assert (
        DEFAULT_CATALOG == REPO / "insar_ae" / "catalog" / "catalog.yaml"
        and DEFAULT_CATALOG.is_file()
    )
    assert not (REPO / "catalog.yaml").exists()  # one catalog, no second copy to drift
    assert '"catalog/*.yaml"' in (REPO / "pyproject.toml").read_text()


def test_a_notebook_anywhere_lists_the_builtin_frames(tmp_path):
    got = _run(tmp_path)
    assert BUILTIN <= set(got["names"]) and got["catalog"] == str(DEFAULT_CATALOG)


@pytest.mark.slow
def test_the_wheel_ships_the_catalog(tmp_path):
    """Build the wheel from a copy of the sources, unpack it (a pure-Python install) and list
    the frames from a temporary folder with only that copy of insar_ae importable."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(
        REPO / "insar_ae", src / "insar_ae", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(dist),
            str(src),
        ],
        check=True,
        timeout=600,
        capture_output=True,
    )
    [wheel] = dist.glob("insar_ae-*.whl")
    with zipfile.ZipFile(wheel) as z:
        assert "insar_ae/catalog/catalog.yaml" in z.namelist()
        z.extractall(tmp_path / "site")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    got = _run(elsewhere, PYTHONPATH=str(tmp_path / "site"))
    assert got["file"].startswith(str(tmp_path / "site"))  # the wheel's copy, not the checkout
    assert BUILTIN <= set(got["names"])
