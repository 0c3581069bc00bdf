"""Device selection for inference and training: CUDA, then Apple MPS, then CPU."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from insar_ae.errors import ParameterError

__all__ = ["autocast_context", "available_devices", "resolve_device"]


def available_devices() -> list[str]:
    """Devices usable here, best first, e.g. ``["cuda", "cpu"]`` or ``["cpu"]``."""
    out: list[str] = []
    if torch.cuda.is_available():
        out.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    out.append("cpu")
    return out


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``"auto" | "cpu" | "cuda" | "cuda:1" | "mps"`` into a ``torch.device``.

    ``"auto"`` picks CUDA, then MPS, then CPU. Asking for a device that is not available raises
    :class:`~insar_ae.errors.ParameterError`.
    """
    if isinstance(device, torch.device):
        device = str(device)
    name = str(device).lower().strip()
    if name == "auto":
        return torch.device(available_devices()[0])
    kind = name.split(":")[0]
    if kind not in {"cpu", "cuda", "mps"}:
        raise ParameterError(f"device={device!r} is not one of 'auto', 'cpu', 'cuda[:N]', 'mps'")
    if kind != "cpu" and kind not in available_devices():
        raise ParameterError(
            f"device={device!r} requested but not available here; available: {available_devices()}"
        )
    return torch.device(name)


@contextlib.contextmanager
def autocast_context(device: torch.device, enabled: bool = True) -> Iterator[None]:
    """Mixed precision on GPU (bf16 where supported, else fp16); a no-op on CPU/MPS."""
    if enabled and device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        with torch.autocast("cuda", dtype=dtype):
            yield
    else:
        yield
