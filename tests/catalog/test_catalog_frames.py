"""The frame catalog: listing from metadata, cached synthetic frames, file entries, lab catalogs."""

from __future__ import annotations

import os
from pathlib import Path

import intake
import numpy as np
import pandas as pd
import pytest

from insar_ae.catalog import DEFAULT_CATALOG, DEFAULT_FRAME, list_frames, open_catalog_frame
from insar_ae.catalog.cache import cache_dir, cache_path
from insar_ae.errors import CatalogError
from insar_ae.io import write_frame

SYNTHETIC = ["anatolia-slow-slip", "coso-deflation", "clean-fault", "noise-only"]
SMALL = (16, 16)


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("INSAR_AE_CACHE", str(d))
    return d


def test_list_frames_is_metadata_only(cache):
    df = list_frames()
    assert DEFAULT_FRAME in df.index and set(SYNTHETIC) <= set(df.index)
    assert {
        "description",
        "region",
        "sensor",
        "start",
        "end",
        "n_dates",
        "shape",
        "units",
        "has_truth",
        "reference_point",
    } <= set(df.columns)
    assert df.loc["anatolia-slow-slip", "shape"] == (512, 512)
    assert (
        60 <= df.loc["anatolia-slow-slip", "n_dates"] <= 100
        and 60 <= df.loc["coso-deflation", "n_dates"] <= 100
    )
    assert df.loc["clean-fault", "shape"] == (256, 256) and bool(df.loc["clean-fault", "has_truth"])
    assert (df["units"] == "mm").all()
    assert not cache.exists() or not any(cache.iterdir())  # nothing generated
    assert "user-mintpy" not in df.index
    templates = list_frames(include_templates=True)
    assert {"user-mintpy", "user-licsbas", "user-netcdf", "user-geotiff"} <= set(templates.index)
    assert not templates.loc["user-netcdf", "available"]


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_metadata_matches_generated_frame(cache, name):
    md = list_frames().loc[name]
    ds = open_catalog_frame(name, shape=SMALL)  # dates do not depend on the shape
    t = pd.DatetimeIndex(ds["time"].values)
    assert (t[0], t[-1], len(t)) == (md["start"], md["end"], md["n_dates"])
    assert ds.attrs["preset"] == name and "deformation_true" in ds
    # the default reference point is on the default (512/256) grid: same pixel spacing/centre
    ry, rx = (float(v) for v in md["reference_point"].split(","))
    ny, nx = md["shape"]
    px = float(ds["x"][1] - ds["x"][0])
    xc, yc = float(ds["x"].mean()), float(ds["y"].mean())
    assert abs(rx - xc) < px * nx / 2 and abs(ry - yc) < px * ny / 2


def test_synthetic_frames_are_cached_and_deterministic(cache):
    a = open_catalog_frame("clean-fault", shape=SMALL, n_dates=8, seed=3)
    files = sorted(cache.glob("*.nc"))
    assert len(files) == 1 and files[0] == cache_path("clean-fault", 3, SMALL, 8)
    assert "seed3_16x16_t8" in files[0].name and a.attrs["source"] == str(files[0])
    mtime = files[0].stat().st_mtime_ns
    b = open_catalog_frame("clean-fault", shape=SMALL, n_dates=8, seed=3)
    assert files[0].stat().st_mtime_ns == mtime  # read, not regenerated
    np.testing.assert_array_equal(a["displacement"].values, b["displacement"].values)
    from insar_ae.synthetic import make_scene

    direct = make_scene("clean-fault", 3, shape=SMALL, n_dates=8)
    np.testing.assert_array_equal(a["displacement"].values, direct["displacement"].values)
    np.testing.assert_array_equal(a["deformation_true"].values, direct["deformation_true"].values)
    c = open_catalog_frame("clean-fault", shape=SMALL, n_dates=8, seed=4)
    assert len(list(cache.glob("*.nc"))) == 2 and not np.array_equal(
        np.nan_to_num(a["displacement"].values), np.nan_to_num(c["displacement"].values)
    )
    assert not list(cache.glob(".*tmp*"))  # atomic: no temp files left behind


def test_cache_dir_never_in_repo(cache):
    assert cache_dir() == cache
    repo = DEFAULT_CATALOG.parents[2]  # the checkout (the catalog is insar_ae/catalog/catalog.yaml)
    assert repo not in cache_dir().resolve().parents


