"""How much of a synthetic signal the model keeps, against the signal's strength under atmosphere.

    .venv/bin/python bench/gain_by_signal.py [--model default --model PATH ...] [--batches 12] [--write]

Draws ``--batches`` batches of 8 training-distribution samples (``insar_ae.synthetic``, default
ranges, 128 x 128 pixels, 8-72 dates, a fixed seed so every model sees the same samples) and,
per sample with deformation, the last date's gain: least-squares slope of the estimate on the
truth, both centred on their valid-pixel mean (as the training gain penalty). Samples are binned
by their *signal-to-atmosphere ratio*: the last-date truth's RMS over the sample's data scale
``s`` (1.4826 x the median |displacement| over all dates: mostly atmosphere), which is what the
network sees after normalisation. The table gives, per bin and model, the median gain and the
share of samples kept below 0.5 of their amplitude: gating shows as a gain that falls with the
ratio. Also the all-zeros and the model's last-date RMSE (mm) over all samples.

``--dates LO,HI`` and ``--data FIELD=LO,HI`` (or ``FIELD=VALUE``, repeatable; ``BatchConfig``
fields) restrict the samples, e.g. to the external set's acquisition (``--dates 24,24 --data
pixel_m=80,80``): a gap between distributions is then located ingredient by ingredient.

``--validation-json OUT.json`` (a ``bench/validation.py --json`` output) adds the same ratio for the
external set's scenes of 10 mm and more (truth and data read from ``--set``), beside the scorer's
per-scene gain of that model: whether the model keeps the external signals as it keeps its own at
the same ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import sys
from pathlib import Path

import numpy as np
import torch

#: Bin edges of the signal-to-atmosphere ratio (truth RMS / s, last date).
EDGES = (0.03, 0.1, 0.2, 0.3, 0.6, 1.2, np.inf)
SEED = 20261207


def data_scale(d: np.ndarray) -> float:
    """The sample's data scale ``s`` (mm): 1.4826 x the median |displacement| over dates 1..N-1
    and finite pixels of a (time, y, x) array, as the model normalises (mostly atmosphere)."""
    return max(float(1.4826 * np.nanmedian(np.abs(d[1:]))), 1e-3)


def per_sample(model, batches: list) -> dict[str, np.ndarray]:
    """Per sample: signal-to-atmosphere ratio, last-date gain, squared errors (mm^2) and valid
    pixel count; ratio 0 for samples without deformation."""
    from insar_ae.model.train import run_model

    ratio, gain, se, sz, n = [], [], [], [], []
    for b in batches:
        with torch.no_grad():
            est = run_model(model, b).float()[:, -1]
        truth = b.truth.float()[:, -1]
        s = torch.tensor([data_scale(d) for d in b.windows.float().numpy()])
        w = (b.mask & torch.isfinite(b.windows).all(dim=1)).float()
        nv = w.sum(dim=(-2, -1)).clamp_min(1.0)

        def centred(a: torch.Tensor, w=w, nv=nv) -> torch.Tensor:
            return (a - (a * w).sum(dim=(-2, -1), keepdim=True) / nv[:, None, None]) * w

        p, t = centred(torch.nan_to_num(est)), centred(truth)
        tt = (t * t).sum(dim=(-2, -1))
        ratio.append(((tt / nv).sqrt() / s).numpy())
        gain.append(((p * t).sum(dim=(-2, -1)) / tt.clamp_min(1e-12)).numpy())
        se.append(((p - t) ** 2).sum(dim=(-2, -1)).numpy())
        sz.append(tt.numpy())
        n.append(nv.numpy())
    return {
        k: np.concatenate(v)
        for k, v in zip(("ratio", "gain", "se", "sz", "n"), (ratio, gain, se, sz, n), strict=True)
    }


def external_rows(scored: Path, scenes: Path) -> list[str]:
    """Markdown rows: per kind, the external scenes of >= 10 mm sorted by signal-to-atmosphere
    ratio (as ``per_sample``, median-free: centred on the mean), each with the scorer's gain."""
    import json

    import xarray as xr

    rows = [r for r in json.loads(scored.read_text())["rows"] if r["amp"] >= 10]
    by_kind: dict[str, list[tuple[float, float, float]]] = {}
    for r in rows:
        with xr.open_dataset(scenes / r["scene"], engine="h5netcdf") as ds:
            d = ds["displacement"].values
        truth_path = scenes / r["scene"].replace("in_", "truth_", 1)
        with xr.open_dataset(truth_path, engine="h5netcdf") as ts:
            t = ts[next(iter(ts.data_vars))].values[-1]
        s = data_scale(d)
        ok = np.isfinite(t) & np.isfinite(d[-1])
        tl = t[ok] - t[ok].mean()
        by_kind.setdefault(r["kind"], []).append(
            (float(r["amp"]), float(np.sqrt(np.mean(tl**2)) / s), float(r["model"][3]))
        )
    out = ["| kind | scenes (amplitude mm: ratio -> scorer's gain), by ratio |", "|---|---|"]
    for kind, xs in sorted(by_kind.items()):
        cells = ", ".join(
            f"{a:g}: {q:.2f} -> {g:.2f}" for a, q, g in sorted(xs, key=lambda x: x[1])
        )
        out.append(f"| {kind} | {cells} |")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", action="append", help="registry name or .safetensors (repeat)")
    ap.add_argument("--batches", type=int, default=12, help="batches of 8 samples")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dates", default="8,72", help="dates per batch, LO,HI (inclusive)")
    ap.add_argument("--data", action="append", default=[], help="BatchConfig FIELD=LO,HI")
    ap.add_argument("--validation-json", type=Path, help="bench/validation.py --json output")
    ap.add_argument(
        "--set",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared" / "data" / "validation",
    )
    ap.add_argument(
        "--write", action="store_true", help="append the table to bench/results/model.md"
    )
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    from insar_ae.model import load_model
    from insar_ae.synthetic import sample_batch
    from insar_ae.synthetic.batches import DEFAULT_BATCH_CONFIG

    names = a.model or ["default"]
    lo_dates, hi_dates = (int(v) for v in a.dates.split(","))
    overrides = {}
    for item in a.data:
        key, _, value = item.partition("=")
        vals = tuple(float(v) for v in value.split(","))
        overrides[key] = vals if len(vals) > 1 else vals[0]
    config = DEFAULT_BATCH_CONFIG.replace(**overrides) if overrides else None
    g = torch.Generator().manual_seed(SEED)
    batches = []
    for _ in range(a.batches):
        n_dates = int(torch.randint(lo_dates, hi_dates + 1, (1,), generator=g))
        batches.append(
            sample_batch(8, n_dates, 128, g, "cpu", noise_only_fraction=0.2, config=config)
        )
    res = {}
    for name in names:
        model = load_model(name)
        res[name] = per_sample(model, batches)
        res[name]["sha"] = getattr(model, "weights_sha256", "")[:8]
    first = res[names[0]]
    header = " | ".join(f"`{Path(nm).stem}` ({res[nm]['sha']})" for nm in names)
    rows = [
        f"| signal RMS / atmosphere scale | samples | {header} |",
        "|---|---|" + "---|" * len(names),
    ]
    for lo, hi in itertools.pairwise(EDGES):
        sel = (first["ratio"] >= lo) & (first["ratio"] < hi)
        cells = []
        for nm in names:
            gsel = res[nm]["gain"][sel]
            cells.append(
                f"{np.median(gsel):.2f} ({np.mean(gsel < 0.5):.0%} below 0.5)" if sel.any() else "-"
            )
        rows.append(f"| {lo:g}-{hi:g} | {int(sel.sum())} | " + " | ".join(cells) + " |")
    n = first["n"].sum()
    zeros = np.sqrt(first["sz"].sum() / n)
    rows.append(
        f"| last-date RMSE, all {len(first['ratio'])} samples (all zeros {zeros:.2f} mm) | | "
        + " | ".join(f"{np.sqrt(res[nm]['se'].sum() / n):.2f} mm" for nm in names)
        + " |"
    )
    text = "\n".join(
        [
            f"## Gain against signal strength, synthetic: {lo_dates}-{hi_dates} dates"
            + "".join(f", {k} {v}" for k, v in overrides.items())
            + f" ({dt.date.today()})",
            "",
            f"Command: `python bench/gain_by_signal.py {' '.join(argv or sys.argv[1:])}`; CPU, "
            f"{a.threads} threads; {len(first['ratio'])} samples (seed {SEED}), median last-date "
            "gain per bin (share of samples below 0.5).",
            "",
            *rows,
        ]
    )
    if a.validation_json:
        text += "\n".join(
            [
                "",
                "",
                f"External set, scenes of >= 10 mm (`{a.validation_json.name}`: the model scored "
                "there): signal-to-atmosphere ratio of each scene and the scorer's gain.",
                "",
                *external_rows(a.validation_json, a.set),
            ]
        )
    print(text)
    if a.write:
        from _report import append_section

        print("wrote", append_section("model", text, "Model"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
