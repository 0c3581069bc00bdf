"""Training: a short run lowers the validation error, resumes from its checkpoint."""

from __future__ import annotations

import json

import pytest
import torch

from insar_ae.errors import ParameterError
from insar_ae.model import TrainConfig, load_model, train


def _cfg(tmp_path, steps):
    return TrainConfig(
        out=str(tmp_path / "run"),
        steps=steps,
        batch_size=8,
        patch=32,
        widths=(8, 8, 16, 16),
        n_mix=1,
        lr=3e-3,
        n_val=8,
        val_size=32,
        val_every=1000,
        checkpoint_every=10,
        log_every=5,
        device="cpu",
        progress_bar=False,
        seed=7,
    )


def _events(run, kind):
    return [
        json.loads(x)
        for x in (run / "train.log").read_text().splitlines()
        if json.loads(x)["event"] == kind
    ]


def _fixed_sampler():
    """Always the same generator batch: a few dozen steps must fit it better."""
    from insar_ae.synthetic import sample_batch

    batch = sample_batch(8, 9, 32, torch.Generator().manual_seed(11), noise_only_fraction=0.0)

    def sample(n, T, size, generator, device, **kw):
        return batch

    return sample


def test_initial_weights_follow_the_seed_not_the_global_rng(tmp_path):
    a = train(_cfg(tmp_path / "a", 1), sampler=_fixed_sampler())
    torch.manual_seed(12345)  # whatever ran before must not matter
    torch.rand(100)
    b = train(_cfg(tmp_path / "b", 1), sampler=_fixed_sampler())
    for (ka, va), (kb, vb) in zip(
        load_model(a).state_dict().items(), load_model(b).state_dict().items(), strict=True
    ):
        assert ka == kb and torch.equal(va, vb)


def test_short_training_lowers_the_loss_and_resumes(tmp_path):
    sampler = _fixed_sampler()
    path = train(_cfg(tmp_path, 60), sampler=sampler)
    run = tmp_path / "run"
    first = _events(run, "val")[0]
    end = _events(run, "end")[-1]
    assert first["step"] == 0 and end["step"] == 60
    # 60 steps on one batch: 0.55-0.65 of the first error for seeds 1, 2, 3, 7 (initial weights
    # follow the config's seed, whatever ran before in this process)
    assert end["rmse_mm"] < 0.8 * first["rmse_mm"]
    losses = [e["loss"] for e in _events(run, "step")]
    assert losses[-1] < 0.8 * losses[0]
    model = load_model(path)
    assert model.weights_meta["samples_seen"] == 480
    assert "no GPU" in model.weights_meta["hardware"] or "cuda" in model.weights_meta["hardware"]
    # resume: same folder, more steps -> continues from step 60
    train(_cfg(tmp_path, 70), sampler=sampler)
    ends = _events(run, "end")
    assert ends[-1]["step"] == 70 and ends[-1]["samples_seen"] == 560
    assert len(_events(run, "val")) == 1  # no step-0 validation on resume


def test_bad_config_is_rejected(tmp_path):
    with pytest.raises(ParameterError, match="loss"):
        train(TrainConfig(out=str(tmp_path), loss="l3"))
    with pytest.raises(ParameterError, match="patch"):
        train(TrainConfig(out=str(tmp_path), patch=30))


def test_warm_start_data_overrides_and_validation_seed(tmp_path):
    """--init starts from given weights (step-0 validation equals theirs), --data reaches the
    generator as a BatchConfig, --val-seed keeps the validation set of another run."""
    import dataclasses

    sampler = _fixed_sampler()
    base = train(_cfg(tmp_path, 10), sampler=sampler)
    seen: list = []

    def spy(n, T, size, generator, device, **kw):
        seen.append(kw.get("config"))
        return sampler(n, T, size, generator, device)

    cfg = dataclasses.replace(
        _cfg(tmp_path, 5),
        out=str(tmp_path / "warm"),
        init=str(base),
        seed=8,
        val_seed=7 + 1_000_003,
        data={"turb_rms_mm": [1.0, 2.0]},
    )
    path = train(cfg, sampler=spy)
    first = _events(tmp_path / "warm", "val")[0]
    assert first["rmse_mm"] == pytest.approx(
        _events(tmp_path / "run", "end")[-1]["rmse_mm"], rel=1e-5
    )
    training_draws = [c for c in seen if c is not None]
    assert training_draws and all(c.turb_rms_mm == (1.0, 2.0) for c in training_draws)
    assert seen[0] is None  # validation uses the default ranges
    meta = load_model(path).weights_meta
    assert meta["init"]["sha256"] == load_model(base).weights_sha256
    assert meta["samples_seen_total"] == 80 + 40
    with pytest.raises(ParameterError, match="not BatchConfig fields"):
        train(dataclasses.replace(cfg, out=str(tmp_path / "bad"), data={"turbulence": 3}))


