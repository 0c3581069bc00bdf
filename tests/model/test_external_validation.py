"""The shipped model on a fixed subset of the external validation set (third-party physics).

Scenes from ../shared/data/validation (cutde faults, troposim turbulence; never used in
training), scored with the shared scorer's own metric functions: the noise-only 128 px scenes
set the model's 5 % false-alarm level of the detection statistic, and the signal scenes of
10 mm and more must be detected and keep their amplitude. The full set (70 scenes) is scored
by bench/validation.py; this subset keeps CI time to about a minute.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
VALIDATION = ROOT.parent / "shared" / "data" / "validation"
SCORER = ROOT.parent / "shared" / "bench" / "score.py"

pytestmark = pytest.mark.skipif(
    not (VALIDATION.is_dir() and SCORER.is_file()),
    reason="../shared/data/validation and ../shared/bench/score.py are not beside this checkout",
)


def _scorer():
    spec = importlib.util.spec_from_file_location("insar_ae_external_score", SCORER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def scored():
    """Per scene: kind, amplitude, model metrics and all-zeros metrics, each
    (rmse_series, rmse_final, detection statistic, gain) as the scorer computes them."""
    import xarray as xr

    from insar_ae.io import open_frame
    from insar_ae.model import denoise, load_model

    score = _scorer()
    model = load_model()
    torch.set_num_threads(2)
    rows = []
    for inp in sorted(VALIDATION.glob("in_*.nc")):
        with xr.open_dataset(VALIDATION / inp.name.replace("in_", "truth_")) as t:
            kind, amp, size = t.attrs["kind"], float(t.attrs["amplitude_mm"]), int(t.attrs["size"])
            if size != 128 or (kind != "noise" and amp < 10):
                continue
            truth = t["deformation"].values.astype(float)
        ds = open_frame(inp).load()
        est = denoise(ds, model=model, device="cpu")["deformation"].values.astype(float)
        d = ds["displacement"].values
        dx = float(abs(ds["x"].values[1] - ds["x"].values[0]))
        valid = np.isfinite(d)
        zero = np.where(valid, 0.0, np.nan)
        rows.append(
            (kind, amp, score.metrics(est, truth, valid, dx), score.metrics(zero, truth, valid, dx))
        )
    return rows


def test_subset_is_what_it_claims(scored):
    kinds = [k for k, *_ in scored]
    assert kinds.count("noise") >= 20 and len(kinds) - kinds.count("noise") >= 10


def _hit_rate(scored) -> float:
    thr = np.percentile([m[2] for k, _, m, _ in scored if k == "noise"], 95)
    return float(np.mean([m[2] > thr for k, _, m, _ in scored if k != "noise"]))


def test_most_signals_of_10_mm_and_more_are_detected_at_a_5_percent_false_alarm_level(scored):
    # measured 0.89 (16 of 18) with the series-v10 weights of 2026-12-04 (series-v8: 0.83,
    # series-v6: 0.78, series-v3: 0.72; window-v2 detects none)
    assert _hit_rate(scored) >= 0.6


def test_signals_of_10_mm_and_more_are_detected_at_the_scorers_80_percent(scored):
    # met since the series-v8 weights (2026-12-04): 15 of 18, series-v10 16; series-v6 detected 14
    assert _hit_rate(scored) >= 0.8


def test_amplitude_is_kept_on_signals_of_10_mm_and_more(scored):
    gain = float(np.median([m[3] for k, _, m, _ in scored if k != "noise"]))
    assert 0.7 <= gain <= 1.3, gain


def test_series_rmse_is_well_below_all_zeros(scored):
    model = np.mean([m[0] for k, _, m, _ in scored if k != "noise"])
    zero = np.mean([z[0] for k, _, _, z in scored if k != "noise"])
    assert model < 0.8 * zero, (model, zero)
