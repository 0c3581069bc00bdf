"""Gaussian random fields with a power-law spectrum by spectral synthesis (numpy or torch FFT).

Used for fractal topography, turbulent tropospheric delay, decorrelation blobs and unwrapping
patches. The field has an isotropic power spectrum ``P(k) ~ (k^2 + k0^2)^(-slope/2)`` (``k`` in
cycles per pixel, ``k0 = pixel / outer_scale``), zero mean and unit standard deviation over the
returned window. It is synthesised on a grid padded by ``pad`` (to weaken the FFT periodicity)
and cropped.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from insar_ae.synthetic._backend import Random

__all__ = ["amax", "amin", "fast_size", "mean", "power_law_field", "std"]


def fast_size(n: int) -> int:
    """Smallest integer >= n whose prime factors are 2 and 3 (fast FFT sizes)."""
    m = max(int(n), 1)
    while True:
        k = m
        for p in (2, 3):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 1


def mean(xp: Any, a: Any) -> Any:
    """Mean over the last two axes, keeping them."""
    return a.mean(axis=(-2, -1), keepdims=True) if xp is np else a.mean(dim=(-2, -1), keepdim=True)


def std(xp: Any, a: Any) -> Any:
    """Population standard deviation over the last two axes, keeping them."""
    if xp is np:
        return a.std(axis=(-2, -1), keepdims=True)
    return a.std(dim=(-2, -1), keepdim=True, correction=0)


def amin(xp: Any, a: Any) -> Any:
    """Minimum over the last two axes, keeping them."""
    return a.min(axis=(-2, -1), keepdims=True) if xp is np else a.amin(dim=(-2, -1), keepdim=True)


def amax(xp: Any, a: Any) -> Any:
    """Maximum over the last two axes, keeping them."""
    return a.max(axis=(-2, -1), keepdims=True) if xp is np else a.amax(dim=(-2, -1), keepdim=True)


def _freqs(rng: Random, ny: int, nx: int) -> tuple[Any, Any]:
    if rng.xp is np:
        return np.fft.fftfreq(ny)[:, None], np.fft.rfftfreq(nx)[None, :]
    fft = rng.xp.fft
    ky = fft.fftfreq(ny, device=rng.device, dtype=rng.dtype)[:, None]
    kx = fft.rfftfreq(nx, device=rng.device, dtype=rng.dtype)[None, :]
    return ky, kx


def power_law_field(
    rng: Random,
    batch: tuple[int, ...],
    ny: int,
    nx: int,
    slope: Any,
    *,
    k0: Any = 0.0,
    pad: float = 1.125,
    exact_std: bool = True,
    scale: Any = 1.0,
    white_std: Any = None,
) -> Any:
    """Zero-mean random fields ``(*batch, ny, nx)`` with standard deviation ``scale``.

    Parameters
    ----------
    rng
        Random source (numpy or torch backend).
    slope
        Spectral slope beta > 0 (power ~ k^-beta), scalar or broadcastable to
        ``(*batch, 1, 1)``. Kolmogorov turbulence: 11/3 below, 8/3 above the turbulent layer
        thickness; fractal topography about 3-4.
    k0
        Low-wavenumber roll-off, cycles per pixel (``pixel_m / outer_scale_m``), broadcastable.
    pad
        Padding factor of the synthesis grid (>= 1), against the FFT's periodicity.
    exact_std
        True: each field is rescaled to mean 0 and standard deviation ``scale`` exactly.
        False (faster): the spectrum is scaled so that the *expected* variance (over the
        synthesis grid) is ``scale**2``; each realisation keeps its natural scatter.
    scale
        Standard deviation, scalar or broadcastable to ``(*batch, 1, 1)``, >= 0.
    white_std
        Optional standard deviation of independent white noise added in the same spectrum
        (a sum of independent complex Gaussians is one complex Gaussian with the summed power,
        so this costs no extra draw or FFT). Only with ``exact_std=False``.

    Notes
    -----
    The spectrum is drawn directly as circular complex Gaussian noise times ``sqrt(P(k))`` and
    transformed once with an inverse real FFT. The expected variance ``sum P / N^2`` is evaluated
    on a radial histogram of the wavenumbers (256 log-spaced bins), which is cheap per field.
    """
    xp = rng.xp
    py, px = fast_size(math.ceil(ny * pad)), fast_size(math.ceil(nx * pad))
    ky, kx = _freqs(rng, py, px)
    k2 = ky * ky + kx * kx
    k2 = xp.where(k2 > 0, k2, math.inf)  # DC: amplitude exp(-inf) = 0
    lk_b, w_b = (rng.asarray(a) for a in _radial_bins(py, px))
    k0_zero = isinstance(k0, (int, float)) and k0 == 0.0
    big_l = xp.log(k2) if k0_zero else xp.log(k2 + k0 * k0)
    l_b = lk_b if k0_zero else xp.log(xp.exp(lk_b) + k0 * k0)
    neg_half_slope = -0.5 * (
        slope if xp is np or not isinstance(slope, (int, float)) else rng.asarray(slope)
    )
    total = (w_b * xp.exp(neg_half_slope * l_b)).sum(**_last_axis(xp))
    if exact_std:
        log_s = math.log(py * px) - 0.5 * xp.log(total)
    else:
        log_s = xp.log(rng.asarray(scale) + 0.0 * total) + math.log(py * px) - 0.5 * xp.log(total)
    amp = xp.exp(0.5 * neg_half_slope * big_l + log_s)
    if white_std is not None:
        # white power per bin so that sum(weights * power) / N^2 = white_std^2
        w_pow = rng.asarray(white_std) ** 2 * (float(py * px) ** 2 / float(w_b.sum()))
        amp = xp.sqrt(amp * amp + w_pow * (k2 < math.inf))
    spec = rng.complex_normal((*batch, py, px // 2 + 1)) * amp
    if xp is np:
        field = np.fft.irfft2(spec, s=(py, px))[..., :ny, :nx]
    else:
        field = xp.fft.irfft2(spec, s=(py, px))[..., :ny, :nx]
    if exact_std:
        field = field - mean(xp, field)
        sd = std(xp, field)
        field = field * (scale / xp.where(sd > 0, sd, 1.0))
    return field


def _last_axis(xp: Any) -> dict[str, Any]:
    return {"axis": -1, "keepdims": True} if xp is np else {"dim": -1, "keepdim": True}


@functools.lru_cache(maxsize=32)
def _radial_bins(py: int, px: int, n_bins: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Log-k^2 bin centres (1, B) and variance weights (1, B) of the rfft half spectrum."""
    ky = np.fft.fftfreq(py)[:, None]
    kx = np.fft.rfftfreq(px)[None, :]
    k2 = (ky * ky + kx * kx).ravel()
    # interior rfft columns stand for two conjugate bins; the DC and Nyquist columns are
    # symmetrised by the inverse real FFT (only their Hermitian part survives): half weight
    w = np.full((py, px // 2 + 1), 2.0)
    w[:, 0] = 0.5
    if px % 2 == 0:
        w[:, -1] = 0.5
    w = w.ravel()
    keep = k2 > 0
    lk, w = np.log(k2[keep]), w[keep]
    edges = np.linspace(lk.min(), lk.max() + 1e-9, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, lk, side="right") - 1, 0, n_bins - 1)
    wsum = np.bincount(idx, weights=w, minlength=n_bins)
    lmean = np.bincount(idx, weights=w * lk, minlength=n_bins) / np.where(wsum > 0, wsum, 1.0)
    used = wsum > 0
    return lmean[used][None, :], wsum[used][None, :]