def test_gain_penalty_is_zero_at_unit_gain_and_grows_with_shrinking():
    from insar_ae.model.train import gain_penalty

    g = torch.Generator().manual_seed(0)
    truth = torch.randn(3, 32, 32, generator=g) * 2.0 + 5.0  # an offset: the penalty centres maps
    valid = torch.ones(3, 32, 32, dtype=torch.bool)
    valid[0, :4] = False
    assert float(gain_penalty(truth + 7.0, truth, valid)) < 1e-10
    # (gain - 1)^2 x the truth's mean square (centred): 0.25 x ~4 here
    power = torch.stack(
        [(t[v] - t[v].mean()).pow(2).mean() for t, v in zip(truth, valid, strict=True)]
    ).mean()
    assert float(gain_penalty(0.5 * truth, truth, valid)) == pytest.approx(
        0.25 * float(power), rel=1e-4
    )
    assert float(gain_penalty(1.5 * truth, truth, valid)) == pytest.approx(
        0.25 * float(power), rel=1e-4
    )
    # noise uncorrelated with the truth adds little, and never more than the MSE
    noisy = truth + 0.3 * torch.randn(3, 32, 32, generator=g)
    assert float(gain_penalty(noisy, truth, valid)) < 0.01 * 0.09
    wild = truth + 5.0 * torch.randn(3, 32, 32, generator=g)
    mse = float(
        ((wild - wild.mean((-2, -1), keepdim=True)) - (truth - truth.mean((-2, -1), keepdim=True)))[
            :, 4:
        ]
        .pow(2)
        .mean()
    )
    assert float(gain_penalty(wild, truth, valid)) <= 1.5 * mse
    flat = torch.full((3, 32, 32), 4.0)
    zero = gain_penalty(torch.randn(3, 32, 32, requires_grad=True), flat, valid)
    assert float(zero) == 0.0
    zero.backward()  # differentiable even when no sample qualifies


def test_relative_gain_penalty_counts_weak_and_strong_signals_alike():
    from insar_ae.model.train import gain_penalty

    g = torch.Generator().manual_seed(1)
    shape = torch.randn(2, 32, 32, generator=g)
    shape = shape - shape.mean((-2, -1), keepdim=True)
    shape = shape / shape.pow(2).mean((-2, -1), keepdim=True).sqrt()  # unit RMS each
    valid = torch.ones(2, 32, 32, dtype=torch.bool)
    truth = shape * torch.tensor([0.2, 3.0]).view(2, 1, 1)  # a weak and a strong signal
    # both shrunk to gain 0.6: (1 - 0.6)^2 per sample, whatever the amplitude
    both = gain_penalty(0.6 * truth, truth, valid, relative=True, min_signal=0.1)
    assert float(both) == pytest.approx(0.16, rel=1e-4)
    # the absolute penalty weights them by their mean square: the weak one hardly counts
    absolute = gain_penalty(0.6 * truth, truth, valid, min_signal=0.1)
    assert float(absolute) == pytest.approx(0.16 * (0.2**2 + 3.0**2) / 2, rel=1e-4)
    # below min_signal a sample does not enter
    strong_only = gain_penalty(0.6 * truth, truth, valid, relative=True, min_signal=0.5)
    assert float(strong_only) == pytest.approx(0.16, rel=1e-4)
    weak = truth.clone()
    weak[1] = 0.0
    assert float(gain_penalty(0.6 * weak, weak, valid, relative=True, min_signal=0.5)) == 0.0
    # a series of 4 x the reference dates lets a signal half as strong in: sqrt(4) = 2
    assert float(
        gain_penalty(0.6 * weak, weak, valid, relative=True, min_signal=0.35, date_factor=2.0)
    ) == pytest.approx(0.16, rel=1e-4)


