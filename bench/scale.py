"""Scaling benchmark of block-wise denoising on Dask (insar_ae.distributed).

1. Throughput of the shipped model with 1 and 2 local workers (one torch thread each), against
   whole-frame ``denoise`` in one process; output pixel-dates/s and network pixel-frames/s.
2. Peak resident memory of the workers against frame size (frames read lazily from Zarr,
   fixed block size): it should stay flat while the frame grows.
3. A written estimate of the time and GPU count to denoise one year of Sentinel-1 data over the
   Alpine-Himalayan belt, from the measured CPU rate and a stated GPU rate (no GPU was lent).

Usage: ``python bench/scale.py [--quick] [--write]`` (``--write`` replaces
``bench/results/scale.md``). Default run: about 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from insar_ae.distributed import denoise_blocks, plan_blocks
from insar_ae.distributed.cluster import preload_workers
from insar_ae.distributed.monitor import WorkerMemory
from insar_ae.model import DenoiseOptions, Denoiser, denoise, load_model
from insar_ae.model.network import flops_per_pixel
from insar_ae.model.tiling import tile_origins, window_starts
from insar_ae.testing import lazy_frame

RESULTS = Path(__file__).resolve().parent / "results" / "scale.md"
MB = 1e6


def cpu_name() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("Model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def network_pixel_frames(blocks, n_time: int, *, tile: int, overlap: int, stride: int) -> int:
    """Pixels x frames pushed through the network for these blocks (tiles of tile^2, T = 9)."""
    windows = len(window_starts(n_time, 9, stride))
    tiles = sum(
        len(tile_origins((max(b.oy1 - b.oy0, tile), max(b.ox1 - b.ox0, tile)), tile, overlap))
        for b in blocks
    )
    return windows * 9 * tiles * tile * tile


def cluster(n_workers: int, memory_limit="4GiB"):
    from distributed import Client, LocalCluster

    c = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
        memory_limit=memory_limit,
    )
    return c, Client(c)


def throughput(
    tmp: Path, size: int, n_time: int, block: int, stride: int, repeats: int = 2
) -> list[dict]:
    """Shipped model: whole frame in one process (1 and 2 threads), then 1 and 2 workers;
    best wall time of ``repeats`` runs each."""
    model = load_model("default")
    tile, overlap = 128, 32
    ds = lazy_frame(1, n_time=n_time, ny=size, nx=size, chunk=96).compute()
    blocks = plan_blocks(size, size, block=block, tile=tile, overlap=overlap)
    whole = network_pixel_frames(
        plan_blocks(size, size, block=10**6, tile=tile, overlap=overlap),
        n_time,
        tile=tile,
        overlap=overlap,
        stride=stride,
    )
    split = network_pixel_frames(blocks, n_time, tile=tile, overlap=overlap, stride=stride)
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        wall = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            denoise(ds, model=model, tile=tile, overlap=overlap, time_stride=stride)
            wall = min(wall, time.perf_counter() - t0)
        rows.append(
            {
                "run": f"whole frame, 1 process, {threads} torch thread(s)",
                "blocks": 1,
                "wall": wall,
                "net": whole,
                "out": size * size * n_time,
                "rss": None,
                "cpu": None,
            }
        )
    torch.set_num_threads(1)
    for workers in (1, 2):
        c, client = cluster(workers)
        try:
            preload_workers(client)
            wall, cpu, peak = float("inf"), 0.0, 0
            for i in range(repeats):  # the first run also loads the weights on each worker
                with WorkerMemory(client) as mem:
                    t0 = time.perf_counter()
                    denoise_blocks(
                        ds,
                        tmp / f"tp{workers}-{i}.zarr",
                        DenoiseOptions(tile=tile, overlap=overlap, time_stride=stride),
                        block=block,
                        client=client,
                    )
                    t = time.perf_counter() - t0
                peak = max(peak, mem.max_peak)
                if t < wall:
                    wall, cpu = t, mem.total_cpu_seconds
        finally:
            client.close()
            c.close()
        rows.append(
            {
                "run": f"blocks on {workers} worker(s) x 1 thread",
                "blocks": len(blocks),
                "wall": wall,
                "net": split,
                "out": size * size * n_time,
                "rss": peak,
                "cpu": cpu,
            }
        )
    return rows


class _NoNetwork(Denoiser):
    """The Denoiser interface with no network (returns zeros): times the host-side work of
    ``denoise`` (tiling, batching, blending, stitching) that a GPU does not speed up."""

    def forward(self, windows, dem, mask=None):
        return torch.zeros_like(windows, dtype=torch.float32)


def host_rate(size: int, n_time: int, stride: int, repeats: int = 2) -> float:
    """Network pixel-frames/s that the host-side pipeline alone sustains (1 thread)."""
    torch.set_num_threads(1)
    ds = lazy_frame(1, n_time=n_time, ny=size, nx=size, chunk=96).compute()
    work = network_pixel_frames(
        plan_blocks(size, size, block=10**6), n_time, tile=128, overlap=32, stride=stride
    )
    net = _NoNetwork(T=9, widths=(4, 4, 8, 8), n_mix=1).eval()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        denoise(ds, model=net, tile=128, overlap=32, time_stride=stride)
        best = min(best, time.perf_counter() - t0)
    return work / best


def memory_sweep(tmp: Path, sizes: list[int], n_time: int, block: int) -> list[dict]:
    """Tiny model, frames read lazily from Zarr, 2 workers: peak RSS against frame size."""
    torch.manual_seed(0)
    tiny = Denoiser(T=9, widths=(4, 4, 8, 8), n_mix=1).eval()
    tiling = {"tile": 32, "overlap": 8}
    rows = []
    c, client = cluster(2)
    try:
        preload_workers(client)
        for size in sizes:
            src_path = tmp / f"in{size}.zarr"
            lazy_frame(0, n_time=n_time, ny=size, nx=size, chunk=96).to_zarr(
                src_path, zarr_format=2
            )
            src = xr.open_zarr(src_path)
            client.run(lambda: __import__("gc").collect())
            with WorkerMemory(client) as mem:
                t0 = time.perf_counter()
                denoise_blocks(
                    src,
                    tmp / f"out{size}.zarr",
                    DenoiseOptions(time_stride=7, **tiling),
                    model=tiny,
                    block=block,
                    client=client,
                )
                wall = time.perf_counter() - t0
            rows.append(
                {
                    "size": size,
                    "bytes": src.nbytes,
                    "blocks": len(plan_blocks(size, size, block=block, **tiling)),
                    "peak": mem.max_peak,
                    "growth": mem.max_growth,
                    "base": min(mem.baseline.values()),
                    "wall": wall,
                }
            )
            shutil.rmtree(src_path)
            shutil.rmtree(tmp / f"out{size}.zarr")
    finally:
        client.close()
        c.close()
    return rows


def model_bench_rate(flops: float) -> tuple[float, str] | None:
    """Network pixel-frames/s per core from the model speed benchmark (bench/results/model.md):
    its measured, time_stride 1 row's achieved FLOP/s / FLOP per pixel-frame / threads."""
    import re

    path = RESULTS.parent / "model.md"
    if not path.is_file():
        return None
    text = path.read_text()
    row = re.search(
        r"\|\s*([\d x]+?)\s*\(measured\)\s*\|\s*1\s*\|[^|]*\|[^|]*\|\s*([\d.]+) GFLOP/s", text
    )
    threads = re.search(r"(\d+) threads", text)
    if not row or not threads:
        return None
    n = int(threads.group(1))
    rate = float(row.group(2)) * 1e9 / flops / n
    return rate, (
        f"bench/results/model.md (model speed benchmark): {row.group(2)} GFLOP/s on "
        f"{n} threads for a {row.group(1).strip()} frame, time_stride 1"
    )


