"""Device selection for inference and training: CUDA, then Apple MPS, then CPU."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from insar_ae.errors import ParameterError

__all__ = ["autocast_context", "available_devices", "cuda_count", "resolve_device"]


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


def cuda_count() -> int:
    """Visible CUDA GPUs (0 without CUDA)."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def resolve_device(
    device: str | torch.device = "auto", worker_index: int | None = None
) -> torch.device:
    """Turn ``"auto" | "cpu" | "cuda" | "cuda:1" | "mps"`` into a ``torch.device``.

    ``"auto"`` picks CUDA, then MPS, then CPU. With ``worker_index`` (a block task: the Dask
    worker's number, ``insar_ae.distributed.task.worker_index()``) ``"auto"`` gives each
    worker its own GPU, ``cuda:{worker_index % n_gpu}``, and the CPU where there is no CUDA
    (MPS is not shared between worker processes). Asking for a device that is not available
    raises :class:`~insar_ae.errors.ParameterError`.
    """
    if isinstance(device, torch.device):
        device = str(device)
    name = str(device).lower().strip()
    if name == "auto" and worker_index is not None:
        n_gpu = cuda_count()
        return torch.device(f"cuda:{int(worker_index) % n_gpu}" if n_gpu else "cpu")
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
