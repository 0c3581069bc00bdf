"""On-the-fly training of the Denoiser on generator batches (``insar-ae train``).

Every step draws a fresh batch from ``insar_ae.synthetic.sample_batch`` on the training
device (seeded ``torch.Generator``; no dataset on disk). Validation uses a fixed seeded set drawn
once from a seed never used for training. Adam with a one-cycle cosine schedule (warm-up then
cosine decay); the schedule's progress is ``max(step / steps, elapsed / max_minutes)``, so a
wall-clock budget still ends on a fully annealed learning rate. Mixed precision (bf16/fp16) on
CUDA. A checkpoint (model, optimiser, step, RNG state, samples seen, wall time) is written every
``checkpoint_every`` steps and at the end; rerunning with the same ``out`` resumes from it.

Outputs in ``out``: ``checkpoint.pt``, ``train.log`` (one JSON line per log/validation event),
``model.safetensors`` + ``model.safetensors.json`` (sha256, config, meta).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import platform
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch.nn import functional as F

from insar_ae._config import Config, meta
from insar_ae.atomic import atomic_path
from insar_ae.errors import ParameterError
from insar_ae.model.denoisers import Denoiser, SeriesDenoiser
from insar_ae.model.devices import autocast_context, resolve_device
from insar_ae.model.options import device_name
from insar_ae.model.temporal_basis import reconstruct

__all__ = [
    "TrainConfig",
    "build_model",
    "evaluate",
    "export_checkpoint",
    "gain_penalty",
    "masked_loss",
    "peak_penalty",
    "run_model",
    "series_loss",
    "train",
]

log = logging.getLogger(__name__)
LOSSES = ("l1", "huber", "mse")
ARCHS = ("series", "window")
_DEFAULT_WIDTHS = {"series": (32, 48, 64, 96), "window": (16, 32, 48, 64)}
#: Seeds: training batches use ``seed``; validation uses ``VAL_SEED_OFFSET + seed``.
VAL_SEED_OFFSET = 1_000_003


def _f(default: Any, help: str, **bounds: Any) -> Any:
    """A TrainConfig field: its default, help and bounds (see ``insar_ae._config.meta``)."""
    return dataclasses.field(default=default, metadata=meta(help, **bounds))


@dataclasses.dataclass(frozen=True)
class TrainConfig(Config):
    """Training recipe (all fields have CPU-sized defaults); frozen, validated on creation.

    Each field's help, units and simple bounds live in its metadata (checked by
    ``insar_ae._config``); lists are accepted for the tuples (JSON configs). ``widths=None`` is
    filled in with the architecture's default on creation. Dict, YAML and file round trips
    (``to_dict`` / ``from_dict``, ``to_yaml`` / ``from_yaml``, ``from_file``: ``.json`` or
    ``.yaml``) as :class:`insar_ae.model.DenoiseOptions`; ``replace(**fields)`` for a copy.
    """

    _label: ClassVar[str] = "TrainConfig field"

    out: str = _f("runs/default", "run folder (checkpoint, log, weights); rerun to resume")
    steps: int = _f(2000, "optimiser steps", min=1)
    batch_size: int = _f(8, "samples per step", units="samples", min=1)
    patch: int = _f(64, "training patch side", units="px", min=16, multiple_of=8)
    #: "series" (whole series, any length: the default model) or "window" (9-date windows).
    arch: str = _f("series", "series (whole series, any length) or window (9 dates)", choices=ARCHS)
    #: Window model: dates per window. Series model: dates of the validation series.
    T: int = _f(9, "window model: dates per window; series: dates of validation", min=2)
    #: Channel widths; None -> the architecture's default (filled in on creation).
    widths: tuple[int, ...] | None = _f(None, "channel widths (None: the arch's default)", min=1)
    n_mix: int = _f(2, "window model: TimeMix blocks", min=0)
    #: Series model: degree of the temporal basis, bottleneck dilations, range of the number of
    #: dates drawn per training batch (inclusive), and extra weight of the last date's map.
    K: int = _f(6, "series model: degree of the temporal basis", min=1)
    dilations: tuple[int, ...] = _f((2, 4, 8, 2), "series model: bottleneck dilations", min=1)
    dates: tuple[int, int] = _f(
        (8, 72), "series model: dates per training batch, (lo, hi)", min=2, ordered=True
    )
    final_weight: float = _f(1.0, "series model: extra weight of the last date's map", min=0.0)
    #: Series model: extra weight of the last date's error *along the truth* (shrinkage), see
    #: ``gain_penalty``. MSE alone trades amplitude for noise and so rewards shrinking.
    gain_weight: float = _f(0.0, "series model: weight of the gain penalty", min=0.0)
    #: Series model: the gain penalty per sample as ``(gain - 1)^2`` rather than
    #: ``(gain - 1)^2 rms(t)^2``, so a weak signal's shrinkage costs as much as a strong one's.
    gain_relative: bool = _f(False, "series model: gain penalty scale-free, (gain - 1)^2")
    #: Series model: a sample enters the gain penalty when its last-date truth has an RMS of
    #: at least this many units of its atmospheric scale ``s``.
    gain_min_signal: float = _f(0.3, "series model: least signal RMS in the gain penalty", gt=0.0)
    #: Series model: when set, ``gain_min_signal`` is compared with ``rms(t) sqrt(N / ref)`` for a
    #: series of N dates: the signal's strength after averaging its dates, referred to a series of
    #: ``ref`` dates, so the penalty counts the samples whose signal is recoverable.
    gain_ref_dates: int | None = _f(
        None, "series model: gain_min_signal holds for series of this many dates", min=2
    )
    #: Series model: extra weight of the last date's *peak* smoothed error, see
    #: ``peak_penalty``: the scorer's detection statistic, so false alarms (atmosphere made
    #: into a blob on a map with no deformation) and missed peaks cost what they cost a user.
    peak_weight: float = _f(0.0, "series model: weight of the peak penalty", min=0.0)
    #: Series model: extra weight of the peak penalty on the samples without deformation
    #: (truth 0 on the last date), where a peak is a false alarm; ``peak_weight`` applies to
    #: every sample, this one adds to it there only, so false alarms can be weighed without
    #: weighing the misses of real signals (which pull the gain down) as much.
    peak_quiet_weight: float = _f(
        0.0, "series model: extra peak-penalty weight on samples without deformation", min=0.0
    )
    #: Series model: weighted projection, each date weighted by its atmospheric strength
    #: (``temporal_basis.date_weights``).
    date_weighting: bool = _f(False, "series model: dates weighted by atmospheric strength")
    loss: str = _f("mse", "window model loss", choices=LOSSES)
    huber_delta: float = _f(0.5, "Huber loss threshold (normalised units)", gt=0.0)
    lr: float = _f(2e-3, "peak learning rate", gt=0.0, lt=1.0)
    warmup_fraction: float = _f(0.05, "share of the schedule in warm-up", min=0.0, max=1.0)
    weight_decay: float = _f(0.0, "Adam weight decay", min=0.0)
    seed: int = _f(0, "seed of the training batches and initial weights")
    device: str = _f("auto", "auto, cpu, cuda, cuda:N, mps")
    amp: bool = _f(True, "mixed precision on CUDA")
    max_minutes: float | None = _f(None, "wall-clock budget", units="minutes", gt=0.0)
    noise_only_fraction: float = _f(0.2, "share of samples without deformation", min=0.0, max=1.0)
    n_val: int = _f(32, "validation samples", min=1)
    val_size: int = _f(96, "validation patch side", units="px", min=8)
    val_every: int = _f(200, "steps between validations", min=1)
    checkpoint_every: int = _f(100, "steps between checkpoints", min=1)
    log_every: int = _f(20, "steps between log lines", min=1)
    num_threads: int | None = _f(None, "torch CPU threads (None or 0: torch's default)", min=0)
    progress_bar: bool = _f(True, "show a progress bar")
    #: Warm start: weights (registry name or ``.safetensors`` path) to initialise the model
    #: from; the optimiser and schedule start fresh. Ignored when resuming a checkpoint.
    init: str | None = _f(None, "warm start from weights (registry name or .safetensors path)")
    #: Overrides of the training data ranges (``BatchConfig`` field -> value), e.g.
    #: ``{"turb_rms_mm": [0.5, 25.0]}``. Validation always uses the default ranges, so
    #: validation numbers stay comparable between runs.
    data: dict[str, Any] = dataclasses.field(
        default_factory=dict, metadata=meta("training data range overrides (BatchConfig fields)")
    )
    #: Seed of the fixed validation set; None -> ``VAL_SEED_OFFSET + seed``. Set it when a
    #: warm-started run uses a new training ``seed`` but must validate on the same set.
    val_seed: int | None = _f(None, "seed of the validation set (None: 1000003 + seed)")

    def __post_init__(self) -> None:
        self._check_fields()
        for name in ("out", "init"):
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                object.__setattr__(self, name, value := os.fspath(value))
            if not (value is None and name == "init") and (
                not isinstance(value, str) or not value.strip()
            ):
                raise ParameterError(f"{name}={value!r} must be a non-empty path or name")
        object.__setattr__(self, "device", device_name(self.device))
        if self.widths is None:
            object.__setattr__(self, "widths", _DEFAULT_WIDTHS[self.arch])
        if not isinstance(self.data, Mapping):
            raise ParameterError(
                f"data={self.data!r} must be a mapping of BatchConfig fields to values"
            )
        object.__setattr__(self, "data", dict(self.data))
        self.batch_config()

    def validate(self) -> TrainConfig:
        """Compatibility: a config is validated when it is created; returns self."""
        return self

    def batch_config(self) -> Any:
        """The training ``BatchConfig`` (defaults plus ``data`` overrides); None without
        overrides. Unknown fields and bad values raise ParameterError."""
        if not self.data:
            return None
        from insar_ae.synthetic.batches import BatchConfig

        known = [f.name for f in dataclasses.fields(BatchConfig)]
        unknown = sorted(set(self.data) - set(known))
        if unknown:
            raise ParameterError(
                f"data overrides {unknown} are not BatchConfig fields ({', '.join(known)})"
            )
        try:
            return BatchConfig(**self.data)
        except ParameterError as exc:
            raise ParameterError(f"data: {exc}") from None


def masked_loss(
    pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, kind: str, delta: float = 0.5
) -> torch.Tensor:
    """Mean loss over valid pixels of frames 1..T-1 (normalised units)."""
    p, t = pred[:, 1:], target[:, 1:]
    if kind == "l1":
        err = (p - t).abs()
    elif kind == "mse":
        err = (p - t) ** 2
    else:
        err = F.huber_loss(p, t, reduction="none", delta=delta)
    wgt = valid.unsqueeze(1).to(err.dtype).expand_as(err)
    return (err * wgt).sum() / wgt.sum().clamp_min(1.0)


def _sampler_default() -> Callable[..., Any]:
    from insar_ae.synthetic import sample_batch

    return sample_batch


def build_model(cfg: TrainConfig) -> Denoiser | SeriesDenoiser:
    """The untrained model a config describes."""
    if cfg.arch == "series":
        return SeriesDenoiser(
            K=cfg.K,
            widths=tuple(cfg.widths or _DEFAULT_WIDTHS["series"]),
            dilations=tuple(cfg.dilations),
            date_weighting=cfg.date_weighting,
        )
    return Denoiser(T=cfg.T, widths=tuple(cfg.widths or _DEFAULT_WIDTHS["window"]), n_mix=cfg.n_mix)


def run_model(model: Denoiser | SeriesDenoiser, b: Any) -> torch.Tensor:
    """The model's estimate (mm) for a generator batch."""
    if isinstance(model, SeriesDenoiser):
        return model(b.windows, b.dem, b.mask, b.days)
    return model(b.windows, b.dem, b.mask)


