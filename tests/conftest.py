"""Shared fixtures: seeded tiny frames, the real-data folder, thread limits for 2-core CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("MKL_NUM_THREADS", "2")
# Keep the catalog cache of synthetic frames out of the user's home during tests.
REPO = Path(__file__).resolve().parents[1]
REAL_DATA = Path(os.environ.get("INSAR_AE_REAL_DATA", REPO.parent / "shared" / "data" / "real"))


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """``../shared/data/real`` (or ``$INSAR_AE_REAL_DATA``); skips when absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real InSAR data folder not found at {REAL_DATA} (set INSAR_AE_REAL_DATA)")
    return REAL_DATA


@pytest.fixture()
def tiny():
    """A small seeded canonical frame with a known step signal (see insar_ae.testing.tiny_frame)."""
    from insar_ae.testing import tiny_frame

    return tiny_frame(0)


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Send the synthetic-frame cache to a per-session temp dir unless the caller set one."""
    if "INSAR_AE_CACHE" not in os.environ:
        os.environ["INSAR_AE_CACHE"] = str(tmp_path_factory.mktemp("insar_ae_cache"))
