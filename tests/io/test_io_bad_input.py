"""Every kind of bad input gives an error naming the file, the problem and what was expected."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from io_helpers import (
    NX,
    NY,
    known_cube_mm,
    write_licsbas_cum,
    write_mintpy_geometry,
    write_mintpy_ts,
)

from insar_ae.errors import FormatError
from insar_ae.io import open_frame


@pytest.mark.parametrize("name", ["nothing.h5", "nothing.nc", "nothing.tif", "nothing.zarr"])
def test_missing_file_names_the_path(tmp_path, name):
    with pytest.raises(FileNotFoundError, match=name):
        open_frame(tmp_path / name)


def test_missing_file_with_explicit_format(tmp_path):
    for fmt in ("mintpy", "licsbas", "netcdf", "geotiff"):
        with pytest.raises(FileNotFoundError, match=r"absent\.h5"):
            open_frame(tmp_path / "absent.h5", format=fmt)


def test_truncated_hdf5(mintpy_dir):
    src = mintpy_dir / "timeseries.h5"
    bad = mintpy_dir / "truncated.h5"
    bad.write_bytes(src.read_bytes()[:1500])
    with pytest.raises(FormatError, match=r"truncated.h5.*(truncated or corrupt|neither)"):
        open_frame(bad)
    with pytest.raises(FormatError, match=r"truncated.h5.*truncated or corrupt.*expected a MintPy"):
        open_frame(bad, format="mintpy")


def test_corrupt_file_with_h5_suffix(tmp_path):
    bad = tmp_path / "garbage.h5"
    bad.write_bytes(b"this is not HDF5 at all" * 10)
    with pytest.raises(
        FormatError, match=r"garbage.h5: not an HDF5/NetCDF file.*truncated or corrupt"
    ):
        open_frame(bad)


def test_hdf5_that_is_neither_mintpy_nor_licsbas(tmp_path):
    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("velocity", data=np.zeros((3, 3)))
    with pytest.raises(FormatError, match=r"other.h5.*neither MintPy.*LiCSBAS.*\['velocity'\]"):
        open_frame(p)


def test_missing_datasets(tmp_path):
    p = tmp_path / "ts.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("timeseries", data=np.zeros((3, 4, 5), np.float32))
    with pytest.raises(FormatError, match=r"ts.h5.*missing dataset\(s\) \['date'\].*YYYYMMDD"):
        open_frame(p)
    q = tmp_path / "cum.h5"
    with h5py.File(q, "w") as f:
        f.create_dataset("cum", data=np.zeros((3, 4, 5), np.float32))
    with pytest.raises(FormatError, match=r"cum.h5.*missing dataset\(s\) \['imdates'\]"):
        open_frame(q, format="licsbas")


def test_dates_that_do_not_parse(tmp_path):
    write_mintpy_ts(
        tmp_path / "ts.h5",
        dates=["20210101", "2021XX13", "20210125", "20210206", "20210218", "20210302"],
    )
    with pytest.raises(
        FormatError, match=r"ts.h5: /date\[1\] = '2021XX13' is not a date; expected YYYYMMDD"
    ):
        open_frame(tmp_path / "ts.h5")
    write_licsbas_cum(
        tmp_path / "cum.h5",
        imdates=np.array([20210101, 20210113, 20211399, 20210206, 20210218, 20210302]),
    )
    with pytest.raises(FormatError, match=r"cum.h5: imdates\[2\] = 20211399 is not a date"):
        open_frame(tmp_path / "cum.h5")


def test_dates_that_do_not_increase(tmp_path):
    write_mintpy_ts(
        tmp_path / "ts.h5",
        dates=["20210101", "20210113", "20210113", "20210206", "20210218", "20210302"],
    )
    with pytest.raises(FormatError, match=r"ts.h5: /date must be strictly increasing.*2021-01-13"):
        open_frame(tmp_path / "ts.h5")


def test_date_count_mismatch(tmp_path):
    p = write_mintpy_ts(tmp_path / "ts.h5")
    with h5py.File(p, "a") as f:
        del f["date"]
        f.create_dataset("date", data=np.array([b"20210101", b"20210113"]))
    with pytest.raises(FormatError, match=r"/date has 2 entries but /timeseries has 6 dates"):
        open_frame(p)


def test_dem_of_another_shape(tmp_path):
    write_mintpy_ts(tmp_path / "timeseries.h5")
    write_mintpy_geometry(tmp_path / "geo.h5", shape=(NY, NX + 3))
    with pytest.raises(FormatError, match=r"geo.h5: /height has shape \(10, 15\).*\(10, 12\)"):
        open_frame(tmp_path / "timeseries.h5", geometry=tmp_path / "geo.h5")
    write_licsbas_cum(tmp_path / "cum.h5", hgt=False)
    np.zeros((NY, NX + 3), "<f4").tofile(tmp_path / "hgt")
    with pytest.raises(FormatError, match=r"hgt: height \(raw float32\) has 600 bytes.*10x12"):
        open_frame(tmp_path / "cum.h5", height=tmp_path / "hgt")


def test_units_that_cannot_be_determined(tmp_path):
    write_mintpy_ts(tmp_path / "ts.h5", attrs={"UNIT": "radian"})
    with pytest.raises(
        FormatError, match=r"ts.h5.*units 'radian'.*expected one of 'mm', 'cm', 'm'"
    ):
        open_frame(tmp_path / "ts.h5", geometry=False)


def test_bad_refarea(tmp_path):
    write_licsbas_cum(tmp_path / "cum.h5", refarea=b"ref at 3,4")
    with pytest.raises(
        FormatError, match=r"cum.h5: refarea = 'ref at 3,4' does not parse; expected 'x1:x2/y1:y2'"
    ):
        open_frame(tmp_path / "cum.h5")


def test_unknown_format_name(mintpy_dir):
    with pytest.raises(ValueError, match=r"format='envi'.*expected one of"):
        open_frame(mintpy_dir / "timeseries.h5", format="envi")


# ---------------------------------------------------------------- issue 16: sizes, inf, units
def test_huge_claimed_shape_is_refused_before_any_allocation(tmp_path):
    p = tmp_path / "huge.h5"
    with h5py.File(p, "w") as f:  # 1.9 TiB claimed, nothing stored
        f.create_dataset("timeseries", shape=(13, 200000, 200000), dtype="f4", chunks=(1, 256, 256))
        f.create_dataset(
            "date",
            data=np.array([f"2020{m:02d}01" for m in range(1, 13)] + ["20210101"], dtype="S8"),
        )
    with pytest.raises(
        FormatError,
        match=r"huge.h5: /timeseries claims 13 x 200000 x 200000 "
        r"values \(2.08 TB\) but the file holds only 0 B",
    ):
        open_frame(p)


def test_lazy_reading_is_decided_by_array_size_not_file_size(tmp_path, monkeypatch):
    import insar_ae.io._common as common

    plain = write_mintpy_ts(
        tmp_path / "plain.h5",
        cube_m=known_cube_mm(ny=200, nx=200) / 1000.0,
        attrs={"LENGTH": "200", "WIDTH": "200"},
    )
    p = tmp_path / "ts.h5"
    with h5py.File(plain) as f, h5py.File(p, "w") as g:  # same data, gzip: a smaller file
        data = f["timeseries"][()]
        g.create_dataset("timeseries", data=data, compression="gzip", shuffle=True, chunks=True)
        g.create_dataset("date", data=f["date"][()])
        g.attrs.update(dict(f.attrs))
    nbytes = data.size * 4
    monkeypatch.setattr(common, "LAZY_THRESHOLD_BYTES", nbytes - 1)
    assert p.stat().st_size < nbytes  # file size alone would say "load it eagerly"
    ds = open_frame(p, geometry=False)
    assert ds["displacement"].chunks is not None


def test_infinite_values_are_read_as_nan_with_a_warning(tmp_path):
    cube = known_cube_mm() / 1000.0
    cube[2, 1, 1] = np.inf
    cube[3, 0, 0] = -np.inf
    write_mintpy_ts(tmp_path / "ts.h5", cube_m=cube)
    with pytest.warns(RuntimeWarning, match="displacement has 2 infinite values; written as NaN"):
        ds = open_frame(tmp_path / "ts.h5", geometry=False)
    assert not np.isinf(ds["displacement"].values).any()
    assert np.isnan(ds["displacement"].values[2, 1, 1])


def test_metres_labelled_millimetres_warn(tmp_path):
    write_mintpy_ts(tmp_path / "ts.h5", cube_m=known_cube_mm() / 1e6)  # "m" holding km/1e3...
    with pytest.warns(RuntimeWarning, match=r"implausibly small for millimetres.*--units m"):
        open_frame(tmp_path / "ts.h5", geometry=False)
