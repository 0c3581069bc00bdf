"""``sample_batch``: randomised training windows generated on the fly, fully in torch.

Everything (Okada and Mogi sources, FFT turbulence, DEM, noise) runs on the requested device,
batch dimension first, from a ``torch.Generator`` (same seed -> identical batch). Breadth over
realism: geometry, time functions, amplitudes and every noise term are drawn from wide ranges
so that a model trained on them generalises to other simulators and to real data.
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import torch

from insar_ae._config import Config, meta
from insar_ae.errors import ParameterError
from insar_ae.synthetic._backend import Random
from insar_ae.synthetic._checks import check_range
from insar_ae.synthetic.atmosphere import stratified_basis, turbulent_delay
from insar_ae.synthetic.los import los_vector_core
from insar_ae.synthetic.mogi import mogi_core
from insar_ae.synthetic.noise import (
    decorrelation_mask,
    ramp_basis,
    ramp_coefficients,
    unwrapping_errors,
)
from insar_ae.synthetic.okada import fault_displacement_core
from insar_ae.synthetic.timefuncs import acquisition_offsets, seasonal, smooth_transient
from insar_ae.synthetic.topography import fractal_dem_core

__all__ = ["DEFAULT_BATCH_CONFIG", "Batch", "BatchConfig", "sample_batch"]


class Batch(NamedTuple):
    """A training batch (all tensors on the requested device).

    windows : (n, T, size, size) mm, LOS toward the satellite, relative to the first frame,
              NaN where ``mask`` is False.
    dem     : (n, size, size) metres.
    truth   : (n, T, size, size) mm, deformation only, relative to the first frame, finite.
    mask    : (n, size, size) bool, True = valid.
    days    : (n, T) acquisition times, days from the first date (irregular, with gaps).
    """

    windows: torch.Tensor
    dem: torch.Tensor
    truth: torch.Tensor
    mask: torch.Tensor
    days: torch.Tensor | None = None


def _range(
    default: tuple[float, float], help: str, units: str = "", *, log: bool = True, **bounds: Any
) -> Any:
    """A (lo, hi) range field (lo <= hi); log-uniform draws need lo > 0."""
    scale = "log-uniform" if log else "uniform"
    if log:
        bounds = {"gt": 0.0, **bounds}
    md = meta(f"{help}, {scale}", units=units, ordered=True, scale=scale, **bounds)
    return field(default=default, metadata=md)


@dataclass(frozen=True)
class BatchConfig(Config):
    """Ranges of the random draws (documented in docs/synthetic.md); frozen, validated on
    creation (each field's bounds in its metadata), dict / YAML round trips as
    :class:`insar_ae.model.DenoiseOptions`. A range is a pair (lo, hi) with lo <= hi."""

    _label: ClassVar[str] = "BatchConfig field"

    pixel_m: tuple[float, float] = _range((60.0, 250.0), "pixel size", "m")
    relief_m: tuple[float, float] = _range((10.0, 4000.0), "DEM relief", "m")
    amplitude_mm: tuple[float, float] = _range((0.3, 60.0), "peak |LOS| per source", "mm")
    turb_rms_mm: tuple[float, float] = _range(
        (0.3, 20.0), "per-sample turbulence level (RMS)", "mm"
    )
    turb_slope: tuple[float, float] = _range(
        (1.8, 4.0), "spectral slope of the turbulence, per date", log=False
    )
    outer_scale_km: tuple[float, float] = _range(
        (5.0, 100.0), "outer scale of the turbulence", "km"
    )
    strat_mm_per_km: tuple[float, float] = _range(
        (0.1, 15.0), "per-sample std of the stratified coefficient K1", "mm/km"
    )
    ramp_mm: tuple[float, float] = _range((0.05, 10.0), "orbital ramp amplitude", "mm")
    pixel_noise_mm: tuple[float, float] = _range((0.05, 3.0), "pixel noise std", "mm")
    hole_fraction: tuple[float, float] = _range(
        (0.0, 0.3), "share of the window in holes", log=False, min=0.0, max=1.0
    )
    scatter_fraction: tuple[float, float] = _range(
        (0.0, 0.03), "share of scattered invalid pixels", log=False, min=0.0, max=1.0
    )
    p_unwrapping: float = field(
        default=0.1, metadata=meta("share of samples with unwrapping errors", min=0.0, max=1.0)
    )
    turb_pad: float = field(
        default=1.0, metadata=meta("FFT padding factor of the turbulence (1 = periodic)", min=1.0)
    )
    p_fault: tuple[float, float] = field(
        default=(0.75, 0.25),
        metadata=meta("probabilities of the first and second fault slots", min=0.0, max=1.0),
    )
    p_mogi: float = field(
        default=0.35, metadata=meta("probability of the Mogi source", min=0.0, max=1.0)
    )

    def __post_init__(self) -> None:
        self._check_fields()


#: The default ranges (one shared frozen instance: ``sample_batch`` builds none per call).
DEFAULT_BATCH_CONFIG = BatchConfig()


def _sources_time(r: Random, t: torch.Tensor, seasonal_ok: bool) -> torch.Tensor:
    """Normalised time functions (M, T): 0 at the first frame, max |f| = 1 (or all 0)."""
    m, n_t = t.shape
    span = t[:, -1:].clamp_min(1.0)
    kind = r.uniform(0.0, 1.0, (m, 1))
    lin = t / span
    onset = r.uniform(-0.3, 1.0, (m, 1)) * span
    dur = r.log_uniform(6.0, 240.0, (m, 1))
    trans = smooth_transient(t, onset, dur, 1.0)
    idx = torch.floor(r.uniform(1.0, float(n_t), (m, 1))).clamp(1, n_t - 1).long()
    stp = (t >= torch.gather(t, 1, idx)).to(t.dtype)
    seas = seasonal(t, 1.0, r.uniform(0.0, 365.25, (m, 1)))
    mix = r.uniform(0.1, 1.0, (m, 1)) * torch.sign(r.normal((m, 1)))
    # [0, .3) creep, [.3, .55) transient, [.55, .7) step, [.7, .85) creep + transient,
    # [.85, 1) creep + seasonal (reservoirs) or creep + step (faults)
    w_lin = ((kind < 0.3) | (kind >= 0.7)) * 1.0
    w_tr = ((kind >= 0.3) & (kind < 0.55)) * 1.0 + ((kind >= 0.7) & (kind < 0.85)) * mix
    w_st = ((kind >= 0.55) & (kind < 0.7)) * 1.0
    w_last = (kind >= 0.85) * mix
    if seasonal_ok:
        w_se = w_last
    else:
        w_se, w_st = 0.0 * w_last, w_st + w_last
    f = w_lin * lin + w_tr * trans + w_st * stp + w_se * seas
    f = f - f[:, :1]
    peak = f.abs().amax(dim=1, keepdim=True)
    return torch.where(peak > 1e-6, f / peak.clamp_min(1e-6), torch.zeros_like(f))


def _normalised(los: torch.Tensor) -> torch.Tensor:
    peak = los.abs().amax(dim=(-2, -1), keepdim=True)
    return torch.where(peak > 0, los / peak.clamp_min(1e-30), torch.zeros_like(los))


_COMPILE_FAILED: list[str] = []


def _faults(compiled: bool, *args: Any) -> tuple[Any, Any, Any]:
    """Okada for the active faults; the compiled kernel falls back to eager if it cannot build."""
    if compiled and not _COMPILE_FAILED:
        try:
            return _compiled_fault()(*args)
        except Exception as exc:
            _COMPILE_FAILED.append(repr(exc))
            warnings.warn(
                f"torch.compile of the Okada kernel failed ({exc!r}); using eager "
                "torch (slower, same results)",
                RuntimeWarning,
                stacklevel=3,
            )
    return fault_displacement_core(*args)


@functools.lru_cache(maxsize=1)
def _compiled_fault() -> Any:
    """``torch.compile``d Okada (fuses ~400 element-wise operations; ~15x faster on CPU)."""
    return torch.compile(functools.partial(fault_displacement_core, branches="both"), dynamic=True)


def _deformation(
    r: Random,
    cfg: BatchConfig,
    n: int,
    size: int,
    t: torch.Tensor,
    px: torch.Tensor,
    noise_only: torch.Tensor,
    compiled: bool,
) -> torch.Tensor:
    """(n, T, size, size) mm LOS deformation relative to the first frame."""
    dev, dt = r.device, r.dtype
    n_t = t.shape[1]
    half = 0.5 * size * px  # (n,1,1) half extent, m
    coords = torch.arange(size, device=dev, dtype=dt) - 0.5 * (size - 1)
    heading = torch.where(r.uniform(0.0, 1.0, (n, 1, 1)) < 0.5, -12.0, -168.0) + r.uniform(
        -4.0, 4.0, (n, 1, 1)
    )
    incidence = r.uniform(29.0, 46.0, (n, 1, 1))
    los_e, los_n, los_u = los_vector_core(heading, incidence)
    u = r.uniform(0.0, 1.0, (3, n))
    active = torch.stack([u[0] < cfg.p_fault[0], u[1] < cfg.p_fault[1], u[2] < cfg.p_mogi], 1)
    active[:, 0] |= ~active.any(1)
    active &= ~noise_only[:, None]
    # every draw is made for all (sample, slot) pairs: the stream does not depend on activity
    k = 3
    ce = r.uniform(-0.8, 0.8, (k, n, 1, 1)) * half
    cn = r.uniform(-0.8, 0.8, (k, n, 1, 1)) * half
    amp = r.log_uniform(*cfg.amplitude_mm, (k, n, 1, 1)) * torch.sign(r.normal((k, n, 1, 1)))
    strike = r.uniform(0.0, 360.0, (k, n, 1, 1))
    dip = torch.where(
        r.uniform(0.0, 1.0, (k, n, 1, 1)) < 0.3, 90.0, r.uniform(5.0, 89.0, (k, n, 1, 1))
    )  # float32-safe: see okada._eps_cos
    top = torch.where(
        r.uniform(0.0, 1.0, (k, n, 1, 1)) < 0.4, 0.0, r.log_uniform(100.0, 15000.0, (k, n, 1, 1))
    )
    length = r.log_uniform(1000.0, 100000.0, (k, n, 1, 1))
    width = r.log_uniform(500.0, 25000.0, (k, n, 1, 1))
    rake = r.uniform(-180.0, 180.0, (k, n, 1, 1))
    slip = (r.uniform(0.0, 1.0, (k, n, 1, 1)) >= 0.1).to(dt)  # 10 % tensile (opening) faults
    depth = r.log_uniform(500.0, 12000.0, (k, n, 1, 1))
    f = torch.stack([_sources_time(r, t, seasonal_ok=(slot == 2)) for slot in range(k)])
    out = torch.zeros((n, n_t, size, size), device=dev, dtype=dt)
    vertical = (dip == 90.0)[..., 0, 0].T  # (n, k)
    # vertical and dipping faults apart: each Okada call then needs one set of I-terms only
    groups = {
        "vertical fault": active & vertical,
        "dipping fault": active & ~vertical,
        "mogi": active.clone(),
    }
    groups["vertical fault"][:, 2] = False
    groups["dipping fault"][:, 2] = False
    groups["mogi"][:, :2] = False
    for kind, sel in groups.items():
        slot, idx = torch.nonzero(sel.T, as_tuple=True)
        if idx.numel() == 0:
            continue
        grid_e = coords[None, None, :] * px[idx]
        grid_n = -coords[None, :, None] * px[idx]
        if kind != "mogi":
            ue, un, uu = _faults(
                compiled,
                grid_e,
                grid_n,
                ce[slot, idx],
                cn[slot, idx],
                strike[slot, idx],
                dip[slot, idx],
                top[slot, idx],
                length[slot, idx],
                width[slot, idx],
                rake[slot, idx],
                slip[slot, idx],
                1.0 - slip[slot, idx],
            )
        else:
            ue, un, uu = mogi_core(
                grid_e, grid_n, ce[slot, idx], cn[slot, idx], depth[slot, idx], 1.0
            )
        los = _normalised(ue * los_e[idx] + un * los_n[idx] + uu * los_u[idx])
        contrib = (amp[slot, idx] * los)[:, None] * f[slot, idx][:, :, None, None]
        out.index_add_(0, idx, contrib)
    return out


def _noise(
    r: Random, cfg: BatchConfig, n: int, T: int, size: int, px: torch.Tensor, dem: torch.Tensor
) -> torch.Tensor:
    """(n, T, size, size) mm: turbulence + stratified + ramps + pixel noise (+ unwrapping),
    each drawn per acquisition, relative to the first frame."""
    level = r.log_uniform(*cfg.turb_rms_mm, (n, 1, 1, 1))
    rms = level * r.uniform(0.2, 1.2, (n, T, 1, 1))
    slope = r.uniform(*cfg.turb_slope, (n, T, 1, 1))
    k0 = (px / (1000.0 * r.log_uniform(*cfg.outer_scale_km, (n, 1, 1))))[:, None]
    sigma = r.log_uniform(*cfg.pixel_noise_mm, (n, 1, 1, 1))
    # turbulence and pixel noise in one spectrum (one draw, one inverse FFT)
    noise = turbulent_delay(
        r,
        (n, T),
        size,
        size,
        rms_mm=rms,
        slope=slope,
        k0=k0,
        exact_std=False,
        pad=cfg.turb_pad,
        white_mm=sigma,
    ).contiguous()
    # ramps and stratified delay: one batched product of coefficients (n, T, 8) and bases
    ramp = ramp_coefficients(
        r,
        (n, T),
        amp_mm=r.log_uniform(*cfg.ramp_mm, (n, 1, 1)),
        quad_fraction=r.uniform(0.0, 0.6, (n, 1, 1)),
    )
    s_lin = r.log_uniform(*cfg.strat_mm_per_km, (n, 1, 1))
    k1 = s_lin * r.normal((n, T, 1))
    k2 = s_lin * r.uniform(0.0, 0.5, (n, 1, 1)) * r.normal((n, T, 1))
    coef = torch.cat([ramp, k1, k2], -1)
    basis = torch.cat(
        [ramp_basis(r, size, size).expand(n, 6, size, size), stratified_basis(dem)], 1
    ).reshape(n, 8, size * size)
    flat = noise.view(n, T, size * size)
    flat.baddbmm_(coef, basis)
    unw = torch.nonzero(r.uniform(0.0, 1.0, (n,)) < cfg.p_unwrapping).flatten()
    if unw.numel():
        m = int(unw.numel())
        noise[unw] += unwrapping_errors(
            r, (m,), T, size, size, patch_fraction=r.uniform(0.005, 0.08, (m, 1, 1)), p_date=0.25
        )
    return noise.sub_(noise[:, :1].clone())


def sample_batch(
    n: int,
    T: int = 9,
    size: int = 128,
    generator: torch.Generator | None = None,
    device: Any = "cpu",
    *,
    noise_only_fraction: float = 0.2,
    dtype: torch.dtype = torch.float32,
    config: BatchConfig | None = None,
    compile: bool | None = None,
) -> Batch:
    """Draw ``n`` random training windows of ``T`` dates and ``size x size`` pixels.

    Parameters
    ----------
    n, T, size
        Batch size, dates per window (>= 2) and window side in pixels (>= 8).
    generator
        ``torch.Generator`` for determinism (same seed -> identical batch). Numbers are drawn on
        the generator's device and moved to ``device``; pass a generator on ``device`` for speed.
    device
        Where the tensors are made ("cpu", "cuda", ...).
    noise_only_fraction
        Expected share of samples without any deformation, [0, 1].
    dtype
        Floating dtype of the float tensors.
    config
        Ranges of the random draws (:class:`BatchConfig`).
    compile
        Use a ``torch.compile``d Okada kernel (one-off compilation of ~40 s, then ~15x faster
        sources; same numbers up to float rounding). ``None``: on when the environment variable
        ``INSAR_AE_COMPILE=1``.
    """
    check_range("n", n, 1)
    check_range("T", T, 2)
    check_range("size", size, 8)
    check_range("noise_only_fraction", noise_only_fraction, 0.0, 1.0)
    cfg = DEFAULT_BATCH_CONFIG if config is None else config
    if not isinstance(cfg, BatchConfig):
        raise ParameterError(f"config must be a BatchConfig (or None), got {type(cfg).__name__}")
    r = Random(generator, device=device, dtype=dtype)
    n, T, size = int(n), int(T), int(size)
    px = r.log_uniform(*cfg.pixel_m, (n, 1, 1))
    t = acquisition_offsets(
        r, (n,), T, cadences_days=(6.0, 12.0, 24.0), p_cadence=(0.3, 0.5, 0.2), p_missing=0.15
    )
    noise_only = r.uniform(0.0, 1.0, (n,)) < noise_only_fraction

    relief = r.log_uniform(*cfg.relief_m, (n, 1, 1))
    dem = fractal_dem_core(
        r,
        (n,),
        size,
        size,
        relief,
        base_m=r.uniform(0.0, 2000.0, (n, 1, 1)),
        slope=r.uniform(2.8, 4.2, (n, 1, 1)),
        peakiness=r.uniform(0.0, 1.0, (n, 1, 1)),
    )
    if compile is None:
        compile = os.environ.get("INSAR_AE_COMPILE", "") == "1"
    truth = _deformation(r, cfg, n, size, t, px, noise_only, bool(compile))

    noise = _noise(r, cfg, n, T, size, px, dem)
    mask = decorrelation_mask(
        r,
        (n,),
        size,
        size,
        hole_fraction=r.uniform(*cfg.hole_fraction, (n, 1, 1)) * (r.uniform(0, 1, (n, 1, 1)) < 0.8),
        scatter_fraction=r.uniform(*cfg.scatter_fraction, (n, 1, 1)),
    )
    windows = noise.add_(truth).masked_fill_(~mask[:, None], math.nan)
    return Batch(windows=windows, dem=dem, truth=truth, mask=mask, days=t)
