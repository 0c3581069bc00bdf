"""Block-wise denoising in this process: equals whole-frame denoise, resumes, writes atomically."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import xarray as xr
from distributed_helpers import OPTIONS, TILING

from insar_ae.distributed import denoise_blocks
from insar_ae.errors import ParameterError
from insar_ae.model import Cancelled, DenoiseOptions, denoise
from insar_ae.testing import tiny_frame


@pytest.fixture(scope="module")
def frame():
    return tiny_frame(1, n_time=11, ny=100, nx=75)


@pytest.fixture(scope="module")
def reference(frame, tiny_model):
    return denoise(frame, model=tiny_model, **TILING)


def _assert_same(out: xr.Dataset, ref: xr.Dataset, atol: float = 1e-5) -> None:
    for name in ("deformation", "noise", "displacement", "deformation_true"):
        np.testing.assert_allclose(
            out[name].values, ref[name].values, atol=atol, rtol=0, err_msg=name
        )
    np.testing.assert_array_equal(out["height"].values, ref["height"].values)
    np.testing.assert_array_equal(out["time"].values, ref["time"].values)
    np.testing.assert_array_equal(out["x"].values, ref["x"].values)


@pytest.mark.parametrize("block", [24, 48, 200])
def test_blocks_reproduce_whole_frame_denoise(frame, reference, tiny_model, tmp_path, block):
    out = denoise_blocks(
        frame, tmp_path / "o.zarr", block=block, model=tiny_model, client=False, options=OPTIONS
    )
    _assert_same(out, reference)
    assert out["deformation"].attrs["units"] == "mm"
    assert out["deformation"].attrs["positive"] == "toward the satellite"
    assert out.attrs["title"] == frame.attrs["title"]
    assert not list(tmp_path.glob(".*partial*"))  # state directory removed


def test_dask_backed_input_gives_the_same_result(frame, reference, tiny_model, tmp_path):
    lazy = frame.chunk({"time": -1, "y": 30, "x": 30})
    out = denoise_blocks(
        lazy, tmp_path / "o.zarr", block=48, model=tiny_model, client=False, options=OPTIONS
    )
    _assert_same(out, reference)


def test_integer_halo_differs_only_near_block_edges(frame, reference, tiny_model, tmp_path):
    out = denoise_blocks(
        frame,
        tmp_path / "o.zarr",
        block=48,
        halo=40,
        model=tiny_model,
        client=False,
        options=OPTIONS,
    )
    diff = np.abs(out["deformation"].values - reference["deformation"].values)
    assert np.nanmax(diff) > 0  # not the tile-aligned layout: not bit-identical...
    scale = np.nanstd(reference["deformation"].values)
    assert np.sqrt(np.nanmean(diff**2)) < 0.2 * scale  # ...but close


def test_interrupted_run_resumes_from_finished_blocks(frame, reference, tiny_model, tmp_path):
    out_path = tmp_path / "o.zarr"
    cancel = threading.Event()
    seen: list[str] = []

    def stop_after_two(fraction: float, message: str) -> None:
        seen.append(message)
        if message.startswith("2/"):
            cancel.set()

    with pytest.raises(Cancelled):
        denoise_blocks(
            frame,
            out_path,
            block=24,
            model=tiny_model,
            client=False,
            progress=stop_after_two,
            cancel=cancel,
            options=OPTIONS,
        )
    assert not out_path.exists()  # nothing under the final name until complete
    total = int(seen[0].split("/")[1].split()[0])
    resumed: list[str] = []
    out = denoise_blocks(
        frame,
        out_path,
        block=24,
        model=tiny_model,
        client=False,
        progress=lambda f, m: resumed.append(m),
        options=OPTIONS,
    )
    assert resumed[0].startswith(f"2/{total}")  # the two finished blocks were not redone
    _assert_same(out, reference)


def test_changed_parameters_discard_a_stale_partial_run(frame, tiny_model, tmp_path):
    out_path = tmp_path / "o.zarr"
    cancel = threading.Event()
    with pytest.raises(Cancelled):
        denoise_blocks(
            frame,
            out_path,
            block=24,
            model=tiny_model,
            client=False,
            progress=lambda f, m: cancel.set() if m.startswith("1/") else None,
            cancel=cancel,
            options=OPTIONS,
        )
    messages: list[str] = []
    denoise_blocks(
        frame,
        out_path,
        block=24,
        model=tiny_model,
        client=False,
        options=DenoiseOptions(batch_size=3, tile=32, overlap=16),
        progress=lambda f, m: messages.append(m),
    )
    assert messages[0].startswith("0/")


def test_existing_output_is_kept_unless_overwrite(frame, tiny_model, tmp_path):
    out_path = tmp_path / "o.zarr"
    denoise_blocks(frame, out_path, block=200, model=tiny_model, client=False, options=OPTIONS)
    with pytest.raises(FileExistsError, match="exists"):
        denoise_blocks(frame, out_path, block=200, model=tiny_model, client=False, options=OPTIONS)
    out = denoise_blocks(
        frame.isel(time=slice(0, 10)),
        out_path,
        block=200,
        model=tiny_model,
        client=False,
        overwrite=True,
        options=OPTIONS,
    )
    assert out.sizes["time"] == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.zarr"]


def test_output_onto_its_own_input_is_refused(frame, tiny_model, tmp_path):
    from insar_ae.io import write_frame

    src = write_frame(frame, tmp_path / "in.zarr")
    with pytest.raises(ParameterError, match="input"):
        denoise_blocks(
            src, src, block=200, model=tiny_model, client=False, overwrite=True, options=OPTIONS
        )
    assert (src / ".zmetadata").exists()


def test_file_input_is_read_block_by_block_and_output_reads_back(
    frame, reference, tiny_model, tmp_path
):
    from insar_ae.io import open_frame, write_frame

    src = write_frame(frame, tmp_path / "in.nc")
    out = denoise_blocks(
        src, tmp_path / "o.zarr", block=48, model=tiny_model, client=False, options=OPTIONS
    )
    _assert_same(out, reference)
    again = open_frame(tmp_path / "o.zarr")  # the canonical reader reads it back
    _assert_same(again, reference)
    raw = xr.open_zarr(tmp_path / "o.zarr")  # model provenance is stored with the output
    for key in ("model", "tile", "overlap", "units", "positive"):
        assert raw["deformation"].attrs[key] == reference["deformation"].attrs[key], key
    assert raw.attrs["insar_ae_blocks"]


def test_empty_block_and_date_missing_in_one_block_stay_nan(tiny_model, tmp_path):
    ds = tiny_frame(2, n_time=11, ny=48, nx=120)
    disp = ds["displacement"].values.copy()
    disp[:, :, 48:] = np.nan  # the eastern part (blocks 1 and 2) has no data at all...
    disp[5, :, 1:48] = np.nan  # ...date 5 is missing over the western block but one pixel
    disp[:, :, 72:] = np.nan
    disp[:, 10, 60] = 1.0  # block 1 has a single pixel (finite on every date)
    ds = ds.assign(displacement=(ds["displacement"].dims, disp, ds["displacement"].attrs))
    out = denoise_blocks(
        ds, tmp_path / "o.zarr", block=24, model=tiny_model, client=False, options=OPTIONS
    )
    d = out["deformation"].values
    np.testing.assert_array_equal(np.isnan(d), np.isnan(disp))  # NaN exactly where no data
    # block 4 (x 96..119) and its halo hold no data: not sent to the model, all NaN
    assert np.isnan(d[:, :, 96:]).all()


def test_a_date_missing_over_a_whole_block_is_left_out_there_only(tiny_model, tmp_path):
    ds = tiny_frame(2, n_time=11, ny=48, nx=96)
    disp = ds["displacement"].values.copy()
    disp[5, :, 24:] = np.nan  # date 5 is missing over the eastern block and its halo
    ds = ds.assign(displacement=(ds["displacement"].dims, disp, ds["displacement"].attrs))
    out = denoise_blocks(
        ds, tmp_path / "o.zarr", block=48, model=tiny_model, client=False, options=OPTIONS
    )  # blocks x 0..47 (outer 0..55) and 48..95 (outer 24..95)
    d = out["deformation"].values
    assert np.isnan(d[5, :, 48:]).all() and np.isfinite(np.delete(d, 5, axis=0)).all()
    # the eastern block equals whole-frame denoising of its outer region without date 5
    east = ds.isel(x=slice(24, None)).drop_isel(time=5)
    expected = denoise(east, model=tiny_model, **TILING)["deformation"].values[:, :, 24:]
    np.testing.assert_allclose(np.delete(d[:, :, 48:], 5, axis=0), expected, atol=1e-5)
    # the western block saw date 5 (finite in its outer region): whole-frame numbers there
    west = denoise(ds.isel(x=slice(0, 56)), model=tiny_model, **TILING)["deformation"].values
    np.testing.assert_allclose(d[:, :, :48], west[:, :, :48], atol=1e-5)


def test_bad_inputs_fail_before_any_work(frame, tiny_model, tmp_path):
    with pytest.raises(ParameterError, match="T=9"):
        denoise_blocks(
            frame.isel(time=slice(0, 8)),
            tmp_path / "o.zarr",
            model=tiny_model,
            client=False,
            options=OPTIONS,
        )
    with pytest.raises(ParameterError, match="tile"):
        denoise_blocks(frame, tmp_path / "o.zarr", DenoiseOptions(tile=30), client=False)
    with pytest.raises(ParameterError, match="does not exist"):
        denoise_blocks(tmp_path / "missing.nc", tmp_path / "o.zarr", client=False)
    assert not list(tmp_path.iterdir())  # nothing was written
