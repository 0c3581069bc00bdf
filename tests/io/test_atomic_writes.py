"""The one write path (insar_ae.atomic): temporaries, replacement, refusal, directories, and
the writers that go through it (weights, checkpoints, figures, the block-wise store)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from insar_ae import atomic
from insar_ae.errors import InsarAEError, OutputExistsError


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _exists_message(path: Path, why: str = "already exists") -> str:
    return f"output {path} {why}; pass overwrite=True (CLI: --overwrite) to replace it"


# -- the context manager ----------------------------------------------------------------------
@pytest.mark.parametrize("exc", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_failure_leaves_neither_target_nor_temporary(tmp_path, exc):
    target = tmp_path / "out.nc"
    with pytest.raises(type(exc)), atomic.atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise exc
    assert _names(tmp_path) == []


def test_temporary_is_hidden_beside_the_target_and_replaces_it_on_success(tmp_path):
    target = tmp_path / "out.nc"
    target.write_bytes(b"old")
    with atomic.atomic_path(target, overwrite=True) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".") and tmp.suffix == ".nc"
        assert not tmp.exists()  # the body creates it
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # readers see the previous file until the end
    assert target.read_bytes() == b"new" and _names(tmp_path) == ["out.nc"]


def test_existing_target_is_refused_unless_overwrite(tmp_path):
    target = tmp_path / "out.nc"
    target.write_bytes(b"precious")
    with pytest.raises(OutputExistsError) as err, atomic.atomic_path(target) as tmp:
        tmp.write_bytes(b"never")  # pragma: no cover - refused before the body
    assert str(err.value) == _exists_message(target.resolve())
    assert isinstance(err.value, FileExistsError) and isinstance(err.value, InsarAEError)
    assert target.read_bytes() == b"precious" and _names(tmp_path) == ["out.nc"]


def test_target_appearing_during_the_write_is_not_clobbered(tmp_path):
    target = tmp_path / "out.nc"
    with pytest.raises(OutputExistsError) as err, atomic.atomic_path(target) as tmp:
        tmp.write_bytes(b"mine")
        target.write_bytes(b"another writer's")
    assert str(err.value) == _exists_message(target, "appeared during the run")
    assert target.read_bytes() == b"another writer's" and _names(tmp_path) == ["out.nc"]


def test_directories_are_created_replaced_and_kept_on_failure(tmp_path):
    store = tmp_path / "out.zarr"
    with atomic.atomic_path(store) as tmp:
        tmp.mkdir()
        (tmp / "a").write_text("first")
    assert _names(store) == ["a"]
    with pytest.raises(RuntimeError), atomic.atomic_path(store, overwrite=True) as tmp:
        tmp.mkdir()
        (tmp / "b").write_text("half")
        raise RuntimeError("killed")
    assert _names(tmp_path) == ["out.zarr"] and _names(store) == ["a"]
    with atomic.atomic_path(store, overwrite=True) as tmp:
        tmp.mkdir()
        (tmp / "b").write_text("complete")
    assert _names(tmp_path) == ["out.zarr"] and _names(store) == ["b"]  # no ".old" left


def test_move_into_place_puts_the_old_directory_back_when_the_rename_fails(tmp_path, monkeypatch):
    target, src = tmp_path / "out.zarr", tmp_path / "new.zarr"
    target.mkdir()
    (target / "old").write_text("previous")
    src.mkdir()
    real = os.replace

    def fail_on_src(a, b):
        if Path(a) == src:
            raise OSError("no space left")
        return real(a, b)

    monkeypatch.setattr(atomic.os, "replace", fail_on_src)
    with pytest.raises(OSError, match="no space"):
        atomic.move_into_place(src, target, overwrite=True)
    assert _names(target) == ["old"] and _names(tmp_path) == ["new.zarr", "out.zarr"]


def test_write_text_and_bytes(tmp_path):
    path = tmp_path / "state.json"
    assert atomic.write_text(path, '{"a": 1}') == path
    assert path.read_text() == '{"a": 1}' and (path.stat().st_mode & 0o777) == 0o644
    with pytest.raises(OutputExistsError, match="already exists; pass overwrite=True"):
        atomic.write_bytes(path, b"{}")
    atomic.write_bytes(path, b"{}", overwrite=True)
    assert path.read_bytes() == b"{}" and _names(tmp_path) == ["state.json"]


def test_stale_temporaries_of_dead_writers_are_swept(tmp_path):
    target = tmp_path / "out.nc"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    stale = tmp_path / f".out.{atomic._HOST}.{dead}.0123456789ab.tmp.nc"
    stale_dir = tmp_path / f".out.{atomic._HOST}.{dead}.ba9876543210.old.nc"
    live = tmp_path / f".out.{atomic._HOST}.{os.getpid()}.0123456789ab.tmp.nc"
    stale.write_bytes(b"left by SIGKILL")
    stale_dir.mkdir()
    live.write_bytes(b"in progress")
    atomic.write_bytes(target, b"data")
    assert _names(tmp_path) == sorted([live.name, "out.nc"])


def test_old_import_location_still_works(tmp_path):
    from insar_ae.io import OutputExistsError as from_io
    from insar_ae.io._atomic import OutputExistsError as from_old
    from insar_ae.io._atomic import atomic_file, check_output

    assert from_io is from_old is OutputExistsError
    (tmp_path / "x.nc").write_bytes(b"old")
    with atomic_file(tmp_path / "x.nc") as tmp:  # the old name replaces, as it always did
        tmp.write_bytes(b"new")
    assert (tmp_path / "x.nc").read_bytes() == b"new"
    with pytest.raises(OutputExistsError):
        check_output(tmp_path / "x.nc", overwrite=False)


# -- the writers that go through it ------------------------------------------------------------
def _tiny_model():
    import torch

    from insar_ae.model import Denoiser

    torch.manual_seed(0)
    return Denoiser(T=9, widths=(4, 4, 8, 8), n_mix=1)


def test_failed_weights_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    from insar_ae.model import save_weights

    path = tmp_path / "w" / "m.safetensors"  # the folder is created
    save_weights(_tiny_model(), path)
    before = {p.name: p.read_bytes() for p in path.parent.iterdir()}

    def disk_full(fd):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "fsync", disk_full)
    with pytest.raises(OSError, match="disk full"):
        save_weights(_tiny_model(), path, meta={"second": True})
    assert {p.name: p.read_bytes() for p in path.parent.iterdir()} == before


def test_failed_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    import torch

    from insar_ae.model.train import _atomic_torch_save

    ckpt = tmp_path / "checkpoint.pt"
    _atomic_torch_save({"step": 1}, ckpt)

    def interrupted(obj, f):
        Path(f).write_bytes(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _atomic_torch_save({"step": 2}, ckpt)
    monkeypatch.undo()
    assert _names(tmp_path) == ["checkpoint.pt"]
    assert torch.load(ckpt, weights_only=True) == {"step": 1}


def test_failed_figure_leaves_no_file(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from insar_ae.synthetic import make_scene
    from insar_ae.synthetic.figures import plot_scene

    def half_written(self, fname, **kw):
        Path(fname).write_bytes(b"\x89PNG half")
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(Figure, "savefig", half_written)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        plot_scene(make_scene("clean-fault", 0, shape=(16, 16), n_dates=3), tmp_path / "f.png")
    assert _names(tmp_path) == []


def _finished_partial(out: Path):
    from insar_ae.distributed.store import PartialStore

    partial = PartialStore(out, {"test": 1})
    template = xr.Dataset({"deformation": (("y", "x"), np.zeros((2, 2), np.float32))})
    partial.open(template, {}, resume=False)
    return partial


def test_block_store_finish_refuses_or_replaces_an_output_that_appeared(tmp_path):
    out = tmp_path / "o.zarr"
    partial = _finished_partial(out)
    out.mkdir()
    (out / "other").write_text("another run")
    with pytest.raises(OutputExistsError) as err:
        partial.finish()
    assert str(err.value) == _exists_message(out, "appeared during the run")
    assert _names(out) == ["other"]
    partial.finish(overwrite=True)
    assert xr.open_zarr(out)["deformation"].shape == (2, 2)
    assert _names(tmp_path) == ["o.zarr"]  # neither the state folder nor the old store left
