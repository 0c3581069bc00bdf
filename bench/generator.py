"""Speed of the synthetic generator: training samples/s and full scenes/s.

Usage::

    .venv/bin/python bench/generator.py [--threads 2] [--compile] [--repeats 5]
                                        [--out bench/results/generator.md]

Measures ``sample_batch`` (9 x 128 x 128 windows, batch 64) with eager torch and, with
``--compile``, with the ``torch.compile``d Okada kernel, at 1 and ``--threads`` threads; and
``make_scene`` for 512 x 512 x 60 scenes of each preset. Reports the median wall time over
``--repeats`` runs (and CPU time of the process) and writes a markdown section.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from insar_ae.synthetic import list_presets, make_scene, sample_batch


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _time(fn, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn()`` over ``repeats`` runs (after one warm-up)."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def bench_batches(threads: int, compiled: bool, repeats: int, n: int = 64) -> dict[str, float]:
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    if compiled:
        t0 = time.perf_counter()
        sample_batch(8, generator=g, compile=True)
        compile_s = time.perf_counter() - t0
    else:
        compile_s = 0.0
    wall, cpu = _time(
        lambda: sample_batch(n, T=9, size=128, generator=g, compile=compiled), repeats
    )
    return {
        "threads": threads,
        "compiled": compiled,
        "n": n,
        "wall": wall,
        "cpu": cpu,
        "rate": n / wall,
        "rate_cpu": n / cpu,
        "compile_s": compile_s,
    }


def bench_scenes(preset: str, threads: int, repeats: int) -> dict[str, float]:
    torch.set_num_threads(threads)
    wall, cpu = _time(lambda: make_scene(preset, 0, shape=(512, 512), n_dates=60), repeats)
    return {"preset": preset, "wall": wall, "cpu": cpu, "rate": 1.0 / wall}


def _markdown(rows_b: list[dict], rows_s: list[dict], args: argparse.Namespace) -> str:
    lines = [
        f"## Synthetic generator speed ({dt.date.today().isoformat()})",
        "",
        f"- machine: {_cpu_model()}, {os.cpu_count()} cores visible, shared with other jobs "
        f"(load average at start {os.getloadavg()[0]:.1f}); no GPU was lent to this session",
        f"- python {platform.python_version()}, torch {torch.__version__}",
        f"- command: `{' '.join([Path(sys.executable).name, *sys.argv])}`",
        f"- median of {args.repeats} runs after a warm-up; `cpu` = process CPU time "
        "(less sensitive to other jobs on the machine)",
        "",
        "### Training batches: `sample_batch(64, T=9, size=128)` on CPU",
        "",
        "| threads | Okada kernel | s / batch (wall) | samples/s (wall) | samples/s (cpu time) |"
        " one-off compile s |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows_b:
        lines.append(
            f"| {r['threads']} | {'torch.compile' if r['compiled'] else 'eager'} | "
            f"{r['wall']:.3f} | {r['rate']:.0f} | {r['rate_cpu']:.0f} | "
            f"{r['compile_s']:.0f} |"
        )
    lines += [
        "",
        f"### Full scenes: `make_scene(preset, shape=(512, 512), n_dates=60)` "
        f"(numpy float64, {args.threads} threads)",
        "",
        "| preset | s / scene (wall) | scenes/s | cpu s |",
        "|---|---:|---:|---:|",
    ]
    for r in rows_s:
        lines.append(f"| {r['preset']} | {r['wall']:.2f} | {r['rate']:.2f} | {r['cpu']:.2f} |")
    load = os.getloadavg()[0]
    lines += [
        "",
        "Target: >= 200 samples/s for 9 x 128 x 128 on 1 CPU thread. The lead adds "
        "the ratio to the model's training throughput.",
    ]
    if load > (os.cpu_count() or 1):
        lines += [
            "",
            f"Caveat: the machine was oversubscribed (load average {load:.1f} on "
            f"{os.cpu_count()} cores, other jobs running). Multi-threaded element-wise "
            "operations then wait for descheduled threads, so the 2-thread rows are far "
            "slower than the 1-thread rows; on an idle machine they are not. The CPU-time "
            "column is the better estimate of the generator's own cost.",
        ]
    lines.append("")
    return "\n".join(lines)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".md")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--compile", action="store_true", help="also time the compiled Okada")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("bench/results/generator.md"))
    args = ap.parse_args(argv)
    rows_b = []
    for compiled in [False, True] if args.compile else [False]:
        for threads in sorted({1, args.threads}):
            rows_b.append(bench_batches(threads, compiled, args.repeats))
            print(rows_b[-1], flush=True)
    rows_s = []
    for preset in list_presets():
        rows_s.append(bench_scenes(preset, args.threads, max(1, args.repeats // 2)))
        print(rows_s[-1], flush=True)
    text = _markdown(rows_b, rows_s, args)
    _write_atomic(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
