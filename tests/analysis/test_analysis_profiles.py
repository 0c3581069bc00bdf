"""Swath profiles and point time series: geometry against brute force, statistics, edge cases."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from analysis_helpers import cube_da, grid

from insar_ae.analysis import point_timeseries, swath_profile
from insar_ae.analysis.geometry import metric_scale
from insar_ae.errors import ParameterError


def _brute_polyline(px: np.ndarray, py: np.ndarray, line: np.ndarray):
    """Nearest point on a polyline for each point: (dist, along, signed across, in_end_cap)."""
    best = np.full(px.shape, np.inf)
    along = np.zeros(px.shape)
    across = np.zeros(px.shape)
    cum = 0.0
    nseg = len(line) - 1
    for k in range(nseg):
        a, b = line[k], line[k + 1]
        d = b - a
        L = np.hypot(*d)
        u = d / L
        rx, ry = px - a[0], py - a[1]
        t = rx * u[0] + ry * u[1]
        perp = -rx * u[1] + ry * u[0]
        tc = np.clip(t, 0, L)
        dist = np.hypot(t - tc, perp)
        end = ((k == 0) & (t < 0)) | ((k == nseg - 1) & (t > L))
        dist = np.where(end, np.inf, dist)
        better = dist < best
        best = np.where(better, dist, best)
        along = np.where(better, cum + tc, along)
        across = np.where(better, np.where(perp < 0, -dist, dist), across)
        cum += L
    return best, along, across


@pytest.mark.parametrize("n_vertices", [2, 5])
def test_swath_samples_match_brute_force_geometry(n_vertices: int) -> None:
    x, y = grid(70, 90, 100.0)
    rng = np.random.default_rng(n_vertices)
    line = np.column_stack(
        (
            np.linspace(x[5], x[-8], n_vertices) + rng.uniform(-300, 300, n_vertices),
            rng.uniform(y[-10], y[10], n_vertices),
        )
    )
    da = cube_da(rng.normal(size=(70, 90)), x, y)
    prof = swath_profile(da, line, half_width=450.0)
    X, Y = np.meshgrid(x, y)
    dist, along, across = _brute_polyline(X.ravel(), Y.ravel(), line)
    inside = dist <= 450.0
    got = {
        (float(a), float(b))
        for a, b in zip(prof["sample_x"].values, prof["sample_y"].values, strict=True)
    }
    want = {(float(a), float(b)) for a, b in zip(X.ravel()[inside], Y.ravel()[inside], strict=True)}
    assert got == want
    order = np.lexsort((Y.ravel()[inside], X.ravel()[inside]))
    o2 = np.lexsort((prof["sample_y"].values, prof["sample_x"].values))
    np.testing.assert_allclose(prof["sample_distance"].values[o2], along[inside][order], atol=1e-6)
    np.testing.assert_allclose(prof["sample_across"].values[o2], across[inside][order], atol=1e-6)
    np.testing.assert_allclose(prof.attrs["length"], np.hypot(*np.diff(line, axis=0).T).sum())


def test_bin_statistics_equal_numpy_per_bin_with_nan() -> None:
    x, y = grid(50, 60, 100.0)
    rng = np.random.default_rng(3)
    vals = rng.normal(5.0, 2.0, size=(4, 50, 60))
    vals[rng.uniform(size=vals.shape) < 0.2] = np.nan
    da = cube_da(vals, x, y)
    line = np.array([[x[3], y[40]], [x[55], y[8]]])
    prof = swath_profile(da, line, half_width=300.0, bin_size=250.0, samples=True)
    bins = np.minimum(
        (prof["sample_distance"].values / 250.0).astype(int), prof.sizes["distance"] - 1
    )
    sv = prof["sample_value"].values
    for t in range(4):
        for b in (0, 7, prof.sizes["distance"] // 2, prof.sizes["distance"] - 1):
            v = sv[t, bins == b]
            v = v[np.isfinite(v)]
            assert prof["count"].values[t, b] == v.size
            if v.size:
                np.testing.assert_allclose(prof["median"].values[t, b], np.median(v), rtol=1e-5)
                np.testing.assert_allclose(prof["mean"].values[t, b], v.mean(), rtol=1e-5)
                np.testing.assert_allclose(
                    prof["p25"].values[t, b], np.percentile(v, 25), rtol=1e-5
                )
                np.testing.assert_allclose(
                    prof["p75"].values[t, b], np.percentile(v, 75), rtol=1e-5
                )


def test_plane_field_profile_follows_the_line_values() -> None:
    """On z = 0.01 x - 0.02 y the bin medians equal z at the bin centre on the line."""
    x, y = grid(80, 80, 50.0)
    X, Y = np.meshgrid(x, y)
    z = 0.01 * (X - x[0]) - 0.02 * (Y - y[-1])
    line = np.array([[x[10], y[70]], [x[40], y[20]], [x[70], y[60]]])  # 3 vertices
    prof = swath_profile(cube_da(z, x, y), line, half_width=60.0, bin_size=200.0)
    d = prof["distance"].values
    cum = np.concatenate(([0], np.cumsum(np.hypot(*np.diff(line, axis=0).T))))
    px = np.interp(d, cum, line[:, 0])
    py = np.interp(d, cum, line[:, 1])
    want = 0.01 * (px - x[0]) - 0.02 * (py - y[-1])
    near_vertex = np.min(np.abs(d[:, None] - cum[None, 1:-1]), axis=1) < 300
    np.testing.assert_allclose(prof["median"].values[~near_vertex], want[~near_vertex], atol=1.5)


def test_all_dates_equal_one_date_profiles() -> None:
    x, y = grid(40, 50)
    rng = np.random.default_rng(1)
    da = cube_da(rng.normal(size=(6, 40, 50)), x, y)
    line = [[x[2], y[2]], [x[30], y[35]], [x[45], y[5]], [x[10], y[20]], [x[40], y[38]]]
    full = swath_profile(da, line, half_width=250.0)
    for t in (0, 3, 5):
        one = swath_profile(da.isel(time=t), line, half_width=250.0)
        assert one["median"].dims == ("distance",)
        for v in ("median", "p25", "p75", "count"):
            np.testing.assert_array_equal(full[v].isel(time=t).values, one[v].values)
        np.testing.assert_allclose(full["mean"].isel(time=t).values, one["mean"].values, rtol=1e-6)


def test_profile_partly_outside_frame_and_through_nan_area_reports_empty_bins() -> None:
    x, y = grid(40, 40, 100.0)
    vals = np.ones((3, 40, 40))
    vals[:, :, 15:25] = np.nan  # a NaN band across the line
    da = cube_da(vals, x, y)
    line = np.array([[x[0] - 2000.0, y[20]], [x[-1] + 2000.0, y[20]]])
    prof = swath_profile(da, line, half_width=150.0, bin_size=100.0)
    cnt = prof["count"].isel(time=0).values
    d = prof["distance"].values
    outside = (d < 2000.0 - 50) | (d > 2000.0 + 3900 + 50)
    assert np.all(cnt[outside] == 0) and np.all(
        np.isnan(prof["median"].isel(time=0).values[outside])
    )
    in_nan = (d > 2000 + 1500 + 50) & (d < 2000 + 2400 - 50)
    assert np.all(cnt[in_nan] == 0)
    valid = ~outside & ~in_nan & (cnt > 0)
    assert valid.sum() > 20 and np.all(prof["median"].isel(time=0).values[valid] == 1.0)
    # entirely outside: no crash, all bins empty
    far = swath_profile(da, line + 1e6, half_width=150.0)
    assert int(far["count"].sum()) == 0 and far.sizes["sample"] == 0


@pytest.mark.parametrize("hw", [0.0, -10.0, float("nan"), float("inf")])
def test_invalid_half_width_raises_parameter_error(hw: float) -> None:
    x, y = grid(10, 10)
    with pytest.raises(ParameterError, match="half_width"):
        swath_profile(
            cube_da(np.zeros((10, 10)), x, y), [[x[0], y[0]], [x[-1], y[-1]]], half_width=hw
        )


def test_invalid_line_and_bin_size_raise() -> None:
    x, y = grid(10, 10)
    da = cube_da(np.zeros((10, 10)), x, y)
    with pytest.raises(ParameterError, match="line"):
        swath_profile(da, [[x[0], y[0]]], half_width=100)
    with pytest.raises(ParameterError, match="zero length"):
        swath_profile(da, [[x[0], y[0]], [x[0], y[0]]], half_width=100)
    with pytest.raises(ParameterError, match="bin_size"):
        swath_profile(da, [[x[0], y[0]], [x[5], y[5]]], half_width=100, bin_size=0)


def test_dataset_profiles_raw_and_denoised_together() -> None:
    x, y = grid(30, 30)
    rng = np.random.default_rng(2)
    raw, den = rng.normal(size=(4, 30, 30)), rng.normal(size=(4, 30, 30))
    ds = xr.Dataset({"displacement": cube_da(raw, x, y), "deformation": cube_da(den, x, y)})
    line = [[x[1], y[1]], [x[28], y[25]]]
    prof = swath_profile(ds, line, half_width=200.0)
    assert prof["median"].dims == ("layer", "time", "distance")
    assert list(prof["layer"].values) == ["displacement", "deformation"]
    one = swath_profile(ds["deformation"], line, half_width=200.0)
    np.testing.assert_array_equal(
        prof["median"].sel(layer="deformation").values, one["median"].values
    )


def test_dask_backed_input_gives_same_profile() -> None:
    x, y = grid(30, 40)
    da = cube_da(np.random.default_rng(4).normal(size=(5, 30, 40)), x, y)
    line = [[x[2], y[3]], [x[35], y[25]]]
    a = swath_profile(da, line, half_width=300.0)
    b = swath_profile(da.chunk({"time": 2, "y": 16, "x": 16}), line, half_width=300.0)
    np.testing.assert_array_equal(a["median"].values, b["median"].values)


def test_degree_dataset_converts_half_width_with_local_scale() -> None:
    lon = 30.0 + 0.001 * np.arange(200)
    lat = 40.1 - 0.001 * np.arange(200)
    da = cube_da(np.zeros((200, 200)), lon, lat, units="degrees")
    line = [[lon[100], lat[10]], [lon[100], lat[190]]]  # north-south
    hw_deg = 0.01  # arc degrees
    prof = swath_profile(da, line, half_width=hw_deg)
    sc = metric_scale("degrees", float(np.mean(lat[[10, 190]])))
    max_dlon = hw_deg * sc.unit_m / sc.sx  # ~0.0145 deg of longitude at 40 N
    got = np.max(np.abs(prof["sample_x"].values - lon[100]))
    assert abs(got - max_dlon) <= 0.001 + 1e-9
    np.testing.assert_allclose(np.max(np.abs(prof["sample_across"].values)), hw_deg, rtol=0.08)
    np.testing.assert_allclose(prof.attrs["length"], 0.18 * sc.sy / sc.unit_m, rtol=1e-9)
    assert 110_000 < sc.unit_m < 112_000


def test_point_timeseries_nearest_mean_median_and_dataset() -> None:
    x, y = grid(20, 20, 100.0)
    rng = np.random.default_rng(5)
    vals = rng.normal(size=(7, 20, 20))
    vals[2, 10, 10] = np.nan
    da = cube_da(vals, x, y)
    ts = point_timeseries(da, x=x[10] + 20, y=y[10] - 30)
    np.testing.assert_array_equal(np.isnan(ts.values), np.isnan(vals[:, 10, 10]))
    np.testing.assert_allclose(ts.values[0], vals[0, 10, 10], rtol=1e-6)
    ts_m = point_timeseries(da, x=x[10], y=y[10], radius=150.0, stat="median")
    X, Y = np.meshgrid(x, y)
    inside = np.hypot(X - x[10], Y - y[10]) <= 150.0
    assert int(ts_m["n_valid"][0]) == inside.sum() == 9
    np.testing.assert_allclose(ts_m.values, np.nanmedian(vals[:, inside], axis=1), rtol=1e-5)
    ts_b = point_timeseries(da, x=x[10], y=y[10], box=(250.0, 100.0), stat="mean")
    np.testing.assert_allclose(
        ts_b.values, np.nanmean(vals[:, 9:12, 8:13].reshape(7, -1), axis=1), rtol=1e-5
    )
    ds = xr.Dataset({"displacement": da, "deformation": da * 2})
    both = point_timeseries(ds, x=x[3], y=y[4])
    np.testing.assert_allclose(
        both["deformation"].values, 2 * both["displacement"].values, rtol=1e-6
    )
    # layers with different NaN patterns keep their own counts (was a MergeError)
    holes = ds.assign(deformation=ds["deformation"].where(ds["x"] > x[10]))
    area = point_timeseries(holes, x=x[10], y=y[10], radius=150.0)
    assert int(area["n_valid_displacement"][0]) == 9 and int(area["n_valid_deformation"][0]) == 3
    np.testing.assert_allclose(
        area["deformation"].values, np.nanmean(2 * vals[:, 9:12, 11], axis=1), rtol=1e-5
    )
    with pytest.raises(ParameterError, match="outside"):
        point_timeseries(da, x=x[0] - 1e4, y=y[0])
    with pytest.raises(ParameterError, match="stat"):
        point_timeseries(da, x=x[3], y=y[3], stat="max")
