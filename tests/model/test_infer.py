"""denoise(): tiling + stitching end to end, NaN handling, progress/cancel, bad input."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
import xarray as xr
from model_helpers import TINY_ARCH, IdentityDenoiser, tiny_model

from insar_ae.errors import DataModelError, ParameterError
from insar_ae.model import Cancelled, DenoiseOptions, denoise
from insar_ae.testing import tiny_frame


def _identity():
    return IdentityDenoiser(**TINY_ARCH)


@pytest.mark.parametrize(("tile", "overlap", "stride"), [(16, 8, 1), (32, 0, 3), (64, 16, 8)])
def test_identity_model_reproduces_the_input_through_tiles_and_windows(tile, overlap, stride):
    """An oracle returning its input must give back the input series exactly."""
    ds = tiny_frame(1, n_time=14, ny=37, nx=45, noise_mm=2.0)
    out = denoise(
        ds, model=_identity(), tile=tile, overlap=overlap, time_stride=stride, device="cpu"
    )
    np.testing.assert_allclose(out["deformation"].values, ds["displacement"].values, atol=1e-4)
    np.testing.assert_allclose(out["noise"].values, 0.0, atol=1e-4)


def test_output_layout_attrs_and_input_untouched():
    ds = tiny_frame(2)
    before = ds.copy(deep=True)
    out = denoise(ds, model=tiny_model(), tile=32, overlap=8, device="cpu")
    xr.testing.assert_identical(ds, before)
    assert set(out.data_vars) >= {"displacement", "height", "deformation", "noise"}
    assert out["deformation"].attrs["units"] == "mm"
    assert np.all(out["deformation"].isel(time=0).values == 0)
    np.testing.assert_allclose(
        out["noise"].values, ds["displacement"].values - out["deformation"].values, atol=1e-5
    )
    # one definition of the output attributes (datamodel), also used by the block-wise store
    from insar_ae.datamodel import OUTPUT_ATTRS
    from insar_ae.distributed.store import OUTPUT_CUBES

    assert OUTPUT_CUBES is OUTPUT_ATTRS
    for name in ("deformation", "noise"):
        assert OUTPUT_ATTRS[name].items() <= out[name].attrs.items(), name
    assert out["noise"].attrs == dict(OUTPUT_ATTRS["noise"])


def test_cancelled_lives_in_errors_and_is_re_exported():
    from insar_ae import errors
    from insar_ae.model import infer

    assert Cancelled is errors.Cancelled is infer.Cancelled
    assert issubclass(Cancelled, errors.InsarAEError) and not issubclass(Cancelled, ValueError)


def test_deterministic():
    ds = tiny_frame(3)
    a = denoise(ds, model=tiny_model(), tile=32, overlap=8, device="cpu")
    b = denoise(ds, model=tiny_model(), tile=32, overlap=8, device="cpu")
    np.testing.assert_array_equal(a["deformation"].values, b["deformation"].values)


def test_nan_in_nan_out_without_contaminating_neighbours():
    ds = tiny_frame(4, n_time=10, ny=32, nx=40)
    holed = ds.copy(deep=True)
    holed["displacement"][4, 10:14, 10:14] = np.nan  # a hole on one date
    holed["displacement"][:, 20, 30] = np.nan  # a pixel missing on every date
    out = denoise(holed, model=tiny_model(), tile=32, overlap=8, device="cpu")
    d = out["deformation"].values
    nan_in = np.isnan(holed["displacement"].values)
    np.testing.assert_array_equal(np.isnan(d), nan_in)
    ref = denoise(ds, model=tiny_model(), tile=32, overlap=8, device="cpu")["deformation"].values
    far = np.ones(d.shape[1:], bool)
    far[2:23, 2:38] = False  # pixels well away from both holes
    assert np.isfinite(d[:, far]).all()
    # with the identity oracle a hole changes nothing else at all
    ident = denoise(holed, model=_identity(), tile=32, overlap=8, device="cpu")["deformation"]
    np.testing.assert_allclose(
        ident.values[~nan_in], holed["displacement"].values[~nan_in], atol=1e-4
    )
    assert np.nanmax(np.abs(d - ref)) < 10 * np.nanstd(ref) + 1e-3


def test_infinite_values_become_nan_with_a_warning():
    ds = tiny_frame(5)
    ds["displacement"][3, 5, 5] = np.inf
    with pytest.warns(RuntimeWarning, match="infinite"):
        out = denoise(ds, model=tiny_model(), tile=32, overlap=8, device="cpu")
    assert np.isnan(out["deformation"].values[3, 5, 5])
    assert np.isnan(out["noise"].values[3, 5, 5])
    assert np.isfinite(out["deformation"].values[4, 5, 5])


def test_mask_false_pixels_are_nan():
    ds = tiny_frame(6)
    mask = np.ones((ds.sizes["y"], ds.sizes["x"]), bool)
    mask[0:3, 0:3] = False
    ds["mask"] = (("y", "x"), mask)
    out = denoise(ds, model=tiny_model(), tile=32, overlap=8, device="cpu")
    assert np.isnan(out["deformation"].values[:, 0:3, 0:3]).all()
    assert np.isfinite(out["deformation"].values[:, 5:, 5:]).all()


def test_frame_smaller_than_a_tile_is_padded_and_cropped():
    ds = tiny_frame(7, ny=12, nx=20)
    out = denoise(ds, model=_identity(), tile=64, overlap=16, device="cpu")
    assert out["deformation"].shape == ds["displacement"].shape
    np.testing.assert_allclose(out["deformation"].values, ds["displacement"].values, atol=1e-4)


def test_dask_backed_input_matches_numpy():
    ds = tiny_frame(8)
    lazy = ds.chunk({"time": 3})
    a = denoise(ds, model=tiny_model(), tile=32, overlap=8, device="cpu")
    b = denoise(lazy, model=tiny_model(), tile=32, overlap=8, device="cpu")
    np.testing.assert_array_equal(a["deformation"].values, b["deformation"].values)


def test_progress_reaches_one_and_cancel_stops():
    ds = tiny_frame(9, n_time=11)
    seen = []
    denoise(
        ds,
        model=tiny_model(),
        tile=16,
        overlap=8,
        batch_size=4,
        device="cpu",
        progress=lambda f, m: seen.append((f, m)),
    )
    fr = [f for f, _ in seen]
    assert fr == sorted(fr) and fr[-1] == pytest.approx(1.0) and len(fr) > 3
    assert "window" in seen[0][1]
    ev = threading.Event()

    def cancel_soon(f, m):
        if f > 0.3:
            ev.set()

    with pytest.raises(Cancelled):
        denoise(
            ds,
            model=tiny_model(),
            tile=16,
            overlap=8,
            batch_size=4,
            device="cpu",
            progress=cancel_soon,
            cancel=ev,
        )


def test_bad_inputs_raise_clear_errors():
    ds = tiny_frame(10)
    m = tiny_model()
    with pytest.raises(ParameterError, match="at least T=9"):
        denoise(ds.isel(time=slice(0, 8)), model=m, device="cpu")
    with pytest.raises(DataModelError, match="dims"):
        denoise(ds.transpose("x", "y", "time"), model=m, device="cpu")
    bad = ds.drop_vars("height").assign(
        height=(("yd", "xd"), np.zeros((5, 5), np.float32), {"units": "m"})
    )
    with pytest.raises(DataModelError, match="height"):
        denoise(bad, model=m, device="cpu")
    empty = ds.copy(deep=True)
    empty["displacement"][5] = np.nan
    with pytest.raises(DataModelError, match="all NaN"):
        denoise(empty, model=m, device="cpu")
    ints = ds.copy()
    ints["displacement"] = ds["displacement"].astype(np.int32)
    with pytest.raises(DataModelError, match="floating"):
        denoise(ints, model=m, device="cpu")
    with pytest.raises(ParameterError, match="tile"):
        denoise(ds, model=m, tile=50, device="cpu")
    with pytest.raises(ParameterError, match="batch_size"):
        denoise(ds, model=m, batch_size=0, device="cpu")
    with pytest.raises(ParameterError, match="model"):
        denoise(ds, model=42, device="cpu")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"unknown denoise option.*'stride'"):
        denoise(ds, model=m, stride=2, device="cpu")
    with pytest.raises(ParameterError, match="DenoiseOptions"):
        denoise(ds, {"tile": 32}, model=m)  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        denoise(ds, model=m, tile=32, overlap=8, device="cpu")  # clean input: no warning


def test_options_object_and_keyword_overrides_give_the_same_result():
    ds = tiny_frame(3, n_time=12, ny=40, nx=44)
    m = tiny_model()
    opts = DenoiseOptions(device="cpu", tile=32, overlap=8, time_stride=2)
    whole = denoise(ds, opts, model=m)
    keywords = denoise(ds, model=m, device="cpu", tile=32, overlap=8, time_stride=2)
    mixed = denoise(
        ds, DenoiseOptions(device="cpu", tile=64), model=m, tile=32, overlap=8, time_stride=2
    )  # overrides win over the options
    for other in (keywords, mixed):
        np.testing.assert_array_equal(whole["deformation"].values, other["deformation"].values)
    attrs = whole["deformation"].attrs
    assert (attrs["tile"], attrs["overlap"], attrs["time_stride"]) == (32, 8, 2)
