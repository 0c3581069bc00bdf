"""The default dashboard frame (`anatolia-slow-slip`): is the creeping fault's offset kept?

    .venv/bin/python bench/default_frame.py [--model default] [--write]

Denoises the catalog's default frame (512 x 512 x 80), draws a 30 km profile perpendicular to
the known fault trace through the frame centre (swath half-width 2 km, 240 m bins; the same
`insar_ae.analysis` functions the dashboard uses), and fits a shallow-creep model
(`fit_creep`, crossing fixed at the trace) to the last date of the raw, denoised and true
layers. Target (issue 14): the denoised offset within 20 % of the truth's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def profile_line(ds, length_m: float = 30_000.0) -> np.ndarray:
    """(2, 2) x/y end points of a profile perpendicular to the frame's fault trace, centred on
    the trace's crossing of the frame centre line."""
    trace = np.asarray(json.loads(ds.attrs["truth_params"])["fault_trace"], dtype=float)
    d = trace[1] - trace[0]
    d /= np.hypot(*d)
    normal = np.array([-d[1], d[0]])
    xc, yc = float(ds["x"].mean()), float(ds["y"].mean())
    # the point of the trace nearest the frame centre
    t = np.dot(np.array([xc, yc]) - trace[0], d)
    mid = trace[0] + t * d
    return np.array([mid - 0.5 * length_m * normal, mid + 0.5 * length_m * normal])


def fault_offsets(
    ds, half_width_m: float = 2000.0, bin_m: float = 240.0
) -> dict[str, dict[str, float]]:
    """Fitted creep offset (mm, with 1-sigma) of the last date, per layer present."""
    from insar_ae.analysis import fit_creep, swath_profile

    line = profile_line(ds)
    layers = [v for v in ("displacement", "deformation", "deformation_true") if v in ds]
    last = ds[layers].isel(time=-1) - ds[layers].isel(time=0)
    prof = swath_profile(last, line, half_width=half_width_m, bin_size=bin_m, layers=layers)
    dist = prof["distance"].values
    x0 = 0.5 * float(dist.max() + dist.min())
    out = {}
    for layer in layers:
        vals = prof["median"].sel(layer=layer).values
        ok = np.isfinite(vals)
        fit = fit_creep(dist[ok], vals[ok], x0=x0, kind="shallow")
        out[layer] = {"offset_mm": float(fit.offset_mm), "sigma_mm": float(fit.offset_sigma_mm)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", default="default")
    ap.add_argument(
        "--write", action="store_true", help="append the table to bench/results/model.md"
    )
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    from insar_ae.catalog import open_catalog_frame
    from insar_ae.model import denoise, load_model

    model = load_model(a.model)
    ds = open_catalog_frame("anatolia-slow-slip")[
        ["displacement", "height", "mask", "deformation_true"]
    ].load()
    t0 = time.perf_counter()
    out = denoise(ds, model=model, device="cpu")
    sec = time.perf_counter() - t0
    fits = fault_offsets(out)
    truth = fits["deformation_true"]["offset_mm"]
    rows = ["| layer | fitted offset, last date | ratio to truth |", "|---|---|---|"]
    for layer, f in fits.items():
        rows.append(
            f"| {layer} | {f['offset_mm']:+.2f} +- {f['sigma_mm']:.2f} mm | "
            f"{f['offset_mm'] / truth:.2f} |"
        )
    text = "\n".join(
        [
            f"## Default frame fault offset (`{a.model}`, {getattr(model, 'weights_sha256', '')[:8]}, "
            f"{dt.date.today()})",
            "",
            f"Command: `python bench/default_frame.py {' '.join(argv or sys.argv[1:])}`; denoised in "
            f"{sec:.1f} s on 2 CPU threads. 30 km profile across the known trace, swath half-width "
            "2 km, 240 m bins, `fit_creep(kind='shallow')` with the crossing fixed at the trace.",
            "",
            *rows,
            "",
        ]
    )
    print(text)
    if a.write:
        sys.path.insert(0, str(ROOT / "bench"))
        from _report import append_section

        append_section("model", text, "Model benchmarks")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