#: A sample enters the gain penalty when its last-date truth (centred) has an RMS of at least
#: this many units of the sample's atmospheric scale ``s`` (``TrainConfig.gain_min_signal``).
GAIN_MIN_SIGNAL = 0.3


def gain_penalty(
    pred_last: torch.Tensor,
    target_last: torch.Tensor,
    valid: torch.Tensor,
    relative: bool = False,
    min_signal: float = GAIN_MIN_SIGNAL,
    date_factor: float = 1.0,
) -> torch.Tensor:
    """Mean over samples with a visible signal of the squared last-date error along the truth.

    ``pred_last``, ``target_last``: (B, H, W) last-date maps in units of ``s``; ``valid``:
    (B, H, W) bool. Each map is centred on its valid-pixel mean (the scorer centres on the
    median; the mean keeps this differentiable). Per sample, with n valid pixels,
    ``<p - t, t>^2 / (<t, t> n) = (gain - 1)^2 rms(t)^2``, gain = <p, t> / <t, t>: the part of
    the mean squared error that shrinking (or inflating) the truth causes, never more than the
    MSE itself, so noise-dominated samples cannot blow it up. With ``relative`` each sample's
    term is divided by ``rms(t)^2``: ``(gain - 1)^2``, so a signal of ``min_signal`` counts as
    much as one ten times stronger (never more than ``MSE / min_signal^2``). Samples enter when
    ``rms(t) x date_factor >= min_signal`` (``date_factor`` = sqrt(N / ref) compares series of
    N dates with ``ref``-date ones, ``TrainConfig.gain_ref_dates``). 0 when no sample qualifies."""
    w = valid.to(pred_last.dtype)
    n = w.sum(dim=(-2, -1)).clamp_min(1.0)

    def centred(a: torch.Tensor) -> torch.Tensor:
        return (a - (a * w).sum(dim=(-2, -1), keepdim=True) / n[:, None, None]) * w

    p, t = centred(pred_last), centred(target_last)
    tt = (t * t).sum(dim=(-2, -1))
    use = tt / n * date_factor**2 >= min_signal**2
    if not bool(use.any()):
        return pred_last.sum() * 0.0
    along = ((p - t) * t).sum(dim=(-2, -1))[use]
    per_sample = along**2 / (tt[use] * n[use])
    if relative:
        per_sample = per_sample / (tt[use] / n[use])
    return per_sample.mean()


