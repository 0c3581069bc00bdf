"""Repeated waves of page loads (issue 16): does the server give back what ended sessions held?

Usage::

    nice -n 10 .venv/bin/python bench/load_waves.py [--waves 6] [--loads 6] [--after 45]
                                                    [--time-limit 1500] [--no-write]

One burst of page loads can return to its idle memory while every session still leaves a few MB
behind; that only shows over many sessions. This bench starts the same server as
``bench/load.py`` (``panel serve app/main.py`` on ``127.0.0.1``, built-in catalog with the
default 512 x 512 x 80 frame, sessions ending 30-35 s after their tab), takes its idle RSS, then
runs ``--waves`` waves: ``--loads`` page loads at once (as a browser does it, no JavaScript:
``bench/_bokeh_client.py``), every tab closed, and ``--after`` s later the RSS of the server's
process tree. The slope of RSS against the number of ended sessions (least squares over the
waves after the first, which also pays one-off costs: imports, caches filled once) is the memory
kept per ended session. Bounded: stops after ``--time-limit`` s, kills the server past
``--abort-gb``. Appends a section to ``bench/results/load.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _report import append_section, cpu_model  # noqa: E402
from _server import free_port, wait_listening  # noqa: E402
from load import (  # noqa: E402
    GB,
    MB,
    Memory,
    kind,
    run_loads,
    server_env,
    start_server,
    stop_server,
)


def per_session_slope(ended: list[int], rss: list[int]) -> float:
    """Bytes kept per ended session: least-squares slope of RSS on sessions ended over the waves
    after the first (index 0 is the idle server, index 1 the first wave, which pays the one-off
    costs); NaN with fewer than two such waves."""
    if len(ended) < 4:
        return float("nan")
    return float(np.polyfit(np.asarray(ended[2:], float), np.asarray(rss[2:], float), 1)[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--waves", type=int, default=6)
    ap.add_argument("--loads", type=int, default=6, help="page loads per wave (all at once)")
    ap.add_argument(
        "--after", type=float, default=45.0, help="s after the tabs close to read the RSS"
    )
    ap.add_argument(
        "--time-limit", type=float, default=1500.0, help="s; the whole run stops after this"
    )
    ap.add_argument("--abort-gb", type=float, default=8.0, help="kill the server past this RSS")
    ap.add_argument(
        "--no-write", action="store_true", help="print only, do not append to results/load.md"
    )
    args = ap.parse_args()
    deadline = time.monotonic() + args.time_limit
    work = Path(tempfile.mkdtemp(prefix="insar-ae-waves-"))
    env = server_env(work)
    port = free_port()
    url = f"http://127.0.0.1:{port}/main"
    proc = start_server(port, env, work / "panel.log")
    memory: Memory | None = None
    ended, rss, dashboards, failed = [0], [0], 0, 0
    load0 = os.getloadavg()
    try:
        wait_listening(port, proc, timeout=max(deadline - time.monotonic(), 10))
        memory = Memory(proc.pid, args.abort_gb * GB)
        memory.start()
        time.sleep(5.0)
        rss[0] = memory.rss()
        print(f"idle RSS {rss[0] / MB:.0f} MB", flush=True)
        loop = asyncio.new_event_loop()
        for wave in range(1, args.waves + 1):
            if time.monotonic() > deadline or memory.aborted:
                break
            loads = loop.run_until_complete(
                run_loads(
                    url,
                    args.loads,
                    args.loads,
                    deadline,
                    per_load_s=max(deadline - time.monotonic(), 1),
                )
            )
            kinds = [kind(x) if x is not None else "not ended in time" for x in loads]
            dashboards += kinds.count("dashboard")
            failed += len(kinds) - kinds.count("dashboard") - kinds.count("busy")
            for x in loads:
                if x is not None:
                    x.close()
            loop.run_until_complete(asyncio.sleep(0.5))
            time.sleep(args.after)
            ended.append(dashboards)
            rss.append(memory.rss())
            print(
                f"wave {wave}: {dashboards} sessions ended, RSS {rss[-1] / MB:.0f} MB", flush=True
            )
        loop.close()
    finally:
        stop_server(proc, memory)
    load1 = os.getloadavg()
    slope = per_session_slope(ended, rss)
    lines = [
        f"## Repeated waves: {len(ended) - 1} x {args.loads} page loads ({date.today():%Y-%m-%d})",
        "",
        f"Machine: {cpu_model()}, {os.cpu_count()} cores, {psutil.virtual_memory().total / GB:.0f} GB; "
        f"load average {load0[0]:.1f} at start, {load1[0]:.1f} at end. Command: `nice -n 10 .venv/bin/python "
        f"bench/load_waves.py --waves {args.waves} --loads {args.loads} --after {args.after:.0f}`. Server as "
        "in `bench/load.py` (default frame 512 x 512 x 80; sessions end 30-35 s after their tab closes).",
        "",
        "| after wave | sessions ended | server RSS (MB) | vs idle (MB) |",
        "|---:|---:|---:|---:|",
        *(
            f"| {'idle' if i == 0 else i} | {e} | {r / MB:.0f} | {(r - rss[0]) / MB:+.0f} |"
            for i, (e, r) in enumerate(zip(ended, rss, strict=True))
        ),
        "",
        f"Kept per ended session (slope over waves 2-{len(ended) - 1}): **{slope / MB:.1f} MB**"
        f"; page loads that failed: {failed}."
        + (
            " The server was killed at the memory limit."
            if memory is not None and memory.aborted
            else ""
        ),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        append_section("load", text, "Server under load (`bench/load.py`)")


if __name__ == "__main__":
    main()
