"""Quality benchmark of the shipped model against classical baselines (bench/results/model.md).

Held-out test set (never seen in training): ``make_scene`` seeds 7001+ (training draws from
``sample_batch`` with a torch generator, a different stream) with noise settings outside the
training ranges: turbulence spectral slope 4.1-4.5 (training 1.8-4.0), pixel 40 m (training
60-250 m), strict 12-day sampling. Baseline parameters are swept on separate validation scenes
(seeds 9001-9002, preset defaults), never on the test set.

Sweep grids span the settings used in practice (LiCSBAS: temporal filter ~3 x the mean
interval, spatial filter ~2 km = 10-20 px): sigma_px 4-32, sigma_days 12-96. Wider settings
tend to the all-zeros estimator, which has its own row.

Detection: noise-only scenes (seeds 8001+, 5-15 mm turbulence, 12-day sampling) with an injected
Mogi-shaped LOS source of peak amplitude A growing linearly in time (A reached at the last
date). Statistic = max over the source region R (|unit template| >= 0.5) of |final cumulative
estimate| averaged over a disc of radius 2 px. Threshold = 95th percentile of the statistic on
the same scenes without injection (5 % false alarms, set per method). Detection rate(A) = share
of scenes whose statistic exceeds it; detection threshold = smallest A detected >= 80 %.

Usage: ``python bench/quality.py [--weights default] [--n-test 3] [--n-detect 20] [--write]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time

import numpy as np
import torch
from scipy import ndimage

from insar_ae.model import baselines as B
from insar_ae.model import denoise, load_model
from insar_ae.synthetic import make_scene, mogi, project_los

TEST_PRESETS = ("anatolia-slow-slip", "coso-deflation")
TEST_SEED0, DETECT_SEED0, VAL_SEEDS = 7001, 8001, (9001, 9002)
TEST_OVERRIDES = {
    "pixel_m": 40.0,
    "turb_slope": (4.1, 4.5),
    "cadences_days": (12.0,),
    "p_cadence": None,
}
DETECT_OVERRIDES = {"cadences_days": (12.0,), "p_cadence": None}
AMPLITUDES = (1.0, 2.0, 3.0, 5.0, 10.0, 20.0)
SWEEP = {
    "spatial_highpass": [{"sigma_px": s} for s in (4, 8, 16, 32)],
    "spatiotemporal_filter": [
        {"sigma_days": d, "sigma_px": s} for d in (12, 24, 48, 96) for s in (4, 8, 16, 32)
    ],
    "temporal_smooth": [{"sigma_days": d} for d in (12, 24, 48, 96)],
}
LABELS = {
    "model": "shipped model",
    "model_stride4": "shipped model, every 4th window (dashboard CPU default)",
    "raw": "raw input",
    "spatial_highpass": "spatial high-pass",
    "spatiotemporal_filter": "LiCSBAS-style spatio-temporal",
    "temporal_smooth": "per-pixel temporal smoothing",
    "zeros": "all zeros",
}


def estimates(ds, model, params: dict[str, dict[str, float]]) -> dict[str, np.ndarray]:
    """Every method's deformation estimate (time, y, x) mm for one scene."""
    out = {
        "model": denoise(ds, model=model, device="cpu")["deformation"].values,
        "model_stride4": denoise(ds, model=model, device="cpu", time_stride=4)[
            "deformation"
        ].values,
    }
    out["raw"] = ds["displacement"].values
    for name, p in params.items():
        out[name] = getattr(B, name)(ds, **p).values
    out["zeros"] = np.zeros_like(out["raw"])
    return out


