"""Benchmark: open a large cube lazily and read one date / one pixel, per format.

Writes a (T, ny, nx) float32 cube (default 200 x 2000 x 2000, 3.2 GB per file) once to a
scratch folder with insar_ae's own writers (streamed from dask, never whole in memory), then
times ``insar_ae.io.open_frame`` (lazy, default threshold), reading one date and reading one
pixel's time series, with a warm page cache and after evicting the file from the page cache
(``posix_fadvise(DONTNEED)``, "cold"). Files are deleted afterwards unless ``--keep``.

    .venv/bin/python bench/io_open.py                      # 200 x 2000 x 2000, mintpy + netcdf
    .venv/bin/python bench/io_open.py --shape 100 2000 2000 --formats mintpy netcdf zarr
    .venv/bin/python bench/io_open.py --out bench/results/io.md   # append the markdown section
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pandas as pd

from insar_ae.datamodel import make_dataset
from insar_ae.io import open_frame, write_frame

SUFFIX = {"mintpy": ".h5", "netcdf": ".nc", "zarr": ".zarr"}


def cube_dataset(nt: int, ny: int, nx: int):
    rng = da.random.default_rng(0)
    disp = rng.standard_normal((nt, ny, nx), dtype=np.float32, chunks=(8, ny, nx)) * np.float32(5.0)
    disp = da.concatenate([da.zeros((1, ny, nx), np.float32, chunks=(1, ny, nx)), disp[1:]], axis=0)
    height = np.full((ny, nx), 500.0, dtype=np.float32)
    t = pd.date_range("2018-01-01", periods=nt, freq="6D")
    x = 500_000.0 + 50.0 * np.arange(nx)
    y = 4_500_000.0 - 50.0 * np.arange(ny)
    return make_dataset(
        disp,
        height,
        t,
        y,
        x,
        crs="EPSG:32636",
        attrs={
            "title": "benchmark cube",
            "source": "bench/io_open.py",
            "sensor": "synthetic",
            "wavelength_m": 0.0555,
            "heading_deg": -12.0,
            "incidence_deg": 39.0,
        },
    )


def evict(path: Path) -> None:
    """Drop ``path`` (file or directory tree) from the page cache."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def timed(fn, repeat: int = 5) -> float:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def bench_one(path: Path, fmt: str, nt: int) -> dict[str, float | str]:
    r: dict[str, float | str] = {}
    r["lazy by default"] = str(open_frame(path, format=fmt)["displacement"].chunks is not None)
    r["open (s)"] = timed(lambda: open_frame(path, format=fmt, lazy=True))
    ds = open_frame(path, format=fmt, lazy=True)
    assert ds["displacement"].chunks is not None, "expected a lazy (dask) array"
    mid = nt // 2
    evict(path)
    t0 = time.perf_counter()
    _ = ds["displacement"].isel(time=mid).values
    r["one date, cold (s)"] = time.perf_counter() - t0
    r["one date, warm (s)"] = timed(lambda: ds["displacement"].isel(time=mid).values)
    evict(path)
    t0 = time.perf_counter()
    _ = ds["displacement"].isel(y=1000 % ds.sizes["y"], x=1234 % ds.sizes["x"]).values
    r["one pixel series, cold (s)"] = time.perf_counter() - t0
    r["one pixel series, warm (s)"] = timed(
        lambda: ds["displacement"].isel(y=1000 % ds.sizes["y"], x=1234 % ds.sizes["x"]).values
    )
    r["dask chunks (t, y, x)"] = str(tuple(c[0] for c in ds["displacement"].chunks))
    return r


def markdown_table(rows: dict[str, dict[str, str]]) -> str:
    keys = list(next(iter(rows.values())))
    lines = ["| | " + " | ".join(rows) + " |", "|---|" + "---|" * len(rows)]
    lines += [f"| {k} | " + " | ".join(str(rows[f][k]) for f in rows) + " |" for k in keys]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--shape", type=int, nargs=3, default=(200, 2000, 2000), metavar=("T", "NY", "NX")
    )
    ap.add_argument("--formats", nargs="+", default=["mintpy", "netcdf"], choices=list(SUFFIX))
    ap.add_argument(
        "--dir", default="/tmp", help="scratch folder (needs ~T*NY*NX*4 bytes per format)"
    )
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--out", help="append the markdown section to this file")
    args = ap.parse_args()
    nt, ny, nx = args.shape
    need = nt * ny * nx * 4 * len(args.formats)
    free = shutil.disk_usage(args.dir).free
    if free < 1.2 * need:
        raise SystemExit(
            f"need {need / 1e9:.1f} GB in {args.dir}, only {free / 1e9:.1f} GB free; "
            "use --shape 100 2000 2000"
        )
    work = Path(tempfile.mkdtemp(prefix="insar_ae_bench_", dir=args.dir))
    ds = cube_dataset(nt, ny, nx)
    rows = {}
    try:
        for fmt in args.formats:
            path = work / f"cube{SUFFIX[fmt]}"
            t0 = time.perf_counter()
            with dask.config.set(scheduler="threads", num_workers=2):
                write_frame(ds, path, format=fmt)
            write_s = time.perf_counter() - t0
            size = sum(
                p.stat().st_size
                for p in ([path] if path.is_file() else path.rglob("*"))
                if p.is_file()
            )
            row = {"file size (GB)": f"{size / 1e9:.2f}", "write (s)": f"{write_s:.1f}"}
            row.update(
                {
                    k: (f"{v:.3f}" if isinstance(v, float) else v)
                    for k, v in bench_one(path, fmt, nt).items()
                }
            )
            rows[fmt] = row
            if not args.keep:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    cpu = subprocess.run(
        "lscpu | grep 'Model name'", shell=True, capture_output=True, text=True
    ).stdout.strip()
    table = markdown_table(rows)
    text = (
        f"\n## Lazy open of a {nt} x {ny} x {nx} float32 cube ({time.strftime('%Y-%m-%d')})\n\n"
        f"- machine: {cpu.split(':', 1)[-1].strip() or platform.processor()}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}\n"
        f"- command: `.venv/bin/python bench/io_open.py --shape {nt} {ny} {nx} --formats "
        f"{' '.join(args.formats)}`\n"
        "- open = `open_frame(path, lazy=True)` (files this size open lazily by default anyway); cold = after evicting the file from the page cache; "
        "times are medians of 5 (cold: single run)\n\n" + table + "\n"
    )
    print(text)
    if args.out:
        with open(args.out, "a") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
