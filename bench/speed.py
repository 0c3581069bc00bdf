"""Speed benchmark: denoising pixel-frames/s, training and generator samples/s, FLOP/s vs peak.

Runs on CPU with ``--threads`` (default 2). Denoising is timed on a ``--size`` x ``--size`` x
``--dates`` frame (default 512 x 512 x 80, the size of the default catalog frame) for the default
(series) model and, in the same run, for the old 9-date window model (``--old``) at time
strides 1 and 4; the series model is extrapolated (stated as such) to a Sentinel-1-sized frame
by its number of tiles.
CPU peak FP32 FLOP/s = cores x base GHz (BogoMIPS / 2) x FLOPs/cycle/core, the latter from the
lscpu flags: AVX-512F + FMA -> 2 FMA pipes x 16 lanes x 2 = 64 (AVX2 + FMA -> 32, else 8).

Usage: ``python bench/speed.py [--write]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import subprocess
import sys
import time

import numpy as np
import torch

from insar_ae.model import denoise, load_model
from insar_ae.model.network import flops_per_pixel
from insar_ae.model.tiling import tile_origins, window_starts
from insar_ae.model.train import TrainConfig, build_model, series_loss


def cpu_peak(threads: int) -> tuple[float, str]:
    """Estimated FP32 peak FLOP/s for ``threads`` cores, and how it was estimated."""
    info = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    flags = re.search(r"Flags:\s*(.*)", info)
    flags = set(flags.group(1).split()) if flags else set()
    bogo = re.search(r"BogoMIPS:\s*([\d.]+)", info)
    ghz = float(bogo.group(1)) / 2000.0 if bogo else 2.0
    mhz = re.search(r"CPU max MHz:\s*([\d.]+)", info)
    if mhz:
        ghz = float(mhz.group(1)) / 1000.0
    per_cycle = 64 if {"avx512f", "fma"} <= flags else 32 if {"avx2", "fma"} <= flags else 8
    how = (
        f"{threads} cores x {ghz:.2f} GHz x {per_cycle} FP32 FLOP/cycle "
        f"({'AVX-512F' if per_cycle == 64 else 'AVX2' if per_cycle == 32 else 'SSE'}+FMA, "
        "2 FMA pipes assumed; GHz from " + ("CPU max MHz" if mhz else "BogoMIPS / 2") + ")"
    )
    return threads * ghz * 1e9 * per_cycle, how


def passes(shape: tuple[int, int, int], tile: int, overlap: int, stride: int, T: int = 9) -> int:
    """Number of (tile x window) network passes denoise makes for a (time, y, x) frame."""
    n, h, w = shape
    return len(window_starts(n, T, stride)) * len(
        tile_origins((max(h, tile), max(w, tile)), tile, overlap)
    )


def frame(shape, seed=0):
    from insar_ae.datamodel import make_dataset

    rng = np.random.default_rng(seed)
    n, h, w = shape
    cube = rng.normal(0, 5, size=shape).astype(np.float32).cumsum(0)
    cube -= cube[0]
    return make_dataset(
        cube,
        rng.normal(1000, 100, (h, w)),
        np.datetime64("2020-01-01") + np.arange(n) * np.timedelta64(12, "D"),
        np.arange(h) * -100.0,
        np.arange(w) * 100.0,
    )


def time_denoise(model, ds, **kw) -> float:
    """Wall seconds of one ``denoise`` call (after a small warm-up call)."""
    denoise(frame((12, 64, 64)), model=model, device="cpu")
    t0 = time.perf_counter()
    denoise(ds, model=model, device="cpu", **kw)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="insar_ae speed benchmark")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--dates", type=int, default=80)
    ap.add_argument("--old", default="window-v2", help="the model to compare with, in the same run")
    ap.add_argument("--train-steps", type=int, default=10)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_model()
    fpp = flops_per_pixel(model.net)
    peak, how = cpu_peak(args.threads)
    tile, overlap = 128, 32
    shape = (args.dates, args.size, args.size)
    ds = frame(shape)
    rows = []
    # the new (series) model: one network pass per tile, whatever the number of dates
    sec = time_denoise(model, ds, tile=tile, overlap=overlap)
    n_tiles = len(tile_origins((args.size, args.size), tile, overlap))
    tta = int(getattr(model, "tta", 1))
    flops = n_tiles * tta * tile * tile * fpp / sec
    s1 = (150, 2500, 2200)
    s1_sec = sec * len(tile_origins(s1[1:], tile, overlap)) / n_tiles
    rows.append(
        f"| default (series, {tta} symmetries) | {args.size} x {args.size} x {args.dates} "
        f"| - | {sec:.1f} s | {np.prod(shape) / sec:,.0f} | {flops / 1e9:.1f} GFLOP/s "
        f"({100 * flops / peak:.1f} % of peak) |"
    )
    rows.append(
        f"| default (series) | Sentinel-1 2500 x 2200 x 150 (extrapolated by tiles) | - "
        f"| {s1_sec:,.0f} s | {np.prod(s1) / s1_sec:,.0f} | |"
    )
    old = load_model(args.old)
    for stride in (1, 4):
        sec_o = time_denoise(old, ds, tile=tile, overlap=overlap, time_stride=stride)
        p = passes(shape, tile, overlap, stride)
        flops_o = p * 9 * tile * tile * flops_per_pixel(old.net) / sec_o
        rows.append(
            f"| {args.old} (9-date windows) | {args.size} x {args.size} x {args.dates} "
            f"| {stride} | {sec_o:.1f} s | {np.prod(shape) / sec_o:,.0f} | "
            f"{flops_o / 1e9:.1f} GFLOP/s ({100 * flops_o / peak:.1f} % of peak) |"
        )
    # training and generator
    from insar_ae.synthetic import sample_batch

    cfg = TrainConfig(patch=128, T=24).validate()
    net = build_model(cfg)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    batches = [
        sample_batch(cfg.batch_size, cfg.T, cfg.patch, g) for _ in range(args.train_steps + 2)
    ]
    t0 = time.perf_counter()
    for _ in batches[2:]:
        sample_batch(cfg.batch_size, cfg.T, cfg.patch, g)
    gen_sps = args.train_steps * cfg.batch_size / (time.perf_counter() - t0)
    for i, b in enumerate(batches):
        if i == 2:
            t0 = time.perf_counter()
        loss = series_loss(net, b, cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
    train_sec = time.perf_counter() - t0
    train_sps = args.train_steps * cfg.batch_size / train_sec
    train_flops = 3 * train_sps * cfg.patch**2 * fpp
    load = open("/proc/loadavg").read().split()[:3]
    cpu = (
        subprocess.run("lscpu | grep 'Model name'", shell=True, capture_output=True, text=True)
        .stdout.split(":", 1)[-1]
        .strip()
    )
    report = [
        f"## Speed benchmark ({dt.date.today()})",
        "",
        f"Machine: {cpu}; {args.threads} threads; CPU only (no GPU lent); load average during "
        f"the run {' '.join(load)} (the 2 cores were shared with other jobs: numbers are lower "
        "bounds). Command: `python bench/speed.py " + " ".join(argv or sys.argv[1:]) + "`.",
        "",
        f"Series model: {fpp / 1e3:.1f} kFLOP per pixel per network pass (once per pixel, "
        f"whatever the number of dates; x {tta} symmetries at inference); tile {tile}, overlap "
        f"{overlap}. Peak estimate: {peak / 1e9:.0f} GFLOP/s = {how}.",
        "",
        "| model | frame (time x y x x) | time stride | denoise wall time | pixel-dates / s | "
        "achieved network FLOP/s |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "The series model's time grows with the number of tiles (and, for the projection, "
        "linearly but cheaply with dates); the window model's with tiles x windows.",
        "",
        "| training (series, patch 128, 24 dates, batch 8, fwd+bwd+Adam) | generator "
        "`sample_batch` (128 px, 24 dates) | "
        "generator / training ratio | training FLOP/s |",
        "|---|---|---|---|",
        f"| {train_sps:.1f} samples/s | {gen_sps:.0f} samples/s | {gen_sps / train_sps:.0f} x | "
        f"{train_flops / 1e9:.1f} GFLOP/s ({100 * train_flops / peak:.1f} % of peak) |",
        "",
    ]
    text = "\n".join(report)
    print(text)
    if args.write:
        from _report import append_section

        append_section("model", text, "Model benchmarks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