#: Smoothing (Gaussian sigma, pixels) of the peak penalty: the scorer's 250 m at 80 m pixels.
PEAK_SIGMA_PX = 3.0
#: The peak is the mean of this fraction of the largest smoothed |error| values of a map
#: (a max that passes gradient to more than one pixel).
PEAK_TOP_FRACTION = 0.005


def _gaussian_kernel(sigma: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    r = math.ceil(3.0 * sigma)
    x = torch.arange(-r, r + 1, dtype=dtype, device=device)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def peak_penalty(
    pred_last: torch.Tensor,
    target_last: torch.Tensor,
    valid: torch.Tensor,
    sigma_px: float = PEAK_SIGMA_PX,
    sample_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean over samples (weighted by ``sample_weight``, (B,), when given) of the squared peak
    of the smoothed last-date error.

    ``pred_last``, ``target_last``: (B, H, W) in units of ``s``; ``valid``: (B, H, W) bool.
    The error map is centred on its valid-pixel mean, smoothed by a Gaussian of ``sigma_px``
    pixels (normalised by the smoothed mask, so no-data does not pull it to 0) and its peak
    taken as the mean of the top ``PEAK_TOP_FRACTION`` of |values|. On a map with no
    deformation this is the scorer's detection statistic (max |smoothed map|), whose 95th
    percentile over noise-only scenes is the false-alarm level; on a map with deformation it
    is the largest local miss. Units: ``s``^2, like the MSE terms."""
    w = valid.to(pred_last.dtype)
    n = w.sum(dim=(-2, -1), keepdim=True).clamp_min(1.0)
    err = (pred_last - target_last) * w
    err = (err - err.sum(dim=(-2, -1), keepdim=True) / n) * w
    k = _gaussian_kernel(sigma_px, err.dtype, err.device)
    r = k.numel() // 2

    def smooth(a: torch.Tensor) -> torch.Tensor:
        a = F.conv2d(a.unsqueeze(1), k.view(1, 1, 1, -1), padding=(0, r))
        return F.conv2d(a, k.view(1, 1, -1, 1), padding=(r, 0)).squeeze(1)

    sm = smooth(err) / smooth(w).clamp_min(0.25)
    sm = (sm * w).flatten(1).abs()
    top = max(1, round(PEAK_TOP_FRACTION * sm.shape[1]))
    per_sample = sm.topk(top, dim=1).values.mean(dim=1) ** 2
    return (per_sample if sample_weight is None else per_sample * sample_weight).mean()


def series_loss(model: SeriesDenoiser, b: Any, cfg: TrainConfig) -> torch.Tensor:
    """MSE over valid pixels and dates 1..N-1 of the reconstructed series, plus
    ``final_weight`` x the MSE of the last date's map (normalised units), plus
    ``gain_weight`` x ``gain_penalty`` and ``peak_weight`` x ``peak_penalty`` of the last
    date's map (``peak_weight + peak_quiet_weight`` on samples without deformation)."""
    prep = model.prepare(b.windows, b.dem, b.mask, b.days)
    pred = reconstruct(model.forward_normalised(prep).float(), prep.basis)
    target = b.truth.float() / prep.scale.view(-1, 1, 1, 1)
    loss = masked_loss(pred, target, prep.valid, cfg.loss, cfg.huber_delta)
    if cfg.final_weight > 0:
        loss = loss + cfg.final_weight * masked_loss(
            pred[:, -2:], target[:, -2:], prep.valid, cfg.loss, cfg.huber_delta
        )
    if cfg.gain_weight > 0:
        factor = math.sqrt(b.windows.shape[1] / cfg.gain_ref_dates) if cfg.gain_ref_dates else 1.0
        loss = loss + cfg.gain_weight * gain_penalty(
            pred[:, -1], target[:, -1], prep.valid, cfg.gain_relative, cfg.gain_min_signal, factor
        )
    if cfg.peak_weight > 0 or cfg.peak_quiet_weight > 0:
        quiet = (target[:, -1].abs() * prep.valid).flatten(1).amax(dim=1) == 0
        weight = cfg.peak_weight + cfg.peak_quiet_weight * quiet.to(pred.dtype)
        loss = loss + peak_penalty(pred[:, -1], target[:, -1], prep.valid, sample_weight=weight)
    return loss


@torch.no_grad()
def evaluate(
    model: Denoiser | SeriesDenoiser, batches: list[Any], device: torch.device, border: int = 8
) -> dict[str, float]:
    """RMSE (mm) over valid pixels, frames 1..T-1; last-frame RMSE; all-zeros RMSE; amplitude
    gain (least-squares slope of estimate on truth where |truth| > 1 mm); RMSE in the
    ``border``-pixel rim vs the interior (edge artefacts)."""
    se = se_last = se_zero = n = n_last = 0.0
    se_rim = n_rim = se_in = n_in = 0.0
    sxy = sxx = 0.0
    for b in batches:
        with autocast_context(device):
            est = run_model(model, b).float()
        tr = b.truth.float()
        valid = b.mask & torch.isfinite(b.windows).all(dim=1)
        v = valid.unsqueeze(1).expand_as(tr).clone()
        v[:, 0] = False
        err2 = (est - tr) ** 2
        se += float(err2[v].sum())
        se_zero += float((tr**2)[v].sum())
        n += float(v.sum())
        se_last += float(err2[:, -1][valid].sum())
        n_last += float(valid.sum())
        rim = torch.zeros_like(v)
        rim[..., :border, :] = rim[..., -border:, :] = True
        rim[..., :, :border] = rim[..., :, -border:] = True
        se_rim += float(err2[v & rim].sum())
        n_rim += float((v & rim).sum())
        se_in += float(err2[v & ~rim].sum())
        n_in += float((v & ~rim).sum())
        sig = v & (tr.abs() > 1.0)
        sxy += float((est * tr)[sig].sum())
        sxx += float((tr * tr)[sig].sum())
    return {
        "rmse_mm": math.sqrt(se / max(n, 1)),
        "rmse_last_mm": math.sqrt(se_last / max(n_last, 1)),
        "rmse_zero_mm": math.sqrt(se_zero / max(n, 1)),
        "gain": sxy / sxx if sxx else float("nan"),
        "rmse_rim_mm": math.sqrt(se_rim / max(n_rim, 1)),
        "rmse_interior_mm": math.sqrt(se_in / max(n_in, 1)),
    }


def _lr_factor(progress: float, warmup: float) -> float:
    if progress < warmup:
        return 0.05 + 0.95 * progress / warmup
    x = min(1.0, (progress - warmup) / max(1e-9, 1.0 - warmup))
    return 0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * x))


