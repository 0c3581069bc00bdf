"""Array-namespace helpers so one implementation serves numpy (float64) and torch (any device).

The formulas in :mod:`okada`, :mod:`mogi`, :mod:`los`, :mod:`timefuncs`, :mod:`atmosphere`,
:mod:`topography` and :mod:`noise` are written against a namespace ``xp`` that is either the
``numpy`` or the ``torch`` module: both expose ``sqrt, log, exp, atan, atan2, sin, cos, where, abs,
isfinite, clip`` with the same meaning. Randomness goes through :class:`Random`, a thin adapter
over ``numpy.random.Generator`` or ``torch.Generator``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = ["Random", "as_like", "errstate", "is_torch", "namespace"]


def is_torch(a: Any) -> bool:
    """True when ``a`` is a ``torch.Tensor``."""
    return type(a).__module__.startswith("torch")


def namespace(*arrays: Any) -> Any:
    """``torch`` if any argument is a tensor, else ``numpy``."""
    for a in arrays:
        if is_torch(a):
            import torch

            return torch
    return np


def as_like(xp: Any, value: Any, like: Any) -> Any:
    """``value`` as an array of ``xp`` with the dtype/device of ``like`` (float64 for numpy)."""
    if xp is np:
        return np.asarray(value, dtype=np.result_type(np.asarray(like).dtype, np.float64))
    import torch

    if isinstance(value, torch.Tensor):
        return value.to(dtype=like.dtype, device=like.device)
    return torch.as_tensor(value, dtype=like.dtype, device=like.device)


@contextlib.contextmanager
def errstate(xp: Any) -> Iterator[None]:
    """Silence numpy floating-point warnings (singular points are handled explicitly)."""
    if xp is np:
        with np.errstate(all="ignore"):
            yield
    else:
        yield


class Random:
    """Uniform interface over ``numpy.random.Generator`` and ``torch.Generator``.

    Parameters
    ----------
    generator
        ``numpy.random.Generator`` (arrays are numpy float64) or ``torch.Generator`` / ``None``
        with ``xp=torch`` (tensors of ``dtype`` on ``device``; drawn on the generator's own device
        then moved, so a CPU generator gives identical numbers whatever ``device`` is).
    """

    def __init__(self, generator: Any, *, device: Any = "cpu", dtype: Any = None) -> None:
        self.gen = generator
        if isinstance(generator, np.random.Generator):
            self.xp = np
            self.device = None
            self.dtype = np.float64
        else:
            import torch

            self.xp = torch
            self.device = torch.device(device)
            self.dtype = dtype or torch.float32
            self._gen_device = generator.device if generator is not None else self.device

    def _move(self, t: Any) -> Any:
        return t if t.device == self.device else t.to(self.device)

    def normal(self, shape: Sequence[int]) -> Any:
        """Standard normal draws of ``shape``."""
        if self.xp is np:
            return self.gen.standard_normal(tuple(shape))
        return self._move(
            self.xp.randn(
                tuple(shape), generator=self.gen, device=self._gen_device, dtype=self.dtype
            )
        )

    def complex_normal(self, shape: Sequence[int]) -> Any:
        """Circular complex normal draws with ``E|z|^2 = 1``."""
        if self.xp is np:
            z = self.gen.standard_normal((*tuple(shape), 2))
            return (z[..., 0] + 1j * z[..., 1]) * np.sqrt(0.5)
        ctype = self.xp.complex128 if self.dtype == self.xp.float64 else self.xp.complex64
        return self._move(
            self.xp.randn(tuple(shape), generator=self.gen, device=self._gen_device, dtype=ctype)
        )

    def uniform(self, low: Any = 0.0, high: Any = 1.0, shape: Sequence[int] = ()) -> Any:
        """Uniform draws in ``[low, high)`` (``low``/``high`` broadcast against ``shape``)."""
        if self.xp is np:
            u = self.gen.random(tuple(shape))
        else:
            u = self._move(
                self.xp.rand(
                    tuple(shape), generator=self.gen, device=self._gen_device, dtype=self.dtype
                )
            )
        return low + (high - low) * u

    def log_uniform(self, low: float, high: float, shape: Sequence[int] = ()) -> Any:
        """Draws whose logarithm is uniform between ``log(low)`` and ``log(high)`` (both > 0)."""
        return self.xp.exp(self.uniform(float(np.log(low)), float(np.log(high)), shape))

    def choice(
        self, values: Sequence[float], shape: Sequence[int], p: Sequence[float] | None = None
    ) -> Any:
        """Random picks from ``values`` (probabilities ``p``) as a float array of ``shape``."""
        vals = np.asarray(values, dtype=float)
        probs = (
            np.full(len(vals), 1.0 / len(vals)) if p is None else np.asarray(p, float) / np.sum(p)
        )
        cdf = np.cumsum(probs)[:-1]
        u = self.uniform(0.0, 1.0, shape)
        if self.xp is np:
            return vals[np.searchsorted(cdf, u, side="right")]
        edges = self.xp.as_tensor(cdf, dtype=u.dtype, device=u.device)
        idx = self.xp.bucketize(u, edges, right=True)
        return self.xp.as_tensor(vals, dtype=u.dtype, device=u.device)[idx]

    def zeros(self, shape: Sequence[int]) -> Any:
        """Zeros of ``shape`` in this backend's dtype/device."""
        if self.xp is np:
            return np.zeros(tuple(shape))
        return self.xp.zeros(tuple(shape), dtype=self.dtype, device=self.device)

    def asarray(self, value: Any) -> Any:
        """``value`` as an array of this backend's dtype/device."""
        if self.xp is np:
            return np.asarray(value, dtype=np.float64)
        return self.xp.as_tensor(value, dtype=self.dtype, device=self.device)
