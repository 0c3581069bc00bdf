"""Assemble bench/RESULTS.md from the per-topic sections in bench/results/*.md.

Each benchmark script writes its own section (machine, date, command, tables); this script only
concatenates them under a common header, in a fixed order. Run: python bench/assemble_results.py
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["generator", "model", "io", "analysis", "app", "load", "scale"]
HEADER = """# Benchmark results

Every number here was measured by a script in `bench/` (command, machine and date in each section).
Machine for all sections: this workplace's 2-core AMD EPYC (no GPU was lent to the founding session), often
shared with other jobs while measuring, so wall times are upper bounds. Beside every RMSE there is an
all-zeros row and the amplitude gain (slope of estimate on truth). The default weights (series-v10, 2026-12-04) were
trained mostly on one lent NVIDIA H200 (6.5 minutes, `campaign/device/train_on_device.sh`, series-v8) and then
100 minutes on one CPU thread (series-v10); every number here was measured on the CPU.

Generator vs training throughput (issue 2 asks for the ratio): the generator makes about 83-89 training
samples/s (9 x 128 x 128, 1 thread, eager; up to ~350/s CPU-time with `compile=True`) while training consumes
15.9 samples/s (64 x 64 patches) on the same CPU: the generator is about 5x faster than training, so it never
limits training speed here. On a GPU both run on the device (the generator is pure torch).

Sections: {sections}
"""


def main() -> None:
    parts = [p for name in ORDER if (p := HERE / "results" / f"{name}.md").is_file()]
    text = HEADER.format(sections=", ".join(p.stem for p in parts))
    for p in parts:
        text += "\n---\n\n" + p.read_text().strip() + "\n"
    out = HERE / "RESULTS.md"
    tmp = out.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
