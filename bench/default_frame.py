"""The default dashboard frame (`anatolia-slow-slip`): is the creeping fault's offset kept?

    .venv/bin/python bench/default_frame.py [--model default] [--symmetries N] [--write]

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


def profile_line(ds, length_m: float = 30_000.0, along_m: float = 0.0) -> np.ndarray:
    """(2, 2) x/y end points of a profile perpendicular to the frame's fault trace, centred on
    the trace at ``along_m`` metres along strike from its point nearest the frame centre."""
    trace = np.asarray(json.loads(ds.attrs["truth_params"])["fault_trace"], dtype=float)
    d = trace[1] - trace[0]
    d /= np.hypot(*d)
    normal = np.array([-d[1], d[0]])
    xc, yc = float(ds["x"].mean()), float(ds["y"].mean())
    # the point of the trace nearest the frame centre, moved along strike
    t = np.dot(np.array([xc, yc]) - trace[0], d) + along_m
    mid = trace[0] + t * d
    return np.array([mid - 0.5 * length_m * normal, mid + 0.5 * length_m * normal])


def last_date_layers(ds):
    """(layers present, their last date minus the first): what every fit here reads."""
    layers = [v for v in ("displacement", "deformation", "deformation_true") if v in ds]
    return layers, ds[layers].isel(time=-1) - ds[layers].isel(time=0)


def fault_offsets(
    ds, half_width_m: float = 2000.0, bin_m: float = 240.0, along_m: float = 0.0
) -> dict[str, dict[str, float]]:
    """Fitted creep offset (mm, with 1-sigma) of the last date, per layer present, on the
    profile ``along_m`` metres along strike from the frame centre."""
    from insar_ae.analysis import fit_creep, swath_profile

    line = profile_line(ds, along_m=along_m)
    layers, last = last_date_layers(ds)
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


def along_strike_offsets(ds, n: int = 9, span_m: float = 48_000.0) -> list[dict]:
    """:func:`fault_offsets` on ``n`` parallel profiles spread over ``span_m`` along strike
    (all inside the frame): the spread shows how much one profile's number is luck."""
    return [
        {"along_km": s / 1000.0, **fault_offsets(ds, along_m=s)}
        for s in np.linspace(-0.5 * span_m, 0.5 * span_m, n)
    ]


def dashboard_offsets(ds) -> list[dict]:
    """What the dashboard shows for "Profiles across candidate faults" at the last date: the
    candidate profiles found on the raw layer, the default swath width, the crossing located
    on the raw layer, the dashboard's default model (a step) fitted to each layer; offsets in mm."""
    sys.path.insert(0, str(ROOT))
    from app.profiles import ProfileAnalysis, default_swath
    from insar_ae.analysis import candidate_profiles, fit_offset, locate_crossing, swath_profile

    layers, last = last_date_layers(ds)
    half = default_swath(ds) / 2
    model = ProfileAnalysis.param.offset_model.default  # the dashboard's default fit
    rows = []
    for cand in candidate_profiles(ds):
        prof = swath_profile(last, cand.line, half_width=half, layers=layers)
        x0 = locate_crossing(prof.sel(layer=["displacement"])).x0
        dist = prof["distance"].values
        row = {"rank": cand.rank + 1}
        for layer in layers:
            fit = fit_offset(dist, prof["median"].sel(layer=layer).values, model=model, x0=x0)
            row[layer] = {"offset_mm": float(fit.offset_mm), "sigma_mm": float(fit.offset_sigma_mm)}
        rows.append(row)
    return rows


def _ratio_rows(rows: list[dict], key: str, label) -> list[str]:
    out = []
    for r in rows:
        t = r["deformation_true"]["offset_mm"]
        cells = [
            f"{r[v]['offset_mm']:+.2f} +- {r[v]['sigma_mm']:.2f} ({r[v]['offset_mm'] / t:.2f})"
            for v in ("displacement", "deformation")
        ]
        out.append(f"| {label(r[key])} | {cells[0]} | {cells[1]} | {t:+.2f} |")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", default="default")
    ap.add_argument(
        "--symmetries",
        type=int,
        default=None,
        help="inference passes averaged (DenoiseOptions.symmetries; default: the weights' own, "
        "1 for campaign weights)",
    )
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
    out = denoise(ds, model=model, device="cpu", symmetries=a.symmetries)
    sec = time.perf_counter() - t0
    fits = fault_offsets(out)
    truth = fits["deformation_true"]["offset_mm"]
    rows = ["| layer | fitted offset, last date | ratio to truth |", "|---|---|---|"]
    for layer, f in fits.items():
        rows.append(
            f"| {layer} | {f['offset_mm']:+.2f} +- {f['sigma_mm']:.2f} mm | "
            f"{f['offset_mm'] / truth:.2f} |"
        )
    along = along_strike_offsets(out)
    ratios = {
        v: np.array([r[v]["offset_mm"] / r["deformation_true"]["offset_mm"] for r in along])
        for v in ("displacement", "deformation")
    }
    dash = dashboard_offsets(out)
    head = [
        "| profile | raw offset mm (ratio) | denoised offset mm (ratio) | truth mm |",
        "|---|---|---|---|",
    ]
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
            f"The same fit on {len(along)} parallel profiles spread over 48 km along strike (how much "
            "one profile is luck); ratio to the truth's offset on the same profile:",
            "",
            *head,
            *_ratio_rows(along, "along_km", lambda a: f"{a:+.0f} km along strike"),
            "",
            "Median ratio over the profiles (16th-84th percentile): raw "
            + ", denoised ".join(
                f"{np.median(r):.2f} ({np.percentile(r, 16):.2f}-{np.percentile(r, 84):.2f})"
                for r in ratios.values()
            )
            + f"; denoised within 20 % of the truth on {int(np.sum(abs(ratios['deformation'] - 1) <= 0.2))}"
            f" of {len(along)} profiles (raw {int(np.sum(abs(ratios['displacement'] - 1) <= 0.2))}).",
            "",
            'What the dashboard shows ("Profiles across candidate faults", last date: candidates '
            "found on the raw layer, default swath, crossing located on the raw layer, step fit), "
            "as in the README screenshot:",
            "",
            *head,
            *_ratio_rows(dash, "rank", lambda k: f"P{k}"),
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