@pytest.mark.parametrize(("field", "weight"), [("gain_weight", 2.0), ("peak_weight", 0.5)])
def test_penalty_weights_enter_the_loss_and_are_validated(tmp_path, field, weight):
    from insar_ae.model.train import build_model, series_loss
    from insar_ae.synthetic import sample_batch

    cfg = TrainConfig(out=str(tmp_path / "r"), patch=32, widths=(8, 8, 8, 8)).validate()
    model = build_model(cfg)
    b = sample_batch(2, 10, 32, generator=torch.Generator().manual_seed(1))
    base = float(series_loss(model, b, cfg))
    assert float(series_loss(model, b, cfg.replace(**{field: weight}))) > base
    with pytest.raises(ParameterError, match=field):
        TrainConfig(out=str(tmp_path / "r"), **{field: -0.1}).validate()


def test_peak_penalty_is_the_scorers_detection_statistic_of_the_error():
    """On a map with a blob of error, the penalty is (peak |Gaussian-smoothed error|)^2, the
    statistic ../shared/bench/score.py thresholds (its max; here the mean of the top 0.5 %, a
    little below it); offsets, exact maps and no-data cost nothing."""
    from scipy.ndimage import gaussian_filter

    from insar_ae.model.train import PEAK_SIGMA_PX, peak_penalty

    yy, xx = torch.meshgrid(torch.arange(96.0), torch.arange(96.0), indexing="ij")
    blob = 6.0 * torch.exp(-((yy - 40) ** 2 + (xx - 55) ** 2) / (2 * 5.0**2))
    truth = torch.randn(2, 96, 96, generator=torch.Generator().manual_seed(3))
    valid = torch.ones(2, 96, 96, dtype=torch.bool)
    assert float(peak_penalty(truth + 3.0, truth, valid)) < 1e-10
    err = blob - blob.mean()
    stat = float(abs(gaussian_filter(err.numpy(), PEAK_SIGMA_PX, mode="constant")).max())
    got = float(peak_penalty(truth + blob, truth, valid))
    assert 0.85 * stat <= got**0.5 <= 1.02 * stat
    # pixels without data carry nothing, whatever they hold
    valid[:, 30:50, 45:65] = False
    assert float(peak_penalty(truth + blob * 1e3 * (~valid[0]), truth, valid)) < 1e-3 * stat**2
    # a blob is found wherever it is, so the gradient reaches the map
    p = (truth + blob).requires_grad_(True)
    peak_penalty(p, truth, torch.ones_like(valid)).backward()
    assert float(p.grad.abs().sum()) > 0


def test_quiet_peak_weight_counts_only_samples_without_deformation(tmp_path):
    """``peak_quiet_weight`` adds to the peak penalty of the samples whose last-date truth is 0
    (where a peak is a false alarm) and leaves a batch where every sample deforms unchanged."""
    from insar_ae.model.train import build_model, peak_penalty, series_loss
    from insar_ae.synthetic import sample_batch

    err = torch.randn(2, 48, 48, generator=torch.Generator().manual_seed(4))
    zero, valid = torch.zeros_like(err), torch.ones(2, 48, 48, dtype=torch.bool)
    first = float(peak_penalty(err[:1], zero[:1], valid[:1]))
    assert float(peak_penalty(err, zero, valid, sample_weight=torch.tensor([1.0, 0.0]))) == (
        pytest.approx(first / 2, rel=1e-5)
    )
    cfg = TrainConfig(out=str(tmp_path / "r"), patch=32, widths=(8, 8, 8, 8)).validate()
    model = build_model(cfg)
    b = sample_batch(2, 10, 32, generator=torch.Generator().manual_seed(1))
    assert bool((b.truth[:, -1].flatten(1).abs().amax(dim=1) > 0).all())  # both deform
    quiet = cfg.replace(peak_quiet_weight=5.0)
    assert float(series_loss(model, b, quiet)) == pytest.approx(float(series_loss(model, b, cfg)))
    b = b._replace(truth=torch.cat([torch.zeros_like(b.truth[:1]), b.truth[1:]]))
    assert float(series_loss(model, b, quiet)) > float(series_loss(model, b, cfg))
    with pytest.raises(ParameterError, match="peak_quiet_weight"):
        TrainConfig(out=str(tmp_path / "r"), peak_quiet_weight=-1.0).validate()