def _atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` onto ``path`` (replacing the previous checkpoint) via insar_ae.atomic."""
    with atomic_path(path, overwrite=True) as tmp:
        torch.save(obj, tmp)


def _hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU ({cpu}), {torch.get_num_threads()} threads, no GPU"


def train(
    config: TrainConfig | dict[str, Any], *, sampler: Callable[..., Any] | None = None
) -> Path:
    """Train (or resume) and return the path of the final ``model.safetensors``.

    ``sampler`` defaults to ``insar_ae.synthetic.sample_batch`` (same signature); tests may pass
    a cheaper one.
    """
    from insar_ae.model.weights import save_weights

    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
    if cfg.num_threads:
        torch.set_num_threads(int(cfg.num_threads))
    sample = sampler or _sampler_default()
    device = resolve_device(cfg.device)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    logf = open(out / "train.log", "a", buffering=1)
    with torch.random.fork_rng(
        devices=[]
    ):  # the initial weights follow cfg.seed, not the caller's RNG
        torch.manual_seed(cfg.seed)
        model = build_model(cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    use_amp = cfg.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and not torch.cuda.is_bf16_supported())
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    state = {"step": 0, "samples_seen": 0, "wall_s": 0.0}
    ckpt = out / "checkpoint.pt"
    if ckpt.is_file():
        saved = torch.load(ckpt, map_location=device, weights_only=True)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        gen.set_state(saved["generator"].cpu() if device.type == "cpu" else saved["generator"])
        state = {k: saved[k] for k in state}
        log.info("resumed from %s at step %d", ckpt, state["step"])
    init_meta: dict[str, Any] = {}
    if cfg.init:
        from insar_ae.model.weights import load_model

        start = load_model(cfg.init)
        init_meta = {
            "weights": cfg.init,
            "sha256": start.weights_sha256,
            "samples_seen": int(start.weights_meta.get("samples_seen", 0)),
            "wall_time_s": float(start.weights_meta.get("wall_time_s", 0.0)),
        }
        if not ckpt.is_file():
            model.load_state_dict(start.state_dict())
            log.info("initialised from weights %s", cfg.init)
    data_kw = {"config": cfg.batch_config()} if cfg.data else {}
    val_seed = VAL_SEED_OFFSET + cfg.seed if cfg.val_seed is None else int(cfg.val_seed)
    val_gen = torch.Generator(device=device).manual_seed(val_seed)
    val = [
        sample(
            min(8, cfg.n_val - i),
            cfg.T,
            cfg.val_size,
            val_gen,
            device,
            noise_only_fraction=cfg.noise_only_fraction,
        )
        for i in range(0, cfg.n_val, 8)
    ]

    def write(event: dict[str, Any]) -> None:
        logf.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **event}) + "\n")

    def checkpoint() -> None:
        _atomic_torch_save(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "generator": gen.get_state(),
                "config": cfg.to_dict(),
                **state,
            },
            ckpt,
        )

    write({"event": "start", "config": cfg.to_dict(), **state})
    bar = None
    if cfg.progress_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.steps, initial=state["step"], desc="train", unit="step")
    t_start = time.monotonic() - state["wall_s"]
    budget_s = cfg.max_minutes * 60.0 if cfg.max_minutes else None
    metrics: dict[str, float] = {}
    try:
        if state["step"] == 0:
            write({"event": "val", **evaluate(model, val, device), **state})
        while state["step"] < cfg.steps:
            elapsed = time.monotonic() - t_start
            if budget_s is not None and elapsed >= budget_s:
                write({"event": "budget", "reason": "max_minutes reached", **state})
                break
            progress = max(state["step"] / cfg.steps, elapsed / budget_s if budget_s else 0.0)
            for g in opt.param_groups:
                g["lr"] = cfg.lr * _lr_factor(progress, cfg.warmup_fraction)
            if cfg.arch == "series":
                lo, hi = (int(v) for v in cfg.dates)
                n_dates = int(torch.randint(lo, hi + 1, (1,), generator=gen, device=device))
            else:
                n_dates = cfg.T
            b = sample(
                cfg.batch_size,
                n_dates,
                cfg.patch,
                gen,
                device,
                noise_only_fraction=cfg.noise_only_fraction,
                **data_kw,
            )
            with autocast_context(device, use_amp):
                if cfg.arch == "series":
                    loss = series_loss(model, b, cfg)  # type: ignore[arg-type]
                else:
                    prep = model.prepare(b.windows, b.dem, b.mask)
                    pred = model.forward_normalised(prep).float()
                    target = b.truth.float() / prep.scale.view(-1, 1, 1, 1)
                    loss = masked_loss(pred, target, prep.valid, cfg.loss, cfg.huber_delta)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(opt)
            scaler.update()
            state["step"] += 1
            state["samples_seen"] += cfg.batch_size
            state["wall_s"] = time.monotonic() - t_start
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
            if state["step"] % cfg.log_every == 0:
                write(
                    {
                        "event": "step",
                        "loss": float(loss.detach()),
                        "lr": opt.param_groups[0]["lr"],
                        **state,
                    }
                )
            if state["step"] % cfg.val_every == 0:
                metrics = evaluate(model, val, device)
                write({"event": "val", **metrics, **state})
            if state["step"] % cfg.checkpoint_every == 0:
                checkpoint()
        checkpoint()
        metrics = evaluate(model, val, device)
        write({"event": "end", **metrics, **state})
        meta = {
            "samples_seen": state["samples_seen"],
            "steps": state["step"],
            "wall_time_s": round(state["wall_s"], 1),
            "hardware": _hardware(device),
            "torch": torch.__version__,
            "train_config": cfg.to_dict(),
            "validation": {k: round(v, 4) for k, v in metrics.items()},
            "validation_set": f"{cfg.n_val} samples of {cfg.val_size} px, seed {val_seed}",
        }
        if init_meta:
            meta["init"] = init_meta
            meta["samples_seen_total"] = init_meta["samples_seen"] + state["samples_seen"]
            meta["wall_time_s_total"] = round(init_meta["wall_time_s"] + state["wall_s"], 1)
        final = out / "model.safetensors"
        save_weights(model, final, meta=meta)
        return final
    finally:
        if bar is not None:
            bar.close()
        logf.close()


def export_checkpoint(
    run: str | os.PathLike[str], out: str | os.PathLike[str] | None = None
) -> Path:
    """Write ``model.safetensors`` (+ sidecar) from a run's ``checkpoint.pt`` (e.g. a run stopped
    before its end); meta records the steps/samples/wall time reached."""
    from insar_ae.model.weights import save_weights

    run = Path(run)
    saved = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
    cfg = TrainConfig.from_dict(saved["config"])
    model = build_model(cfg)
    model.load_state_dict(saved["model"])
    meta = {
        "samples_seen": saved["samples_seen"],
        "steps": saved["step"],
        "wall_time_s": round(saved["wall_s"], 1),
        "hardware": _hardware(torch.device("cpu")),
        "torch": torch.__version__,
        "train_config": saved["config"],
        "validation": {},
        "note": "exported from checkpoint",
    }
    path = Path(out) if out else run / "model.safetensors"
    save_weights(model, path, meta=meta)
    return path