def test_corrupt_cache_file_is_regenerated(cache):
    p = cache_path("noise-only", 0, SMALL, 5)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"\x89HDF\r\n\x1a\n broken")
    ds = open_catalog_frame("noise-only", shape=SMALL, n_dates=5)
    assert ds.sizes["time"] == 5 and p.stat().st_size > 1000


def test_intake_opens_the_catalog_directly(cache):
    cat = intake.open_catalog(str(DEFAULT_CATALOG))
    assert DEFAULT_FRAME in list(cat)
    ds = cat["clean-fault"](shape=[16, 16], n_dates=6).read()
    assert ds.sizes == {"time": 6, "y": 16, "x": 16}
    assert cat["clean-fault"].describe()["metadata"]["units"] == "mm"


def test_missing_entry_names_alternatives(cache):
    with pytest.raises(
        CatalogError, match=r"no catalog entry 'clean-falt'.*Did you mean \['clean-fault'\]"
    ):
        open_catalog_frame("clean-falt")


def _lab_catalog(tmp_path: Path, tiny, extra: str = "") -> Path:
    (tmp_path / "frames").mkdir()
    write_frame(tiny, tmp_path / "frames" / "tiny.nc")
    cat = tmp_path / "lab.yaml"
    cat.write_text(f"""
metadata:
  version: 1
{extra}
sources:
  lab-tiny:
    description: our own frame
    driver: insar_ae.catalog.drivers.FrameFile
    parameters:
      path: {{description: file, type: str, default: frames/tiny.nc}}
    args: {{path: "{{{{ path }}}}", format: netcdf}}
    metadata:
      region: lab
      sensor: synthetic
      dates: {{start: 2020-01-01, end: 2020-05-02, n_dates: 12}}
      shape: [32, 40]
      units: mm
      has_truth: true
      reference_point: "4499000.0,500500.0"
  clean-fault:
    description: the lab's own clean-fault overrides the built-in one
    driver: insar_ae.catalog.drivers.FrameFile
    args: {{path: frames/tiny.nc}}
    metadata: {{region: lab}}
""")
    return cat


def test_lab_catalog_by_argument_and_env(cache, tmp_path, tiny, monkeypatch):
    cat = _lab_catalog(tmp_path, tiny)
    df = list_frames(cat)
    assert {"lab-tiny", DEFAULT_FRAME} <= set(df.index)
    assert df.loc["lab-tiny", "available"] and df.loc["clean-fault", "region"] == "lab"
    ds = open_catalog_frame("lab-tiny", catalog=cat)  # relative path -> catalog directory
    np.testing.assert_array_equal(ds["displacement"].values, tiny["displacement"].values)
    assert ds.attrs["reference_point"] == "4499000.0,500500.0"  # default from metadata
    assert ds.attrs["catalog_entry"] == "lab-tiny"
    monkeypatch.chdir(Path("/"))
    monkeypatch.setenv("INSAR_AE_CATALOG", str(cat))
    assert open_catalog_frame("clean-fault").attrs["source"] == str(tmp_path / "frames" / "tiny.nc")
    other = tmp_path / "other.nc"
    write_frame(tiny, other)
    assert open_catalog_frame("lab-tiny", path=str(other)).attrs["source"] == str(other)


def test_lab_catalog_can_hide_builtin_entries(cache, tmp_path, tiny):
    cat = _lab_catalog(tmp_path, tiny, extra="  insar_ae_include_default: false")
    assert set(list_frames(cat).index) == {"lab-tiny", "clean-fault"}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("sources: [not, a, mapping]", "malformed"),
        (
            "sources:\n  a: {description: x, driver: insar_ae.catalog.drivers.NoSuchDriver}\n",
            "NoSuchDriver",
        ),
        (
            "sources:\n  a: {driver: insar_ae.catalog.drivers.FrameFile, metadata: [1, 2]}\n",
            "malformed|metadata",
        ),
        ("sources:\n  a: {driver: insar_ae.catalog.drivers.FrameFile,\n", "malformed"),
    ],
)
def test_malformed_catalogs_raise_catalog_error(cache, tmp_path, text, match):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(CatalogError, match=match) as err:
        list_frames(p)
    assert "bad.yaml" in str(err.value)


