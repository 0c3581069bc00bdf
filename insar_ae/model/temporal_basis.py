"""Every date at once: per-pixel projection of a whole series onto a smooth temporal basis.

The series model does not cut the time series into windows. For each pixel, the displacement
of all N dates is projected (least squares over that pixel's valid dates) onto an orthonormal
polynomial basis ``Q`` (N x (K + 1)) of the acquisition times:

    d(t, x) ~ sum_k c_k(x) Q[t, k],     Q[:, 0] constant, Q[:, 1:] orthogonal to it.

Why this is the right first step (docs/model.md, "series model"):

- The constant coefficient holds the first date's delay (which sits, negated, in every date
  referenced to it) plus the temporal mean of the deformation; it is dropped, i.e. every pixel
  is referenced to its temporal mean. The deformation is put back relative to the first date by
  the reconstruction ``sum_{k>=1} c_k(x) (Q[t, k] - Q[0, k])``, exactly 0 at the first date.
- Atmosphere is nearly independent from one acquisition to the next: because ``Q`` is
  orthonormal, each coefficient map carries atmosphere with the statistics of *one* date,
  while deformation (coherent in time) adds up over all N dates (~ sqrt(N) more signal).
- It runs on any number of dates (N >= 2; K is reduced to N - 1 for very short series), any
  sampling (irregular, gaps), and per-date no-data (each pixel is solved on its own valid
  dates).
- ``resid_rms`` (the per-pixel RMS of what the basis does not explain) is the local
  atmospheric level: the network receives it as a channel and the model's scale is its median.

Units: whatever the series is in (mm for the model); ``days`` in days from any origin.
Everything is torch (batch first) so the same code trains and infers on any device.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from insar_ae.errors import ParameterError

__all__ = [
    "Projection",
    "date_weights",
    "legendre_basis",
    "project",
    "reconstruct",
    "reference_rows",
]

#: Per-pixel normal equations are regularised by this (relative to a unit-norm basis column),
#: so coefficients that a pixel's valid dates cannot constrain come out ~0 instead of huge.
_RIDGE = 1e-3


class Projection(NamedTuple):
    """Coefficient maps of a batch of series."""

    coef: torch.Tensor  # (B, K, H, W), k = 1..K (the constant term is dropped)
    resid_rms: torch.Tensor  # (B, H, W) RMS over valid dates of d - fit (same units as d)
    n_valid: torch.Tensor  # (B, H, W) number of valid dates


def legendre_basis(days: torch.Tensor, degree: int) -> torch.Tensor:
    """Orthonormal polynomial basis over the acquisition times, ``(B, N, degree + 1)``.

    ``days`` is ``(B, N)`` or ``(N,)`` (strictly increasing per row). Legendre polynomials of
    the times mapped to [-1, 1] are orthonormalised over the N sample times (QR, float64),
    column 0 constant, columns 1.. orthogonal to it and to each other, each of unit norm. Where
    N <= degree, the columns beyond N - 1 are zero (a shorter series carries fewer terms).
    """
    if days.ndim == 1:
        days = days.unsqueeze(0)
    if days.ndim != 2:
        raise ParameterError(f"days must have shape (B, N) or (N,), got {tuple(days.shape)}")
    degree = int(degree)
    if degree < 1:
        raise ParameterError(f"degree={degree} must be >= 1")
    b, n = days.shape
    if n < 2:
        raise ParameterError("a series needs at least 2 dates")
    t = days.to(torch.float64)
    span = (t[:, -1:] - t[:, :1]).clamp_min(1e-9)
    u = 2.0 * (t - t[:, :1]) / span - 1.0
    cols = [torch.ones_like(u), u]
    for k in range(1, degree):  # Bonnet's recursion: (k+1) P_{k+1} = (2k+1) u P_k - k P_{k-1}
        cols.append(((2 * k + 1) * u * cols[k] - k * cols[k - 1]) / (k + 1))
    v = torch.stack(cols[: degree + 1], dim=-1)  # (B, N, degree+1)
    m = min(degree + 1, n)
    q, r = torch.linalg.qr(v[..., :m])
    sign = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
    q = q * torch.where(sign == 0, 1.0, sign).unsqueeze(-2)  # deterministic orientation
    out = torch.zeros((b, n, degree + 1), dtype=torch.float64, device=days.device)
    out[..., :m] = q
    return out


def project(
    series: torch.Tensor,
    valid: torch.Tensor,
    basis: torch.Tensor,
    date_weight: torch.Tensor | None = None,
) -> Projection:
    """Least-squares coefficients of every pixel's series on ``basis``.

    ``series`` (B, N, H, W) (any finite values where ``valid`` is False), ``valid`` (B, N, H, W)
    bool, ``basis`` (B, N, K + 1) from :func:`legendre_basis`. ``date_weight`` (B, N), optional:
    weighted least squares with these per-date weights (inverse atmospheric variance, see
    :func:`date_weights`; normalised to mean 1 here), so that one date with a strong delay
    does not leak into every coefficient. Without weights, pixels valid on every date use the
    orthonormal projection directly; otherwise pixels solve their own (ridge-regularised)
    normal equations (one shared system per batch item for pixels valid on every date);
    pixels with no valid date get 0. ``resid_rms`` is the weighted RMS of the residual.
    """
    coef, _, resid, n_valid = _fit(series, valid, basis, date_weight)
    return Projection(coef[:, 1:].contiguous(), resid, n_valid)


def _fit(
    series: torch.Tensor, valid: torch.Tensor, basis: torch.Tensor, date_weight: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`project`'s solve: all coefficients (B, K + 1, H, W) with the constant, the fitted
    series, the residual RMS and the number of valid dates."""
    dt = series.dtype if series.dtype in (torch.float32, torch.float64) else torch.float32
    q = basis.to(dt)
    d = torch.where(valid, series.to(dt), torch.zeros((), dtype=dt, device=series.device))
    n_valid = valid.to(dt).sum(1)
    if date_weight is not None:
        dw = date_weight.to(torch.float64)
        dw = dw / dw.mean(1, keepdim=True).clamp_min(1e-12)
        w = valid.to(dt) * dw.to(dt)[:, :, None, None]
        rhs = torch.einsum("bnk,bnhw->bkhw", q, d * w)
        gram = torch.einsum("bnk,bn,bnl->bkl", basis.to(torch.float64), dw, basis.to(torch.float64))
        solved = torch.einsum(
            "bkl,blhw->bkhw", torch.linalg.pinv(gram).to(dt), rhs
        )  # shared system
    else:
        w = valid.to(dt)
        rhs = torch.einsum("bnk,bnhw->bkhw", q, d)
        solved = rhs
    full = valid.all(1)
    partial = (n_valid > 0) & ~full
    coef = torch.where(full.unsqueeze(1), solved, torch.zeros((), dtype=dt, device=series.device))
    if bool(partial.any()):
        bi, yi, xi = torch.nonzero(partial, as_tuple=True)
        wp = w.permute(0, 2, 3, 1)[bi, yi, xi].to(torch.float64)  # (P, N)
        qp = basis[bi].to(torch.float64)  # (P, N, K+1)
        gram = torch.einsum("pnk,pn,pnl->pkl", qp, wp, qp)
        gram = gram + _RIDGE * torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device)
        sol = torch.linalg.solve(gram, rhs.permute(0, 2, 3, 1)[bi, yi, xi].to(torch.float64))
        coef = coef.permute(0, 2, 3, 1).clone()
        coef[bi, yi, xi] = sol.to(dt)
        coef = coef.permute(0, 3, 1, 2)
    fit = torch.einsum("bnk,bkhw->bnhw", q, coef)
    sq = ((d - fit) ** 2 * w).sum(1)
    k_eff = (basis.abs().sum(1) > 0).sum(-1).to(dt).view(-1, 1, 1)
    dof = (w.sum(1) * (1.0 - k_eff / n_valid.clamp_min(1.0))).clamp_min(1.0)
    resid = torch.sqrt(sq / dof)
    return coef, fit, resid, n_valid


