"""Shipped-weights registry, SHA-256 verification and ``load_model``.

The registry is ``insar_ae/weights/registry.json``: ``{name: {"file", "sha256", "config",
"meta"}}`` where ``config`` holds the architecture kwargs (see ``Denoiser.config``) and ``meta``
the provenance (training samples seen, hardware, wall time, validation metrics). A weights
file outside the registry is loaded from a path with its sidecar ``<file>.json`` (same keys),
as written by :func:`save_weights`. Every load hashes the file first and raises
:class:`~insar_ae.errors.WeightsError` on any mismatch. Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from insar_ae import atomic
from insar_ae.errors import WeightsError
from insar_ae.model.denoisers import Denoiser, SeriesDenoiser

__all__ = [
    "WEIGHTS_DIR",
    "load_model",
    "publish_weights",
    "read_registry",
    "save_weights",
    "sha256_file",
]

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
REGISTRY_FILE = "registry.json"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Full hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _replace_bytes(path: Path, data: bytes) -> None:
    """Create ``path``'s folder if needed and (re)write ``path`` through :mod:`insar_ae.atomic`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(path, data, overwrite=True)


def save_weights(
    model: Denoiser, path: str | os.PathLike[str], *, meta: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Write ``model`` as safetensors plus a sidecar ``<path>.json`` (sha256, config, meta).

    Both writes are atomic. Returns the sidecar entry.
    """
    from safetensors.torch import save

    path = Path(path)
    config = model.config()
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    blob = save(tensors, metadata={"config": json.dumps(config)})
    _replace_bytes(path, blob)
    entry = {
        "file": path.name,
        "sha256": hashlib.sha256(blob).hexdigest(),
        "config": config,
        "meta": dict(meta or {}),
    }
    _replace_bytes(_sidecar(path), json.dumps(entry, indent=2).encode())
    return entry


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def read_registry(weights_dir: str | os.PathLike[str] | None = None) -> dict[str, dict[str, Any]]:
    """The registry of named weights (``{}`` when none is shipped)."""
    reg = Path(weights_dir or WEIGHTS_DIR) / REGISTRY_FILE
    if not reg.is_file():
        return {}
    try:
        data = json.loads(reg.read_text())
    except json.JSONDecodeError as exc:
        raise WeightsError(f"weights registry {reg} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise WeightsError(
            f"weights registry {reg} must be a JSON object, got {type(data).__name__}"
        )
    return data


def publish_weights(
    src: str | os.PathLike[str],
    name: str = "default",
    *,
    weights_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Copy a trained weights file (with its sidecar) into the registry under ``name``."""
    src = Path(src)
    entry = _read_sidecar(src)
    _verify(src, entry["sha256"])
    wdir = Path(weights_dir or WEIGHTS_DIR)
    dst = wdir / f"{name}.safetensors"
    _replace_bytes(dst, src.read_bytes())
    reg = read_registry(wdir)
    reg[name] = {**entry, "file": dst.name}
    _replace_bytes(wdir / REGISTRY_FILE, (json.dumps(reg, indent=2) + "\n").encode())
    return dst


def _read_sidecar(path: Path) -> dict[str, Any]:
    side = _sidecar(path)
    if not side.is_file():
        raise WeightsError(
            f"weights file {path} has no sidecar {side.name} (sha256 + config); "
            "write weights with insar_ae.model.weights.save_weights"
        )
    try:
        entry = json.loads(side.read_text())
        entry["sha256"], entry["config"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise WeightsError(f"sidecar {side} is corrupt or lacks 'sha256'/'config': {exc}") from exc
    return entry


def _verify(path: Path, expected: str) -> bytes:
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    blob = path.read_bytes()
    got = hashlib.sha256(blob).hexdigest()
    if got != str(expected).lower():
        raise WeightsError(
            f"weights file {path} failed its SHA-256 check: expected {expected}, got {got} "
            "(file corrupt or tampered with); reinstall insar_ae or re-download the weights"
        )
    return blob


def resolve_entry(
    name: str | os.PathLike[str] = "default", *, weights_dir: str | os.PathLike[str] | None = None
) -> tuple[Path, dict[str, Any]]:
    """``(file, entry)`` for a registry name or a path to a ``.safetensors`` file.

    Registry names win: a file in the current folder named like a model is never picked up.
    A path must look like one (a ``Path``, a ``/`` or ``os.sep`` in it, or a ``.safetensors``
    suffix), e.g. ``./default.safetensors``.
    """
    s = os.fspath(name)
    wdir = Path(weights_dir or WEIGHTS_DIR)
    reg = read_registry(wdir)
    looks_like_path = (
        isinstance(name, os.PathLike) or s.endswith(".safetensors") or "/" in s or os.sep in s
    )
    if s in reg and not isinstance(name, os.PathLike):
        return wdir / reg[s]["file"], reg[s]
    if looks_like_path:
        path = Path(s)
        if not path.is_file():
            raise WeightsError(f"weights file {path} does not exist")
        return path, _read_sidecar(path)
    hint = f"; to load the file {s!r}, give it as a path (./{s})" if Path(s).is_file() else ""
    raise WeightsError(
        f"no weights named {s!r} in {wdir / REGISTRY_FILE}; "
        f"available: {sorted(reg) or 'none'}{hint}"
    )


def model_from_config(config: dict[str, Any]) -> Denoiser | SeriesDenoiser:
    """An untrained model of the architecture a weights config describes (``kind``: "series"
    for the whole-series model, absent or "window" for the 9-date window model)."""
    if config.get("kind") == "series":
        return SeriesDenoiser.from_config(config)
    return Denoiser.from_config({k: v for k, v in config.items() if k != "kind"})


def load_model(
    name: str | os.PathLike[str] = "default",
    *,
    device: str | torch.device = "cpu",
    weights_dir: str | os.PathLike[str] | None = None,
) -> Denoiser | SeriesDenoiser:
    """Load a model (mm in, mm out: a :class:`SeriesDenoiser`, or a 9-date window
    :class:`Denoiser`) from the registry or a file path.

    The file's SHA-256 is checked against the registry/sidecar before anything is parsed;
    tensors are read with safetensors (no pickle). No network access.

    Raises
    ------
    WeightsError
        Unknown name, missing/corrupt/tampered file, or weights not matching the architecture.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load

    from insar_ae.model.devices import resolve_device

    path, entry = resolve_entry(name, weights_dir=weights_dir)
    blob = _verify(path, entry["sha256"])
    try:
        state = load(blob)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise WeightsError(
            f"weights file {path} is not a readable safetensors file: {exc}"
        ) from exc
    try:
        model = model_from_config(dict(entry["config"]))
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise WeightsError(
            f"weights file {path} does not match its architecture {entry['config']}: {exc}"
        ) from exc
    model.weights_name = str(name)  # type: ignore[assignment]
    # the hash of the bytes that were loaded and run (a custom file's sidecar only vouches
    # for itself: this, not the sidecar, is what gets recorded and printed)
    model.weights_sha256 = hashlib.sha256(blob).hexdigest()  # type: ignore[assignment]
    model.weights_path = str(path.resolve())  # type: ignore[assignment]
    model.weights_meta = dict(entry.get("meta", {}))  # type: ignore[assignment]
    return model.to(resolve_device(device)).eval()
