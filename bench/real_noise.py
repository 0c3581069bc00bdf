"""Real noise: a known 5 mm creep step injected into real series, recovered by the model.

    .venv/bin/python bench/real_noise.py [--model default] [--step 5] [--sweep] [--write]

For each real frame of ../shared/data/real (MintPy form), ``insar_ae.synthetic.inject_creep``
adds a creeping fault (final LOS step ``--step`` mm, linear in time) through the frame centre, at
six strikes (``STRIKES``; the table gives the median and the range). The model's response to
the injection is ``denoised(with) - denoised(without)``; its gain is the least-squares slope
of that response's last date on the injected last date (both median-centred, as the external
scorer does), and its residual RMS is the misfit. The raw-data gain is 1 by construction; the
noise is the real data's. Also: Mexico City's median rate (mm/yr) of the denoised series vs the
raw series (``insar_ae.analysis.velocity``).

``--sweep`` adds the gain against the injected step (``SWEEP_STEPS``), in the real series as they
are ("quiet") and with a second, strong creeping fault (``BACKGROUND_MM``, at right angles to the
measured one) added to both the series with and without the injection ("active"): how much of a
small signal the model keeps depends on whether the scene holds a strong one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real"
FRAMES = {"mexico-city-s1": "timeseries.h5", "sydney-envisat": "timeseries.h5"}


#: Fault strikes of the injections (degrees): all through the frame centre, so that the
#: number reported is not one orientation's luck against the real atmosphere.
STRIKES = (0.0, 30.0, 60.0, 90.0, 120.0, 150.0)

#: Injected steps (mm) of ``--sweep``, and the final step (mm) of its second fault ("active").
SWEEP_STEPS = (2.5, 5.0, 10.0, 20.0)
BACKGROUND_MM = 30.0


def injection_gains(
    model, ds, step_mm: float, strikes: tuple[float, ...] = STRIKES, background_mm: float = 0.0
) -> list[dict[str, float]]:
    """Gain and residual of the model's response to an injected creep, one dict per strike
    (see the module docstring). With ``background_mm`` > 0 a second creeping fault of that
    final step (4 km locking depth, strike + 90 degrees) is first added to the series, so that
    both the series with and without the injection hold it; otherwise the series without
    injection is denoised once."""
    from insar_ae.model import denoise
    from insar_ae.synthetic.injection import inject_creep

    def last(x):
        return denoise(x, model=model, device="cpu")["deformation"].values[-1]

    b = None if background_mm > 0 else last(ds)
    out = []
    for strike in strikes:
        base = ds
        if background_mm > 0:
            base, _ = inject_creep(
                ds, background_mm, strike_deg=strike + 90.0, locking_depth_m=4000.0
            )
        with_creep, creep = inject_creep(base, step_mm, strike_deg=strike)
        resp, truth = last(with_creep) - (last(base) if b is None else b), creep.values[-1]
        ok = np.isfinite(resp) & np.isfinite(truth)
        r = resp[ok] - np.median(resp[ok])
        t = truth[ok] - np.median(truth[ok])
        out.append(
            {
                "strike_deg": float(strike),
                "gain": float(r @ t / (t @ t)),
                "resid_rms_mm": float(np.sqrt(np.mean((r - t) ** 2))),
                "truth_rms_mm": float(np.sqrt(np.mean(t**2))),
            }
        )
    return out


def sweep_rows(model, frames: dict) -> list[str]:
    """Markdown rows: median gain (min-max over strikes) per frame and injected step, quiet and
    active (see the module docstring)."""
    rows = [
        f"| frame | injected step | gain, quiet scene | gain, with a {BACKGROUND_MM:g} mm second fault |",
        "|---|---|---|---|",
    ]
    for name, ds in frames.items():
        for step in SWEEP_STEPS:
            cells = []
            for bg in (0.0, BACKGROUND_MM):
                g = np.array(
                    [x["gain"] for x in injection_gains(model, ds, step, background_mm=bg)]
                )
                cells.append(f"{np.median(g):.2f} ({g.min():.2f}-{g.max():.2f})")
            rows.append(f"| {name} | {step:g} mm | {cells[0]} | {cells[1]} |")
    return rows


def median_rates(model, ds) -> tuple[float, float]:
    """Median rate (mm/yr) over pixels of the raw and the denoised series."""
    from insar_ae.analysis import velocity
    from insar_ae.model import denoise

    den = denoise(ds, model=model, device="cpu")
    raw = velocity(ds["displacement"]).values
    mod = velocity(den["deformation"]).values
    return float(np.nanmedian(raw)), float(np.nanmedian(mod))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", default="default")
    ap.add_argument("--step", type=float, default=5.0)
    ap.add_argument(
        "--sweep",
        action="store_true",
        help="also the gain against the injected step, quiet and active",
    )
    ap.add_argument(
        "--write", action="store_true", help="append the table to bench/results/model.md"
    )
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    from insar_ae.io import open_frame
    from insar_ae.model import load_model

    if not REAL.is_dir():
        print(f"no real data at {REAL}; nothing to measure")
        return 1
    model = load_model(a.model)
    rows = [
        "| frame | dates | injected step | gain, median over strikes (min-max) | gain at "
        + " / ".join(f"{s:g}" for s in STRIKES)
        + " deg | residual RMS (median) | injected RMS |",
        "|---|---|---|---|---|---|---|",
    ]
    frames = {name: open_frame(REAL / name / fname).load() for name, fname in FRAMES.items()}
    for name, ds in frames.items():
        gs = injection_gains(model, ds, a.step)
        g = np.array([x["gain"] for x in gs])
        rows.append(
            f"| {name} | {ds.sizes['time']} | {a.step:g} mm | {np.median(g):.2f} "
            f"({g.min():.2f}-{g.max():.2f}) | {' / '.join(f'{v:.2f}' for v in g)} | "
            f"{np.median([x['resid_rms_mm'] for x in gs]):.2f} mm | "
            f"{np.median([x['truth_rms_mm'] for x in gs]):.2f} mm |"
        )
    raw, mod = median_rates(model, frames["mexico-city-s1"])
    sweep = (
        [
            "",
            "Gain against the injected step (median over strikes, min-max):",
            "",
            *sweep_rows(model, frames),
        ]
        if a.sweep
        else []
    )
    text = "\n".join(
        [
            f"## Real noise: injected creep (`{a.model}`, {getattr(model, 'weights_sha256', '')[:8]}, "
            f"{dt.date.today()})",
            "",
            f"Command: `python bench/real_noise.py {' '.join(argv or sys.argv[1:])}`; CPU, 2 threads.",
            "",
            *rows,
            "",
            f"Mexico City median rate: raw {raw:.1f} mm/yr, denoised {mod:.1f} mm/yr "
            f"(ratio {mod / raw:.2f}).",
            *sweep,
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