class Pool:
    """Pooled squared errors and gain sums over scenes."""

    def __init__(self) -> None:
        self.se = self.n = self.se_last = self.n_last = self.sxy = self.sxx = 0.0

    def add(self, est: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> None:
        v = valid.copy()
        v[0] = False
        e = np.where(v, est - truth, 0.0)
        self.se += float((e**2).sum())
        self.n += float(v.sum())
        vl = valid[-1]
        self.se_last += float(((est[-1] - truth[-1])[vl] ** 2).sum())
        self.n_last += float(vl.sum())
        sig = v & (np.abs(truth) > 1.0)
        self.sxy += float((est * truth)[sig].sum())
        self.sxx += float((truth * truth)[sig].sum())

    def row(self) -> tuple[float, float, float]:
        return (
            np.sqrt(self.se / self.n),
            np.sqrt(self.se_last / self.n_last),
            self.sxy / self.sxx if self.sxx else float("nan"),
        )


def _valid(ds) -> np.ndarray:
    return np.isfinite(ds["displacement"].values) & np.isfinite(ds["deformation_true"].values)


def sweep(shape, n_dates) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Pick each baseline's parameters by RMSE on the validation scenes."""
    scenes = [
        make_scene(p, s, shape=shape, n_dates=n_dates, **DETECT_OVERRIDES)
        for p, s in zip(TEST_PRESETS, VAL_SEEDS, strict=True)
    ]
    best: dict[str, dict[str, float]] = {}
    lines = ["| baseline | parameters | validation RMSE (mm) |", "|---|---|---|"]
    for name, grid in SWEEP.items():
        scores = []
        for p in grid:
            pool = Pool()
            for ds in scenes:
                pool.add(
                    getattr(B, name)(ds, **p).values, ds["deformation_true"].values, _valid(ds)
                )
            scores.append(pool.row()[0])
        i = int(np.argmin(scores))
        best[name] = grid[i]
        lines += [
            f"| {name} | {json.dumps(p)} | {s:.3f}{' **best**' if j == i else ''} |"
            for j, (p, s) in enumerate(zip(grid, scores, strict=True))
        ]
    return best, lines


def _template(ds, rng) -> np.ndarray:
    """Unit-peak Mogi LOS pattern at a random location, depth 1-2 km."""
    x, y = ds["x"].values, ds["y"].values
    east, north = np.meshgrid(x - x.mean(), y - y.mean())
    half = 0.3 * min(np.ptp(x), np.ptp(y))
    ue, un, uu = mogi(
        east,
        north,
        x0_m=rng.uniform(-half, half),
        y0_m=rng.uniform(-half, half),
        depth_m=rng.uniform(1000.0, 2000.0),
        dvolume_m3=1e6,
    )
    los = project_los(ue, un, uu, ds.attrs["heading_deg"], ds.attrs["incidence_deg"])
    return (np.sign(rng.normal()) * los / np.abs(los).max()).astype(np.float32)


def _statistic(final: np.ndarray, region: np.ndarray, radius: int = 2) -> float:
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    disc = (yy**2 + xx**2 <= radius**2).astype(float)
    ok = np.isfinite(final)
    num = ndimage.convolve(np.where(ok, final, 0.0), disc, mode="nearest")
    den = ndimage.convolve(ok.astype(float), disc, mode="nearest")
    sm = np.where(den > 0, num / np.maximum(den, 1e-9), np.nan)
    return float(np.nanmax(np.abs(sm[region])))


def detection(model, params, n_scenes, shape, n_dates) -> tuple[dict[str, list[float]], list[str]]:
    """Detection rate per method and amplitude at a 5 % false-alarm rate."""
    rng = np.random.default_rng(DETECT_SEED0)
    stats: dict[str, dict[float, list[float]]] = {}
    atmo_rms = []
    for j in range(n_scenes):
        ds = make_scene(
            "noise-only", DETECT_SEED0 + j, shape=shape, n_dates=n_dates, **DETECT_OVERRIDES
        )
        atmo_rms.append(float(np.nanstd(ds["turbulent"].values[1:], axis=(1, 2)).mean()))
        tmpl = _template(ds, rng)
        region = np.abs(tmpl) >= 0.5
        days = (ds["time"].values - ds["time"].values[0]) / np.timedelta64(1, "D")
        ramp = (days / days[-1]).astype(np.float32)[:, None, None]
        for a in (0.0, *AMPLITUDES):
            inj = ds.copy(deep=True)
            inj["displacement"].values[:] = ds["displacement"].values + a * ramp * tmpl
            inj["deformation_true"].values[:] = a * ramp * tmpl
            for name, est in estimates(inj, model, params).items():
                stats.setdefault(name, {}).setdefault(a, []).append(_statistic(est[-1], region))
    rates: dict[str, list[float]] = {}
    lines = [
        "| method | "
        + " | ".join(f"{a:g} mm" for a in AMPLITUDES)
        + " | detection threshold (80 %) | 95 % null statistic (mm) |",
        "|---|" + "---|" * (len(AMPLITUDES) + 2),
    ]
    for name, by_a in stats.items():
        tau = float(np.percentile(by_a[0.0], 95))
        r = [float(np.mean(np.asarray(by_a[a]) > tau)) for a in AMPLITUDES]
        rates[name] = r
        hit = [a for a, x in zip(AMPLITUDES, r, strict=True) if x >= 0.8]
        thr = f"{hit[0]:g} mm" if hit else f"> {AMPLITUDES[-1]:g} mm"
        lines.append(
            f"| {LABELS[name]} | " + " | ".join(f"{x:.2f}" for x in r) + f" | {thr} | {tau:.2f} |"
        )
    lines.append(
        f"\n{n_scenes} noise-only scenes {shape[0]}x{shape[1]} px x {n_dates} dates; mean "
        f"turbulent delay RMS per date {np.mean(atmo_rms):.1f} mm "
        f"(range {np.min(atmo_rms):.1f}-{np.max(atmo_rms):.1f} mm)."
    )
    return rates, lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="default")
    ap.add_argument("--n-test", type=int, default=3, help="scenes per test preset")
    ap.add_argument("--n-detect", type=int, default=20, help="noise-only detection scenes")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--dates", type=int, default=24)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--write", action="store_true", help="append to bench/results/model.md")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    model = load_model(args.weights)
    shape = (args.size, args.size)
    params, sweep_lines = sweep(shape, args.dates)
    pools: dict[str, Pool] = {}
    for preset in TEST_PRESETS:
        for k in range(args.n_test):
            ds = make_scene(
                preset, TEST_SEED0 + k, shape=shape, n_dates=args.dates, **TEST_OVERRIDES
            )
            for name, est in estimates(ds, model, params).items():
                pools.setdefault(name, Pool()).add(est, ds["deformation_true"].values, _valid(ds))
    best_classical = min(pools[n].row()[0] for n in SWEEP)
    lines = [
        "| method | RMSE series (mm) | RMSE final cumulative map (mm) | amplitude gain |",
        "|---|---|---|---|",
    ]
    for name, pool in pools.items():
        rmse, rmse_last, gain = pool.row()
        lines.append(f"| {LABELS[name]} | {rmse:.3f} | {rmse_last:.3f} | {gain:.3f} |")
    ratio = best_classical / pools["model"].row()[0]
    _, det_lines = detection(model, params, args.n_detect, (96, 96), 12)
    cpu = (
        subprocess.run("lscpu | grep 'Model name'", shell=True, capture_output=True, text=True)
        .stdout.split(":", 1)[-1]
        .strip()
    )
    report = [
        f"## Quality benchmark ({dt.date.today()})",
        "",
        f"Machine: {cpu}; {args.threads} threads; CPU only. Command: "
        f"`python bench/quality.py {' '.join(argv or sys.argv[1:])}`; wall time "
        f"{time.time() - t0:.0f} s. Weights: `{args.weights}` sha256 "
        f"`{model.weights_sha256[:16]}...`.",
        "",
        f"### Deformation series on the held-out test set ({len(TEST_PRESETS)} presets x "
        f"{args.n_test} seeds, {shape[0]}x{shape[1]} px x {args.dates} dates, overrides "
        f"{json.dumps(TEST_OVERRIDES)})",
        "",
        *lines,
        "",
        f"Best classical baseline RMSE / model RMSE = **{ratio:.2f}** (goal >= 3). Gain = "
        "least-squares slope of estimate on truth over pixels with |truth| > 1 mm.",
        "",
        "### Detection (5 % false-alarm rate set on noise-only scenes)",
        "",
        *det_lines,
        "",
        "### Baseline parameter sweep (validation scenes, seeds "
        f"{VAL_SEEDS}, preset noise, 12-day sampling)",
        "",
        *sweep_lines,
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