def date_weights(
    series: torch.Tensor,
    valid: torch.Tensor,
    basis: torch.Tensor,
    floor: float = 0.5,
    max_ratio: float = 25.0,
    iterations: int = 3,
    stride: int = 4,
) -> torch.Tensor:
    """Per-date weights ``1 / sigma_t**2`` (B, N) for :func:`project`, mean 1.

    ``sigma_t`` is the strength of date t's atmosphere over the tile: the robust spatial spread
    (1.4826 x median absolute deviation about the spatial median) of the leave-one-out
    residual ``r_t / (1 - h_tt)`` (``h`` the hat matrix of the weighted fit, so that what date t
    alone pulls into the fit is counted), in the units of ``series`` (``floor`` keeps it away
    from 0). The first date's own delay is seen too: it is minus the value every later date
    shares. Iterated (reweighted least squares) ``iterations`` times from equal weights;
    weights are clipped to ``max_ratio`` times the smallest. Every ``stride``-th pixel in y and
    x is used (each pixel's fit is its own, so this only thins the spatial statistic).
    """
    series, valid = series[..., ::stride, ::stride], valid[..., ::stride, ::stride]
    b, n = series.shape[:2]
    dt = series.dtype if series.dtype in (torch.float32, torch.float64) else torch.float32
    d = torch.where(valid, series.to(dt), torch.zeros((), dtype=dt, device=series.device))
    nan = torch.full((), float("nan"), dtype=dt, device=series.device)
    q = basis.to(torch.float64)
    wgt = torch.ones((b, n), dtype=torch.float64, device=series.device)
    for _ in range(int(iterations)):
        _, fit, _, _ = _fit(d, valid, basis, wgt)
        gram = torch.einsum("bnk,bn,bnl->bkl", q, wgt, q)
        lev = wgt * torch.einsum("bnk,bkl,bnl->bn", q, torch.linalg.pinv(gram), q)
        loo = (d - fit) / (1.0 - lev).clamp_min(0.05).to(dt)[:, :, None, None]
        flat = torch.where(valid, loo, nan).reshape(b, n, -1)
        med = torch.nanmedian(flat, dim=2, keepdim=True).values
        mad = torch.nanmedian((flat - med).abs(), dim=2).values
        sigma = torch.nan_to_num(1.4826 * mad, nan=float("inf")).clamp_min(floor).to(torch.float64)
        wgt = 1.0 / sigma**2
        wgt = torch.maximum(wgt, wgt.max(1, keepdim=True).values / max_ratio)
        wgt = wgt / wgt.mean(1, keepdim=True)
    return wgt


def reference_rows(basis: torch.Tensor) -> torch.Tensor:
    """``Q[t, k] - Q[0, k]`` for k >= 1, (B, N, K): maps coefficients to a series that is
    exactly 0 at the first date."""
    q = basis[..., 1:]
    return q - q[:, :1]


def reconstruct(coef: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Series (B, N, H, W) relative to the first date from coefficient maps (B, K, H, W)."""
    rows = reference_rows(basis).to(coef.dtype)
    return torch.einsum("bnk,bkhw->bnhw", rows, coef)