def estimate_section(
    cpu_rate: float,
    gpu_rate: float,
    flops: float,
    cpu_source: str = "measured above",
    gpu_source: str = "assumed",
) -> str:
    """Markdown: time and GPUs for one year of Sentinel-1 over the Alpine-Himalayan belt."""
    belt_km2 = 12_000 * 1_500
    frame_km2 = 250 * 250
    per_geometry = belt_km2 / frame_km2 * 1.2  # 20 % overlap between adjacent frames/tracks
    n_frames = round(2 * per_geometry, -1)  # ascending + descending
    px = (250_000 / 100) ** 2
    cover = (128 / 96) ** 2  # tile 128, overlap 32: each pixel is in ~1.78 tiles
    lines = [
        "## Estimate: one year of Sentinel-1 over the Alpine-Himalayan belt (ESTIMATE)",
        "",
        "Assumptions (stated, not measured):",
        "",
        f"- belt ~12 000 km long (Gibraltar to Myanmar) x ~1 500 km wide on average -> "
        f"{belt_km2:.2e} km2; Sentinel-1 IW frames ~250 x 250 km ({frame_km2} km2) with ~20 % "
        f"overlap -> {per_geometry:.0f} frames per geometry, ascending + descending -> "
        f"**{n_frames:.0f} frames**;",
        f"- 100 m posting -> 2 500 x 2 500 = **{px:.2e} pixels per frame**;",
        "- 6-day repeat (Sentinel-1A + 1C): ~61 acquisitions/yr; 12-day (one satellite): ~30;",
        "- default model and tiling (T = 9, time_stride 1: each date is in 9 windows; tile 128, "
        f"overlap 32: x{cover:.2f} tile coverage); a whole frame per GPU worker (one block: "
        "2 500^2 x 61 x 4 B = 1.5 GB per cube fits a GPU host), so no halo overhead;",
        f"- network cost: {flops / 1e3:.1f} kFLOP per pixel-frame (forward, counted);",
        f"- CPU rate: **{cpu_rate:.3g} network pixel-frames/s per core** ({cpu_source});",
        f"- GPU rate: **{gpu_rate:.2g} network pixel-frames/s per GPU** -- an ESTIMATE, no GPU "
        f"was lent: {gpu_source}. The network is narrow (16-64 channels: memory-bound, a few % "
        "of peak) and the work around it runs in numpy on the host; take x0.3 to x3 as the "
        "uncertainty.",
        "",
        "| repeat | dates/yr | pixel-frames per frame-year | CPU core-hours (all frames) | "
        "GPU-hours (all frames) | wall time on 8 GPUs | GPUs for 1 day |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, n_dates in (("6-day", 61), ("12-day", 30)):
        work = px * n_dates * 9 * cover
        cpu_h = n_frames * work / cpu_rate / 3600
        gpu_h = n_frames * work / gpu_rate / 3600
        lines.append(
            f"| {label} | {n_dates} | {work:.2e} | {cpu_h:,.0f} | {gpu_h:.1f} | "
            f"{gpu_h / 8:.1f} h | {max(1, int(np.ceil(gpu_h / 24)))} |"
        )
    work6 = px * 61 * 9 * cover
    gpu_h6, cpu_h6 = n_frames * work6 / gpu_rate / 3600, n_frames * work6 / cpu_rate / 3600
    tb = n_frames * px * 61 * 4 / 1e12
    lines += [
        "",
        f"Arithmetic (6-day): {px:.2e} px x 61 dates x 9 windows x {cover:.2f} = {work6:.2e} "
        f"pixel-frames per frame-year; x {n_frames:.0f} frames = {n_frames * work6:.2e}; "
        f"/ {gpu_rate:.2g} per GPU-second = {n_frames * work6 / gpu_rate:.2e} GPU-s = "
        f"{gpu_h6:.1f} GPU-hours; on CPU cores at {cpu_rate:.3g}/s: {cpu_h6:,.0f} core-hours.",
        "",
        f"So one year of the whole belt at 6-day repeat is about **{gpu_h6:.0f} GPU-hours**: "
        f"{gpu_h6 / 24:.1f} days on one GPU or {gpu_h6 / 8:.1f} h on a node of 8 GPUs (x0.3 to "
        f"x3 with the GPU-rate uncertainty; several CPU cores per GPU -- e.g. 2-4 workers per "
        f"GPU -- lift the host-side ceiling); `--time-stride 8` cuts the network work ~8x. On CPU "
        f"cores alone it is about {cpu_h6:,.0f} core-hours ({cpu_h6 / 24 / 64:.1f} days on a "
        f"64-core node). Input volume: {n_frames:.0f} frames x {px:.2e} px x 61 dates x 4 B = "
        f"{tb:.1f} TB of float32 cubes per year (outputs 3x that: input copy + deformation + "
        f"noise); at ~1 GB/s of storage bandwidth per node that is {tb * 1e3 / 3600:.1f} h of "
        f"reading -- {'small against' if tb * 1e3 / 3600 < 0.2 * gpu_h6 else 'comparable to'} "
        "the GPU time, so one frame per task with inputs on storage close to the GPUs "
        "(`insar-ae batch`) is the right grain.",
    ]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller frames (about 1 minute)")
    p.add_argument("--write", action="store_true", help=f"write {RESULTS}")
    p.add_argument(
        "--throughput-only", action="store_true", help="skip the memory sweep (not with --write)"
    )
    p.add_argument(
        "--gpu-tflops",
        type=float,
        default=15.0,
        help="assumed useful TFLOP/s of one GPU on this narrow network (default 15: "
        "~5 %% of an A100's 312 TFLOP/s bf16 dense peak)",
    )
    args = p.parse_args()
    if args.write and args.throughput_only:
        p.error("--write needs the full benchmark")
    warnings.filterwarnings("ignore")
    tp_size, tp_dates = (192, 17) if args.quick else (384, 17)
    sizes = [256, 512, 768] if args.quick else [384, 768, 1536, 2304]
    load_before = os.getloadavg()[0]
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as d:
        tmp = Path(d)
        tp = throughput(tmp, tp_size, tp_dates, block=192, stride=8)
        host = host_rate(tp_size, tp_dates, stride=8)
        mem = memory_sweep(tmp, sizes, n_time=16, block=288) if not args.throughput_only else []
    total = time.perf_counter() - t_start
    flops = flops_per_pixel(load_model("default").net)
    best_cpu = max(
        r["net"] / r["wall"] for r in tp if "1 worker" in r["run"] or "1 torch thread" in r["run"]
    )
    out = [
        "# Benchmark: scaling out with Dask (insar_ae.distributed)",
        "",
        f"- machine: {cpu_name()}, {os.cpu_count()} cores (shared with other jobs), python "
        f"{platform.python_version()}, torch {torch.__version__}, no GPU",
        f"- date: {dt.datetime.now():%Y-%m-%d %H:%M}",
        f"- command: `{' '.join(['.venv/bin/python', 'bench/scale.py', *sys.argv[1:]])}`",
        f"- total run time: {total:.0f} s; 1-min load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after (other jobs share the 2 cores: times are upper bounds)",
        "",
        f"## Throughput: shipped model, {tp_size} x {tp_size} px x {tp_dates} dates, tile 128 / "
        "overlap 32, time_stride 8, block 192 (halo auto: identical numbers to whole-frame)",
        "",
        "Best of 2 runs each. Output pixel-dates/s = frame pixels x dates / wall time. "
        "Network pixel-frames/s = "
        "pixels x frames actually pushed through the network (tiles x windows x 9 x 128^2, "
        "counting the halo overhead of the blocks) / wall time. Workers' CPU-s / wall-s: CPU "
        "time the workers got per second (2.0 = both cores fully theirs; less = the cores were "
        "busy with other jobs); pixel-frames per worker CPU-s is the work done per second of "
        "CPU actually granted, i.e. the efficiency of each worker, which is what adds up when "
        "workers get cores of their own. Peak RSS: largest worker. The whole-frame rows keep "
        "their result in memory; the block rows also ship the input slices to the workers, "
        "write the output to Zarr and pay the halo overhead (network work x1.56 with blocks "
        "as small as 192 px; x1.49 at the default 576).",
        "",
        "| run | blocks | wall (s) | output pixel-dates/s | network pixel-frames/s | speed-up vs "
        "1 worker | workers' CPU-s / wall-s | network pixel-frames per worker CPU-s | "
        "peak worker RSS (MB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    one = next(r["wall"] for r in tp if "1 worker" in r["run"])
    for r in tp:
        rss = f"{r['rss'] / MB:.0f}" if r["rss"] else ""
        cpu = f"{r['cpu'] / r['wall']:.2f}" if r["cpu"] else ""
        per_cpu = f"{r['net'] / r['cpu']:.3g}" if r["cpu"] else ""
        out.append(
            f"| {r['run']} | {r['blocks']} | {r['wall']:.1f} | {r['out'] / r['wall']:.3g}"
            f" | {r['net'] / r['wall']:.3g} | {one / r['wall']:.2f} | {cpu} | {per_cpu} "
            f"| {rss} |"
        )
    out += [
        "",
        "## Peak worker memory against frame size (2 workers, tiny random-weight model)",
        "",
        "Frames of 16 dates with 5 cubes (displacement + 4 synthetic components) written to Zarr "
        "and read lazily; block 288, tile 32 / overlap 8, time_stride 7. Peak RSS sampled every "
        "50 ms with psutil; growth = peak minus the worker's RSS at the start (model stack "
        "already imported).",
        "",
        "| frame (px) | frame size (MB) | blocks | wall (s) | worker RSS at start (MB) | "
        "peak worker RSS (MB) | growth (MB) | growth / frame size |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in mem:
        out.append(
            f"| {r['size']} x {r['size']} | {r['bytes'] / MB:.0f} | {r['blocks']} | "
            f"{r['wall']:.1f} | {r['base'] / MB:.0f} | {r['peak'] / MB:.0f} | "
            f"{r['growth'] / MB:.0f} | {r['growth'] / r['bytes']:.3f} |"
        )
    from_model_bench = model_bench_rate(flops)
    if from_model_bench is not None:
        cpu_rate, source = from_model_bench
        source += (
            f"; this benchmark's best single-core run gave {best_cpu:.3g}, the "
            "difference being how busy the shared cores were"
        )
    else:
        cpu_rate, source = best_cpu, "measured above, best single-core run"
    gpu_flop_rate = args.gpu_tflops * 1e12 / flops
    gpu_rate = min(gpu_flop_rate, host)
    gpu_source = (
        f"min of {args.gpu_tflops:g} TFLOP/s / {flops / 1e3:.1f} kFLOP = "
        f"{gpu_flop_rate:.2g} (network) and {host:.2g} (host-side tiling/blending/"
        "stitching of `denoise`, measured above with a no-op network on 1 core: a GPU "
        "does not speed that up)"
    )
    out += [
        "",
        f"Host-side pipeline alone (same frame, no-op network, 1 thread): **{host:.3g} network "
        "pixel-frames/s** -- the ceiling a GPU worker fed by one CPU core can reach.",
        "",
        estimate_section(cpu_rate, gpu_rate, flops, source, gpu_source),
        "",
    ]
    text = "\n".join(out)
    print(text)
    if args.write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
