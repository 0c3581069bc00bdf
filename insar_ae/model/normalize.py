"""The ``Denoiser``: robust per-window normalisation around :class:`SpaceTimeAE` (mm in, mm out).

Normalisation (per window, i.e. per sample of the batch):

- validity: a pixel is valid when it is finite in all T frames, its DEM is finite and the
  optional ``mask`` is True. Invalid pixels are zero-filled and flagged in the mask channel.
- displacement scale ``s = max(1.4826 * median(|d|), floor_mm)`` over valid pixels of frames
  1..T-1 (frame 0 is 0 by construction). Scale only, no shift: the problem is odd in the sign
  of the displacement, and the mean deformation over a window is signal, not nuisance.
- DEM: minus its median over valid pixels, divided by a fixed ``dem_scale_m`` (a fixed scale
  keeps "mm per metre of height" comparable between windows).
- H and W are padded (reflect, or replicate when the tile is tiny) to a multiple of 8 and the
  output cropped back. The output is multiplied back by ``s``; frame 0 is exactly 0.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from insar_ae.errors import ParameterError
from insar_ae.model.network import SpaceTimeAE

__all__ = ["Denoiser", "Prepared"]

_MULTIPLE = 8


class Prepared(NamedTuple):
    """Network input and what is needed to undo the normalisation."""

    x: torch.Tensor  # (B, T, 3, Hp, Wp) normalised input
    scale: torch.Tensor  # (B,) mm per normalised unit
    valid: torch.Tensor  # (B, H, W) bool
    crop: tuple[int, int]  # original (H, W)


class Denoiser(nn.Module):
    """Deformation estimator for windows of T frames, in millimetres.

    ``forward(windows, dem, mask=None)``: ``windows`` (B, T, H, W) mm LOS (positive toward
    the satellite) relative to each window's first frame, NaN = no data; ``dem`` (B, H, W) m;
    ``mask`` optional (B, H, W) bool (True = valid). Returns (B, T, H, W) mm, the deformation
    of every frame relative to the window's first frame (frame 0 exactly 0), finite everywhere
    (invalid pixels are in-painted by the network; callers mask them, see ``denoise``).
    """

    def __init__(self, net: SpaceTimeAE | None = None, *, floor_mm: float = 0.5,
                 dem_scale_m: float = 1000.0, **arch: object) -> None:
        super().__init__()
        self.net = net if net is not None else SpaceTimeAE(**arch)  # type: ignore[arg-type]
        self.floor_mm = float(floor_mm)
        self.dem_scale_m = float(dem_scale_m)
        self.net.to(memory_format=torch.channels_last)

    @property
    def T(self) -> int:
        """Frames per window."""
        return self.net.T

    def config(self) -> dict[str, object]:
        """Everything needed to rebuild this module (stored with the weights)."""
        return {**self.net.arch(), "floor_mm": self.floor_mm, "dem_scale_m": self.dem_scale_m}

    @classmethod
    def from_config(cls, config: dict[str, object]) -> Denoiser:
        """Inverse of :meth:`config`."""
        cfg = dict(config)
        floor = float(cfg.pop("floor_mm", 0.5))  # type: ignore[arg-type]
        dem_scale = float(cfg.pop("dem_scale_m", 1000.0))  # type: ignore[arg-type]
        if "widths" in cfg:
            cfg["widths"] = tuple(cfg["widths"])  # type: ignore[arg-type]
        return cls(SpaceTimeAE(**cfg), floor_mm=floor, dem_scale_m=dem_scale)  # type: ignore[arg-type]

    def prepare(self, windows: torch.Tensor, dem: torch.Tensor,
                mask: torch.Tensor | None = None) -> Prepared:
        """Normalise one batch (see module docstring)."""
        if windows.ndim != 4 or windows.shape[1] != self.T:
            raise ParameterError(
                f"windows must have shape (B, T={self.T}, H, W), got {tuple(windows.shape)}")
        b, t, h, w = windows.shape
        if dem.shape != (b, h, w):
            raise ParameterError(f"dem must have shape {(b, h, w)}, got {tuple(dem.shape)}")
        windows = windows.float()
        dem = dem.float()
        valid = torch.isfinite(windows).all(dim=1) & torch.isfinite(dem)
        if mask is not None:
            valid = valid & mask.to(device=valid.device, dtype=torch.bool)
        vf = valid.unsqueeze(1)
        d = torch.where(vf, windows, torch.zeros((), device=windows.device))
        mags = torch.where(vf, d.abs(), torch.full((), float("nan"), device=d.device))[:, 1:]
        med = torch.nanmedian(mags.reshape(b, -1), dim=1).values
        scale = torch.nan_to_num(1.4826 * med, nan=self.floor_mm).clamp_min(self.floor_mm)
        dn = d / scale.view(b, 1, 1, 1)
        demv = torch.where(valid, dem, torch.full((), float("nan"), device=dem.device))
        dem_med = torch.nan_to_num(torch.nanmedian(demv.reshape(b, -1), dim=1).values, nan=0.0)
        demn = torch.where(valid, (dem - dem_med.view(b, 1, 1)) / self.dem_scale_m,
                           torch.zeros((), device=dem.device))
        vfl = valid.float()
        x = torch.stack([dn, demn.unsqueeze(1).expand(b, t, h, w),
                         vfl.unsqueeze(1).expand(b, t, h, w)], dim=2)
        ph, pw = (-h) % _MULTIPLE, (-w) % _MULTIPLE
        if ph or pw:
            mode = "reflect" if (h > ph and w > pw) else "replicate"
            x = F.pad(x.reshape(b, t * 3, h, w), (0, pw, 0, ph), mode=mode)
            x = x.reshape(b, t, 3, h + ph, w + pw)
        return Prepared(x, scale, valid, (h, w))

    def forward_normalised(self, prep: Prepared) -> torch.Tensor:
        """Network output in normalised units, cropped to (B, T, H, W)."""
        out = self.net(prep.x)
        h, w = prep.crop
        return out[..., :h, :w]

    def forward(self, windows: torch.Tensor, dem: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        prep = self.prepare(windows, dem, mask)
        out = self.forward_normalised(prep).float()
        return out * prep.scale.view(-1, 1, 1, 1)