def test_missing_catalog_file(cache, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.yaml"):
        list_frames(tmp_path / "nope.yaml")


def test_file_entry_with_missing_file(cache, tmp_path, tiny):
    cat = _lab_catalog(tmp_path, tiny)
    with pytest.raises(FileNotFoundError, match=r"absent\.nc"):
        open_catalog_frame("lab-tiny", catalog=cat, path="absent.nc")


def test_bad_parameter_value(cache):
    with pytest.raises(CatalogError, match=r"seed.*less than 0"):
        open_catalog_frame("clean-fault", seed=-1, shape=SMALL)


@pytest.mark.realdata
@pytest.mark.parametrize(
    "name", ["mexico-city-s1", "mexico-city-s1-licsbas", "sydney-envisat", "sydney-envisat-licsbas"]
)
def test_real_data_entries(real_data_dir, cache, name):
    row = list_frames().loc[name]
    assert row["available"]
    ds = open_catalog_frame(name)
    t = pd.DatetimeIndex(ds["time"].values)
    assert (t[0], t[-1], len(t)) == (row["start"], row["end"], row["n_dates"])
    assert ds["displacement"].shape[1:] == row["shape"]
    assert ds.attrs["reference_point"].split(",")[0][:8] == row["reference_point"].split(",")[0][:8]
    assert ds.attrs["sensor"] == row["sensor"] and np.isfinite(ds.attrs["incidence_deg"])
    assert os.path.isabs(ds.attrs["source"])


def test_sidecar_arguments_are_relative_to_the_catalog(cache, tmp_path, tiny, monkeypatch):
    (tmp_path / "frames").mkdir()
    write_frame(tiny, tmp_path / "frames" / "stack.tif")
    (tmp_path / "frames" / "stack.dem.tif").rename(tmp_path / "frames" / "elsewhere_dem.tif")
    cat = tmp_path / "lab.yaml"
    cat.write_text("""
sources:
  stack:
    description: GeoTIFF stack with its DEM named in the catalog
    driver: insar_ae.catalog.drivers.FrameFile
    args: {path: frames/stack.tif, format: geotiff, dem: frames/elsewhere_dem.tif}
    metadata: {region: lab, units: mm}
""")
    monkeypatch.chdir(Path("/"))
    ds = open_catalog_frame("stack", catalog=cat)
    np.testing.assert_array_equal(ds["height"].values, tiny["height"].values)
    assert ds.attrs["height_source"] == str(tmp_path / "frames" / "elsewhere_dem.tif")


def _count_validations(monkeypatch) -> list[str]:
    """Replace ``insar_ae.datamodel.validate`` wherever it was imported by a counting spy."""
    import sys

    import insar_ae.datamodel as dm

    real, calls = dm.validate, []

    def spy(ds, *args, **kw):
        calls.append(ds.attrs.get("source", "?"))
        return real(ds, *args, **kw)

    for mod in list(sys.modules.values()):
        name = getattr(mod, "__name__", "") or ""
        if (name.startswith(("insar_ae", "app")) and getattr(mod, "validate", None) is real) or (
            mod is dm
        ):
            monkeypatch.setattr(mod, "validate", spy)
    return calls


@pytest.mark.parametrize("kind", ["file", "synthetic"])
def test_a_catalog_frame_is_validated_once_on_its_way_to_the_dashboard(
    cache, tmp_path, tiny, monkeypatch, kind
):
    """The reader (insar_ae.io) is the boundary; the driver, open_catalog_frame and the
    dashboard's read_frame trust it (decision 81)."""
    frames = pytest.importorskip("app.frames")
    if kind == "file":
        cat, name, params = _lab_catalog(tmp_path, tiny), "lab-tiny", {}
    else:
        cat, name, params = None, "clean-fault", {"shape": SMALL, "n_dates": 8}
        open_catalog_frame(name, **params)  # generate the cache first (generator + writer)
    calls = _count_validations(monkeypatch)
    ds = open_catalog_frame(name, catalog=cat, **params)
    assert len(calls) == 1 and ds.attrs["catalog_entry"] == name
    if kind == "file":
        calls.clear()
        shown = frames.read_frame(name, catalog=str(cat))
        assert len(calls) == 1 and "displacement" in shown
        calls.clear()
        frames.prepare(tiny)  # a frame handed to the app in memory is checked where it enters
        assert len(calls) == 1
