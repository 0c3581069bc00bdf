"""Issue 16: a broken catalog entry or catalog file never takes the built-in frames down, and a
catalog path outside the catalog's folder is refused before anything is opened."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import insar_ae.io
from insar_ae.catalog import DEFAULT_FRAME, list_frames, open_catalog_frame
from insar_ae.errors import CatalogError
from insar_ae.io import write_frame

BUILTIN = {"anatolia-slow-slip", "coso-deflation", "clean-fault", "noise-only"}

GOOD = """
  lab-good:
    description: a good synthetic entry
    driver: insar_ae.catalog.drivers.SyntheticFrame
    args: {preset: clean-fault, seed: 0, shape: [16, 16], n_dates: 6}
    metadata: {dates: {start: 2019-01-05, end: 2019-03-06, n_dates: 6}, shape: [16, 16], units: mm}
"""
BAD_DATE = """
  lab-bad-date:
    description: a date that does not exist
    driver: insar_ae.catalog.drivers.SyntheticFrame
    args: {preset: clean-fault, shape: [16, 16]}
    metadata: {dates: {start: 2019-13-45, end: 2020-01-01, n_dates: 6}, units: mm}
"""


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("INSAR_AE_CACHE", str(d))
    monkeypatch.delenv("INSAR_AE_CATALOG", raising=False)
    return d


def _catalog(folder: Path, body: str, name: str = "lab.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("metadata: {version: 1}\nsources:\n" + body)
    return path


def _no_open(monkeypatch: pytest.MonkeyPatch) -> list:
    """Make every frame open fail loudly and record it (the FrameFile driver calls
    ``insar_ae.io.open_frame``)."""
    calls: list = []

    def opener(path, **kw):
        calls.append(path)
        raise AssertionError(f"open_frame({path!r}) was called")

    monkeypatch.setattr(insar_ae.io, "open_frame", opener)
    return calls


def test_bad_date_entry_is_skipped_and_builtins_still_load(cache, tmp_path):
    cat = _catalog(tmp_path, GOOD + BAD_DATE)
    with pytest.raises(CatalogError, match=r"lab-bad-date.*2019-13-45|2019-13-45.*lab-bad-date"):
        list_frames(cat)
    df = list_frames(cat, errors="skip")
    assert "lab-bad-date" not in df.index
    assert {"lab-good", *BUILTIN} <= set(df.index)  # the good lab entry and every built-in one
    [notice] = df.attrs["skipped"]
    assert "lab-bad-date" in notice and "entry skipped" in notice and "dates" in notice
    assert open_catalog_frame("lab-good", catalog=cat).sizes["time"] == 6  # the rest still opens


def test_refused_driver_is_skipped_and_never_imported(cache, tmp_path, monkeypatch):
    marker = tmp_path / "imported.txt"
    (tmp_path / "evil_driver.py").write_text(
        f"open({str(marker)!r}, 'w').write('imported')\n"
        "from intake.source.base import DataSource\n"
        "class Evil(DataSource):\n    container = 'xarray'\n    name = 'evil'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    cat = _catalog(
        tmp_path / "lab",
        GOOD
        + """
  lab-evil:
    description: a driver outside the allow-list
    driver: evil_driver.Evil
    args: {}
    metadata: {units: mm}
  lab-shell:
    description: intake would import any class the YAML names
    driver: subprocess.Popen
    args: {args: [touch, /tmp/insar-ae-should-not-exist]}
""",
    )
    df = list_frames(cat, errors="skip")
    assert not marker.exists()  # the module named by the entry was never imported
    assert {"lab-good", *BUILTIN} <= set(df.index) and not {"lab-evil", "lab-shell"} & set(df.index)
    notices = " ".join(df.attrs["skipped"])
    assert (
        "'evil_driver.Evil'" in notices and "'subprocess.Popen'" in notices and "refused" in notices
    )
    with pytest.raises(CatalogError, match="refused"):
        open_catalog_frame("lab-shell", catalog=cat)
    assert not marker.exists() and not Path("/tmp/insar-ae-should-not-exist").exists()


def test_missing_catalog_in_env_gives_builtins_and_a_notice(cache, tmp_path, monkeypatch):
    missing = tmp_path / "no-such-lab.yaml"
    monkeypatch.setenv("INSAR_AE_CATALOG", str(missing))
    with pytest.raises(FileNotFoundError, match=r"no-such-lab\.yaml"):
        list_frames()
    df = list_frames(errors="skip")
    assert BUILTIN <= set(df.index) and DEFAULT_FRAME in df.index
    [notice] = df.attrs["skipped"]
    assert "no-such-lab.yaml" in notice and "not found" in notice
    ds = open_catalog_frame("clean-fault", shape=(16, 16), n_dates=4)  # built-ins still open
    assert ds.sizes["time"] == 4
    with pytest.raises(
        CatalogError, match=r"no catalog entry 'lab-x'.*Not read: .*no-such-lab\.yaml"
    ):
        open_catalog_frame("lab-x")


def test_malformed_catalog_in_env_gives_builtins_and_a_notice(cache, tmp_path, monkeypatch):
    bad = tmp_path / "broken.yaml"
    bad.write_text("sources: {a: {driver: insar_ae.catalog.drivers.FrameFile,\n")
    monkeypatch.setenv("INSAR_AE_CATALOG", f"{bad}{os.pathsep}{tmp_path / 'gone.yaml'}")
    df = list_frames(errors="skip")
    assert BUILTIN <= set(df.index)
    assert len(df.attrs["skipped"]) == 2 and "malformed" in df.attrs["skipped"][0]


@pytest.mark.parametrize(
    "target",
    [
        "../../etc/passwd",
        "../../../../../../../../etc/passwd",
        "/etc/passwd",
        "frames/../../outside.nc",
    ],
)
def test_path_outside_the_catalog_is_refused_before_any_open(cache, tmp_path, monkeypatch, target):
    lab = tmp_path / "a" / "b"
    cat = _catalog(
        lab,
        f"""
  lab-escape:
    description: names a file outside the catalog's folder
    driver: insar_ae.catalog.drivers.FrameFile
    args: {{path: "{target}", format: netcdf}}
    metadata: {{units: mm}}