def test_config_is_frozen_validated_on_creation_and_round_trips(tmp_path):
    import dataclasses

    cfg = TrainConfig(out=str(tmp_path / "r"), dates=[4, 9], widths=[8, 8, 8, 8], steps=5)
    assert cfg.dates == (4, 9) and cfg.widths == (8, 8, 8, 8)  # lists from JSON -> tuples
    assert TrainConfig().widths == (32, 48, 64, 96)  # None -> the architecture's default
    assert TrainConfig(arch="window").widths == (16, 32, 48, 64)
    assert cfg.validate() is cfg
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.steps = 3  # type: ignore[misc]
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert TrainConfig.from_yaml(cfg.to_yaml()) == cfg
    assert json.loads(json.dumps(cfg.to_dict())) == cfg.to_dict()
    (tmp_path / "c.yaml").write_text("steps: 7\ndates: [3, 5]\n")
    (tmp_path / "c.json").write_text('{"steps": 7, "dates": [3, 5]}')
    for name in ("c.yaml", "c.json"):
        assert TrainConfig.from_file(tmp_path / name) == TrainConfig(steps=7, dates=(3, 5))
    with pytest.raises(ParameterError, match=r"unknown TrainConfig field.*'stepz'"):
        TrainConfig.from_dict({"stepz": 3})
    with pytest.raises(ParameterError, match="steps"):
        cfg.replace(steps=0)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ({"dates": (1, 5)}, r"dates=\(1, 5\) must be a pair \(lo, hi\) of integers >= 2"),
        ({"dates": (9, 8)}, "lo <= hi"),
        ({"lr": 1.0}, r"lr=1.0 must be a finite number in \(0, 1\)"),
        ({"max_minutes": 0}, "max_minutes"),
        ({"steps": 2.5}, "steps"),
        ({"arch": "unet"}, "arch"),
        ({"widths": (8, 0)}, "widths"),
        ({"device": "gpu"}, "device"),
        ({"amp": "yes"}, "amp"),
        ({"noise_only_fraction": 1.5}, "noise_only_fraction"),
        ({"data": {"turb_rms_mm": [0.0, 1.0]}}, r"data: turb_rms_mm=\[0.0, 1.0\] must be"),
    ],
)
def test_bad_fields_raise_parameter_errors_on_creation(bad, match):
    with pytest.raises(ParameterError, match=match):
        TrainConfig(**bad)


def test_committed_campaign_configs_and_checkpoints_still_load():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "campaign"
    for path in sorted(root.glob("series-*.json")):
        cfg = TrainConfig.from_file(path)
        assert TrainConfig(**json.loads(path.read_text())) == cfg  # the old way still works
    for path in sorted(root.glob("series-*/model.safetensors.json")):
        TrainConfig.from_dict(json.loads(path.read_text())["meta"]["train_config"])
    for path in sorted(root.glob("series-*/checkpoint.pt")):
        saved = json.loads(json.dumps(torch.load(path, weights_only=True)["config"]))
        loaded = TrainConfig.from_dict(saved).to_dict()  # later fields take their defaults
        assert {k: loaded[k] for k in saved} == saved


def test_committed_checkpoint_loads_with_weights_only_and_exports(tmp_path):
    """Module renames (normalize.py -> denoisers.py) do not touch checkpoints: they hold tensors
    and plain containers only."""
    from pathlib import Path

    from insar_ae.model.train import export_checkpoint

    run = Path(__file__).resolve().parents[2] / "campaign" / "series-v3"
    if not (run / "checkpoint.pt").is_file():
        pytest.skip("no committed checkpoint")
    torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
    path = export_checkpoint(run, tmp_path / "v3.safetensors")
    assert load_model(path).kind == "series"


def test_the_old_module_name_still_imports_with_a_warning():
    import importlib
    import sys

    from insar_ae.model import SeriesDenoiser
    from insar_ae.model.denoisers import Denoiser

    sys.modules.pop("insar_ae.model.normalize", None)
    with pytest.warns(DeprecationWarning, match="insar_ae.model.denoisers"):
        old = importlib.import_module("insar_ae.model.normalize")
    assert old.SeriesDenoiser is SeriesDenoiser and old.Denoiser is Denoiser
