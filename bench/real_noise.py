"""Real noise: a known 5 mm creep step injected into real series, recovered by the model.

    .venv/bin/python bench/real_noise.py [--model default] [--step 5] [--write]

For each real frame of ../shared/data/real (MintPy form), ``insar_ae.synthetic.inject_creep``
adds a creeping fault (final LOS step ``--step`` mm, linear in time) through the frame centre, at
six strikes (``STRIKES``; the table gives the median and the range). The model's response to
the injection is ``denoised(with) - denoised(without)``; its gain is the least-squares slope
of that response's last date on the injected last date (both median-centred, as the external
scorer does), and its residual RMS is the misfit. The raw-data gain is 1 by construction; the
noise is the real data's. Also: Mexico City's median rate (mm/yr) of the denoised series vs the
raw series (``insar_ae.analysis.velocity``).
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


def injection_gains(
    model, ds, step_mm: float, strikes: tuple[float, ...] = STRIKES
) -> list[dict[str, float]]:
    """Gain and residual of the model's response to an injected creep, one dict per strike
    (see the module docstring); the series without injection is denoised once."""
    from insar_ae.model import denoise
    from insar_ae.synthetic.injection import inject_creep

    b = denoise(ds, model=model, device="cpu")["deformation"].values[-1]
    out = []
    for strike in strikes:
        with_creep, creep = inject_creep(ds, step_mm, strike_deg=strike)
        a = denoise(with_creep, model=model, device="cpu")["deformation"].values[-1]
        resp, truth = a - b, creep.values[-1]
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
    for name, fname in FRAMES.items():
        ds = open_frame(REAL / name / fname)
        gs = injection_gains(model, ds, a.step)
        g = np.array([x["gain"] for x in gs])
        rows.append(
            f"| {name} | {ds.sizes['time']} | {a.step:g} mm | {np.median(g):.2f} "
            f"({g.min():.2f}-{g.max():.2f}) | {' / '.join(f'{v:.2f}' for v in g)} | "
            f"{np.median([x['resid_rms_mm'] for x in gs]):.2f} mm | "
            f"{np.median([x['truth_rms_mm'] for x in gs]):.2f} mm |"
        )
    raw, mod = median_rates(model, open_frame(REAL / "mexico-city-s1" / "timeseries.h5"))
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