"""
        + GOOD,
    )
    (tmp_path / "a" / "outside.nc").write_text("not a frame")  # exists: only the check refuses it
    calls = _no_open(monkeypatch)
    real_exists = Path.exists
    looked_at: list[str] = []

    def exists(self: Path, *a, **kw) -> bool:
        looked_at.append(str(self))
        return real_exists(self, *a, **kw)

    monkeypatch.setattr(Path, "exists", exists)
    df = list_frames(cat, errors="skip")
    assert "lab-escape" not in df.index and "lab-good" in df.index
    assert any(
        "lab-escape" in n and "outside the catalog's folder" in n for n in df.attrs["skipped"]
    )
    with pytest.raises(CatalogError, match=r"outside the catalog's folder.*refused before opening"):
        open_catalog_frame("lab-escape", catalog=cat)
    assert calls == []
    assert not [p for p in looked_at if p.endswith(("passwd", "outside.nc"))]  # not even looked at


def test_path_parameter_and_sidecar_outside_are_refused(cache, tmp_path, monkeypatch, tiny):
    lab = tmp_path / "lab"
    (lab / "frames").mkdir(parents=True)
    write_frame(tiny, lab / "frames" / "tiny.nc")
    cat = _catalog(
        lab,
        """
  lab-tiny:
    description: a good file entry with a path parameter
    driver: insar_ae.catalog.drivers.FrameFile
    parameters:
      path: {description: file, type: str, default: frames/tiny.nc}
    args: {path: "{{ path }}", format: netcdf}
    metadata: {units: mm}
  lab-sidecar:
    description: a sidecar (mask) outside the folder
    driver: insar_ae.catalog.drivers.FrameFile
    args: {path: frames/tiny.nc, format: netcdf, mask: ../../../etc/shadow}
    metadata: {units: mm}
""",
    )
    assert open_catalog_frame("lab-tiny", catalog=cat).sizes["time"] == tiny.sizes["time"]
    calls = _no_open(monkeypatch)
    with pytest.raises(CatalogError, match="outside the catalog's folder"):
        open_catalog_frame("lab-tiny", catalog=cat, path="../../../../etc/passwd")
    with pytest.raises(CatalogError, match=r"mask.*outside the catalog's folder"):
        open_catalog_frame("lab-sidecar", catalog=cat)
    assert calls == []


def test_symlink_leading_out_is_refused(cache, tmp_path, monkeypatch, tiny):
    outside = tmp_path / "outside"
    outside.mkdir()
    write_frame(tiny, outside / "secret.nc")
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "link.nc").symlink_to(outside / "secret.nc")
    cat = _catalog(
        lab,
        """
  lab-link:
    description: a symbolic link inside the folder that leads out
    driver: insar_ae.catalog.drivers.FrameFile
    args: {path: link.nc, format: netcdf}
    metadata: {units: mm}
""",
    )
    calls = _no_open(monkeypatch)
    with pytest.raises(CatalogError, match=r"resolves to .*outside.*secret\.nc"):
        open_catalog_frame("lab-link", catalog=cat)
    assert calls == []


def test_declared_data_root_may_be_named(cache, tmp_path, tiny):
    data = tmp_path / "shared" / "frames"
    data.mkdir(parents=True)
    write_frame(tiny, data / "tiny.nc")
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "lab.yaml").write_text("""
metadata: {version: 1, insar_ae_data_roots: [../shared]}
sources:
  lab-shared:
    description: a file under a declared data root
    driver: insar_ae.catalog.drivers.FrameFile
    args: {path: ../shared/frames/tiny.nc, format: netcdf}
    metadata: {units: mm}
""")
    df = list_frames(lab / "lab.yaml", errors="skip")
    assert df.attrs["skipped"] == [] and bool(df.loc["lab-shared", "available"])
    ds = open_catalog_frame("lab-shared", catalog=lab / "lab.yaml")
    assert ds.attrs["source"] == str(data / "tiny.nc")
