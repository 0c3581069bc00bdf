"""Small least-squares helpers shared by the offset and transient fits."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from insar_ae.errors import ParameterError

__all__ = [
    "batched_linear_rss",
    "clean_xy",
    "linear_fit",
    "moving_block_resample",
    "scatter_covariance",
]


def clean_xy(x: object, y: object, *, min_n: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Finite (x, y) pairs sorted by x, as float64; ``ParameterError`` if fewer than ``min_n``."""
    xa = np.asarray(x, dtype=float).ravel()
    ya = np.asarray(y, dtype=float).ravel()
    if xa.shape != ya.shape:
        raise ParameterError(
            f"{what}: distance and values must have the same length, got {xa.size} and {ya.size}"
        )
    ok = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[ok], ya[ok]
    if xa.size < min_n:
        raise ParameterError(f"{what}: needs at least {min_n} finite samples, got {xa.size}")
    o = np.argsort(xa, kind="stable")
    return xa[o], ya[o]


def linear_fit(A: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Least squares ``A beta ~ y``: (beta, unscaled covariance (A^T A)^-1, residual sum of squares)."""
    beta, *_ = np.linalg.lstsq(A, y, rcond=None)
    r = y - A @ beta
    cov = np.linalg.pinv(A.T @ A)
    return beta, cov, float(r @ r)


def scatter_covariance(J: np.ndarray, rss: float, n: int, p: int) -> np.ndarray:
    """Covariance ``s^2 (J^T J)^-1`` with ``s^2 = RSS / (n - p)`` (residual scatter).

    Parameters in (nearly) unresolved directions of ``J`` (relative eigenvalue of the
    column-equilibrated normal matrix below 1e-10) get an infinite variance, not the small
    value a pseudo-inverse would report.
    """
    dof = max(n - p, 1)
    norms = np.sqrt(np.sum(J * J, axis=0))
    norms = np.where(norms > 0, norms, 1.0)
    Js = J / norms
    w, V = np.linalg.eigh(Js.T @ Js)
    bad = w <= 1e-10 * max(float(w.max()), 1e-300)
    good = ~bad
    cov = (V[:, good] / w[good]) @ V[:, good].T
    cov = cov / np.outer(norms, norms) * (rss / dof)
    if bad.any():
        unresolved = np.any(np.abs(V[:, bad]) > 1e-6, axis=1)
        cov[unresolved, :] = np.nan
        cov[:, unresolved] = np.nan
        cov[unresolved, unresolved] = np.inf
    return cov


def batched_linear_rss(A: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RSS and coefficients of many linear fits at once: ``A`` (G, n, p), ``y`` (n,).

    Uses the normal equations (well conditioned here: few, centred and scaled columns).
    Singular systems get RSS = inf.
    """
    AtA = np.einsum("gni,gnj->gij", A, A)
    Aty = np.einsum("gni,n->gi", A, y)
    beta = np.full(Aty.shape, np.nan)
    rss = np.full(A.shape[0], np.inf)
    det_ok = np.abs(np.linalg.det(AtA)) > 1e-12 * np.prod(
        np.einsum("gii->gi", AtA) + 1e-300, axis=1
    )
    if det_ok.any():
        b = np.linalg.solve(AtA[det_ok], Aty[det_ok][..., None])[..., 0]
        beta[det_ok] = b
        r = y[None, :] - np.einsum("gnp,gp->gn", A[det_ok], b)
        rss[det_ok] = np.einsum("gn,gn->g", r, r)
    return rss, beta


def moving_block_resample(resid: np.ndarray, rng: np.random.Generator, block: int) -> np.ndarray:
    """A moving-block bootstrap resample of ``resid`` (``block=1``: plain residual bootstrap)."""
    n = resid.size
    b = int(min(max(block, 1), n))
    n_blocks = -(-n // b)
    starts = rng.integers(0, n - b + 1, size=n_blocks)
    idx = (starts[:, None] + np.arange(b)[None, :]).ravel()[:n]
    return resid[idx]


def bootstrap_sigmas(
    fitted: np.ndarray,
    resid: np.ndarray,
    refit: Callable[[np.ndarray], np.ndarray | None],
    *,
    n: int,
    seed: int | np.random.Generator | None,
    block: int,
) -> tuple[np.ndarray, int]:
    """Std of parameter vectors from ``refit(fitted + resampled residuals)`` over ``n`` draws.

    Returns (sigmas, number of successful refits). ``refit`` returns None when a draw fails.
    """
    if int(n) < 2:
        raise ParameterError(f"bootstrap must be 0 (off) or >= 2 draws, got {n}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    out = []
    for _ in range(int(n)):
        p = refit(fitted + moving_block_resample(resid, rng, block))
        if p is not None and np.all(np.isfinite(p)):
            out.append(p)
    if len(out) < 2:
        raise ParameterError(f"bootstrap: fewer than 2 of {n} refits succeeded")
    return np.std(np.asarray(out), axis=0, ddof=1), len(out)
