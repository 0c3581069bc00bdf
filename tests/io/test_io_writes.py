"""Writers: atomic, never onto an input, no silent overwrite; format dispatch; laziness."""

from __future__ import annotations

import pickle

import dask
import numpy as np
import pytest

from insar_ae.errors import DataModelError, ParameterError
from insar_ae.io import LAZY_THRESHOLD_BYTES, OutputExistsError, open_frame, write_frame

SUFFIXES = [".nc", ".zarr", ".h5", ".tif"]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_existing_output_needs_overwrite(tiny, tmp_path, suffix):
    out = write_frame(tiny, tmp_path / f"f{suffix}")
    with pytest.raises(OutputExistsError, match=f"f{suffix} already exists; pass overwrite=True"):
        write_frame(tiny, out)
    assert isinstance(OutputExistsError("x"), FileExistsError)
    changed = tiny.assign(displacement=tiny["displacement"] * 2.0)
    write_frame(changed, out, overwrite=True)
    np.testing.assert_allclose(
        open_frame(out)["displacement"].values, changed["displacement"].values, atol=1e-3
    )


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_never_writes_onto_its_input(tiny, tmp_path, suffix):
    out = write_frame(tiny, tmp_path / f"f{suffix}")
    before = sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.rglob("*"))
    ds = open_frame(out)
    with pytest.raises(ParameterError, match="it is an input of this dataset"):
        write_frame(ds, out, overwrite=True)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.rglob("*")) == before


def test_sidecar_that_is_an_input_is_protected(tmp_path, tiny):
    out = write_frame(tiny, tmp_path / "a.h5")
    ds = open_frame(out)  # its height comes from a_geometryGeo.h5
    with pytest.raises(ParameterError, match=r"a_geometryGeo\.h5"):
        write_frame(ds, tmp_path / "a_geometryGeo.h5", format="netcdf", overwrite=True)


@pytest.mark.parametrize("suffix", [".nc", ".h5", ".tif"])
def test_failed_write_leaves_nothing(tiny, tmp_path, suffix, monkeypatch):
    bad = tiny.copy()
    bad["x"] = bad["x"].copy(data=np.r_[bad["x"].values[:-1], bad["x"].values[-1] + 1e3])
    if suffix == ".nc":  # break the data model instead: NetCDF accepts irregular grids
        bad = tiny.drop_vars("height")
    with pytest.raises((ParameterError, DataModelError)):
        write_frame(bad, tmp_path / f"f{suffix}")
    assert list(tmp_path.iterdir()) == []


def test_write_format_dispatch_errors(tiny, tmp_path):
    with pytest.raises(ParameterError, match=r"cannot write .*f\.csv: unsupported suffix .\.csv."):
        write_frame(tiny, tmp_path / "f.csv")
    with pytest.raises(
        ParameterError,
        match=r"variable='nope'.*choose one of \['displacement', 'deformation_true'\]",
    ):
        write_frame(tiny, tmp_path / "f.h5", variable="nope")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_frame(tiny, tmp_path / "no" / "dir" / "f.nc")


def test_big_files_open_lazily_and_stay_lazy(tiny, tmp_path):
    out = write_frame(tiny, tmp_path / "f.h5")
    assert out.stat().st_size < LAZY_THRESHOLD_BYTES
    assert open_frame(out)["displacement"].chunks is None  # small -> in memory
    ds = open_frame(out, lazy=True, chunks=(4, 16, 20))
    da = ds["displacement"]
    assert da.chunks == ((4, 4, 4), (16, 16), (20, 20))
    # metres -> mm scaling is part of the graph, nothing computed yet
    assert any("mul" in str(k[0] if isinstance(k, tuple) else k) for k in da.data.dask)
    with dask.config.set(scheduler="processes", num_workers=2):  # the h5py wrapper pickles
        np.testing.assert_allclose(
            da.isel(time=5).values, tiny["displacement"].isel(time=5).values, atol=1e-3
        )
    again = pickle.loads(pickle.dumps(ds))
    np.testing.assert_allclose(again["displacement"].values, tiny["displacement"].values, atol=1e-3)


def test_lazy_licsbas_reads_only_requested_chunks(tmp_path):
    from io_helpers import known_cube_mm, write_licsbas_cum

    write_licsbas_cum(tmp_path / "cum.h5")
    ds = open_frame(tmp_path / "cum.h5", lazy=True, chunks=(1, 10, 12))
    calls = []
    arr = ds["displacement"].data
    import insar_ae.io._h5 as h5mod

    orig = h5mod.H5Array.__getitem__

    def spy(self, key):
        calls.append(key)
        return orig(self, key)

    h5mod.H5Array.__getitem__ = spy
    try:
        one = arr[-1].compute(scheduler="synchronous")
    finally:
        h5mod.H5Array.__getitem__ = orig
    np.testing.assert_allclose(one, known_cube_mm()[-1])
    assert len(calls) == 1 and calls[0][0] == slice(5, 6)


def test_atomic_file_and_dir_leave_no_partial_output(tmp_path):
    from insar_ae.io._atomic import atomic_dir, atomic_file

    target = tmp_path / "out.nc"
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []
    store = tmp_path / "out.zarr"
    store.mkdir()
    (store / "old").write_text("previous")
    with pytest.raises(RuntimeError), atomic_dir(store) as tmp:
        tmp.mkdir()
        (tmp / "new").write_text("half")
        raise RuntimeError("killed")
    assert [p.name for p in tmp_path.iterdir()] == ["out.zarr"]
    assert [p.name for p in store.iterdir()] == ["old"]
    with atomic_dir(store) as tmp:
        tmp.mkdir()
        (tmp / "new").write_text("complete")
    assert [p.name for p in store.iterdir()] == ["new"] and len(list(tmp_path.iterdir())) == 1
