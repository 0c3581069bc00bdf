"""What the README names for the notebooks is installed by the project (issue 17)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_jupyterlab_and_nbconvert_are_installed_by_make_setup():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert {"jupyterlab>=4", "nbconvert>=7"} <= set(extras["lab"])
    make = (REPO / "Makefile").read_text()
    assert re.search(r'install -q -e "\.\[[^\]]*\blab\b[^\]]*\]"', make)  # `make setup` installs it
    assert re.search(r"^lab: setup\n\t\$\(VENV\)/bin/jupyter lab notebooks/", make, re.M)
    for tool in ("lab", "nbconvert"):
        out = subprocess.run(
            [str(BIN / "jupyter"), tool, "--version"], capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0 and re.match(r"\d+\.\d+", out.stdout.strip()), (
            tool,
            out.stderr[-500:],
        )
