"""The denoisers: the modules the weights load into, each a network with its input normalisation.

:class:`Denoiser` (the 9-date window model, around :class:`SpaceTimeAE`) and
:class:`SeriesDenoiser` (the series model, around :class:`SeriesUNet` and the temporal basis),
both mm in, mm out. (This module was ``normalize.py`` until issue 15;
``insar_ae.model.normalize`` still re-exports them for old imports.)

Normalisation of the window model (per window, i.e. per sample of the batch):

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
from insar_ae.model.network import SeriesUNet, SpaceTimeAE
from insar_ae.model.options import SYMMETRIES
from insar_ae.model.temporal_basis import date_weights, legendre_basis, project, reconstruct

__all__ = ["Denoiser", "Prepared", "SeriesDenoiser", "SeriesPrepared"]

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

    def __init__(
        self,
        net: SpaceTimeAE | None = None,
        *,
        floor_mm: float = 0.5,
        dem_scale_m: float = 1000.0,
        **arch: object,
    ) -> None:
        super().__init__()
        self.net = net if net is not None else SpaceTimeAE(**arch)  # type: ignore[arg-type]
        self.floor_mm = float(floor_mm)
        self.dem_scale_m = float(dem_scale_m)
        self.net.to(memory_format=torch.channels_last)

    kind = "window"

    @property
    def T(self) -> int:
        """Frames per window."""
        return self.net.T

    @property
    def min_dates(self) -> int:
        """Fewest dates a frame may have (one window)."""
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

    def prepare(
        self, windows: torch.Tensor, dem: torch.Tensor, mask: torch.Tensor | None = None
    ) -> Prepared:
        """Normalise one batch (see module docstring)."""
        if windows.ndim != 4 or windows.shape[1] != self.T:
            raise ParameterError(
                f"windows must have shape (B, T={self.T}, H, W), got {tuple(windows.shape)}"
            )
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
        demn = torch.where(
            valid,
            (dem - dem_med.view(b, 1, 1)) / self.dem_scale_m,
            torch.zeros((), device=dem.device),
        )
        vfl = valid.float()
        x = torch.stack(
            [dn, demn.unsqueeze(1).expand(b, t, h, w), vfl.unsqueeze(1).expand(b, t, h, w)], dim=2
        )
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

    def forward(
        self, windows: torch.Tensor, dem: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        prep = self.prepare(windows, dem, mask)
        out = self.forward_normalised(prep).float()
        return out * prep.scale.view(-1, 1, 1, 1)


class SeriesPrepared(NamedTuple):
    """Series-model network input and what is needed to undo the normalisation."""

    x: torch.Tensor  # (B, K + 3, Hp, Wp) normalised coefficient maps, resid, DEM, mask
    scale: torch.Tensor  # (B,) mm per normalised unit
    valid: torch.Tensor  # (B, H, W) bool: static validity and >= 2 valid dates
    basis: torch.Tensor  # (B, N, K + 1) float64 temporal basis
    crop: tuple[int, int]  # original (H, W)


class SeriesDenoiser(nn.Module):
    """Deformation estimator for whole series of any length, in millimetres (the series model).

    ``forward(series, dem, mask=None, days=None)``: ``series`` (B, N, H, W) mm LOS (positive
    toward the satellite) relative to the first date, NaN = no data on that date; ``dem``
    (B, H, W) m; ``mask`` optional (B, H, W) bool; ``days`` (B, N) or (N,) acquisition times in
    days (None: evenly spaced). Returns (B, N, H, W) mm relative to the first date (date 0
    exactly 0), finite everywhere (callers mask invalid pixels, see ``denoise``).

    Pipeline: per-pixel projection of all dates on an orthonormal polynomial basis of degree K
    (``temporal_basis``; the constant term, which holds the first date's delay, is dropped),
    robust scale ``s = max(median resid_rms, floor_mm)`` over valid pixels (the atmospheric
    level; for series too short to leave a residual, 1.4826 median |coef|), network on
    ``[coef / s, resid_rms / s, (dem - median) / dem_scale_m, valid]``, coefficients times
    ``s`` back to a series. ``Denoiser(k x) = k Denoiser(x)`` for ``k > 0`` above the floor.
    """

    kind = "series"
    #: Test-time symmetrisation choices (``insar_ae.model.options.SYMMETRIES``): 1 (off),
    #: 2 (sign), 4 (sign x 2 flips), 8 (sign x 4 flips), 16 (sign x 4 flips x transposition).
    TTA_CHOICES = SYMMETRIES

    def __init__(
        self,
        net: SeriesUNet | None = None,
        *,
        floor_mm: float = 0.5,
        dem_scale_m: float = 1000.0,
        tta: int = 1,
        date_weighting: bool = False,
        **arch: object,
    ) -> None:
        super().__init__()
        self.net = net if net is not None else SeriesUNet(**arch)  # type: ignore[arg-type]
        self.floor_mm = float(floor_mm)
        #: Weighted projection (per-date weights from each date's atmospheric strength over the
        #: tile, ``temporal_basis.date_weights``): a date with a strong delay counts less.
        self.date_weighting = bool(date_weighting)
        self.dem_scale_m = float(dem_scale_m)
        if int(tta) not in self.TTA_CHOICES:
            raise ParameterError(f"tta={tta!r} must be one of {self.TTA_CHOICES}")
        self.tta = int(tta)
        self.net.to(memory_format=torch.channels_last)

    @property
    def K(self) -> int:
        """Degree of the temporal basis (coefficient maps per pixel)."""
        return self.net.K

    #: Fewest dates a series may have (any number above works; no windows).
    min_dates = 2

    def config(self) -> dict[str, object]:
        """Everything needed to rebuild this module (stored with the weights)."""
        return {
            "kind": self.kind,
            **self.net.arch(),
            "floor_mm": self.floor_mm,
            "dem_scale_m": self.dem_scale_m,
            "tta": self.tta,
            "date_weighting": self.date_weighting,
        }

    @classmethod
    def from_config(cls, config: dict[str, object]) -> SeriesDenoiser:
        """Inverse of :meth:`config`."""
        cfg = dict(config)
        cfg.pop("kind", None)
        floor = float(cfg.pop("floor_mm", 0.5))  # type: ignore[arg-type]
        dem_scale = float(cfg.pop("dem_scale_m", 1000.0))  # type: ignore[arg-type]
        tta = int(cfg.pop("tta", 1))  # type: ignore[call-overload]
        weighting = bool(cfg.pop("date_weighting", False))
        for key in ("widths", "dilations"):
            if key in cfg:
                cfg[key] = tuple(cfg[key])  # type: ignore[arg-type]
        return cls(
            SeriesUNet(**cfg),
            floor_mm=floor,
            dem_scale_m=dem_scale,  # type: ignore[arg-type]
            tta=tta,
            date_weighting=weighting,
        )

    def prepare(
        self,
        series: torch.Tensor,
        dem: torch.Tensor,
        mask: torch.Tensor | None = None,
        days: torch.Tensor | None = None,
        date_weight: torch.Tensor | None = None,
    ) -> SeriesPrepared:
        """Project and normalise one batch (see the class docstring). ``date_weight`` (B, N) or
        (N,): per-date weights of the projection when ``date_weighting`` is on (None: estimated
        on the batch itself; ``denoise`` passes the whole frame's, so tiles agree)."""
        if series.ndim != 4:
            raise ParameterError(f"series must have shape (B, N, H, W), got {tuple(series.shape)}")
        b, n, h, w = series.shape
        if n < self.min_dates:
            raise ParameterError(f"a series needs at least {self.min_dates} dates, got {n}")
        if dem.shape != (b, h, w):
            raise ParameterError(f"dem must have shape {(b, h, w)}, got {tuple(dem.shape)}")
        dev = series.device
        if days is None:
            days = torch.arange(n, dtype=torch.float64, device=dev)
        days = days.to(device=dev, dtype=torch.float64)
        if days.ndim == 1:
            days = days.unsqueeze(0).expand(b, n)
        if days.shape != (b, n):
            raise ParameterError(
                f"days must have shape ({n},) or ({b}, {n}), got {tuple(days.shape)}"
            )
        series = series.float()
        dem = dem.float()
        static = torch.isfinite(dem)
        if mask is not None:
            static = static & mask.to(device=dev, dtype=torch.bool)
        dated = torch.isfinite(series) & static.unsqueeze(1)
        basis = legendre_basis(days, self.K)
        weight = None
        if self.date_weighting:
            weight = (
                date_weights(series, dated, basis)
                if date_weight is None
                else date_weight.to(device=dev, dtype=torch.float64).expand(b, n)
            )
        proj = project(series, dated, basis, weight)
        valid = static & (proj.n_valid >= 2)
        nan = torch.full((), float("nan"), device=dev)
        res = torch.where(valid, proj.resid_rms, nan).reshape(b, -1)
        s_res = torch.nan_to_num(torch.nanmedian(res, dim=1).values, nan=0.0)
        mags = torch.where(valid.unsqueeze(1), proj.coef.abs(), nan).reshape(b, -1)
        s_coef = torch.nan_to_num(1.4826 * torch.nanmedian(mags, dim=1).values, nan=0.0)
        short = n <= self.K + 2  # too few dates to leave a residual: scale from the coefficients
        scale = (s_coef if short else s_res).clamp_min(self.floor_mm)
        sv = scale.view(b, 1, 1)
        zero = torch.zeros((), device=dev)
        coef = torch.where(valid.unsqueeze(1), proj.coef / sv.unsqueeze(1), zero)
        resid = torch.where(valid, proj.resid_rms / sv, zero)
        demv = torch.where(valid, dem, nan)
        dem_med = torch.nan_to_num(torch.nanmedian(demv.reshape(b, -1), dim=1).values, nan=0.0)
        demn = torch.where(valid, (dem - dem_med.view(b, 1, 1)) / self.dem_scale_m, zero)
        x = torch.cat([coef, resid.unsqueeze(1), demn.unsqueeze(1), valid.float().unsqueeze(1)], 1)
        ph, pw = (-h) % _MULTIPLE, (-w) % _MULTIPLE
        if ph or pw:
            mode = "reflect" if (h > ph and w > pw) else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        return SeriesPrepared(x, scale, valid, basis, (h, w))

    def forward_normalised(self, prep: SeriesPrepared) -> torch.Tensor:
        """Coefficient maps in normalised units, cropped to (B, K, H, W); terms the series is
        too short to carry are zero."""
        h, w = prep.crop
        out = self._symmetrised(prep.x)[..., :h, :w]
        live = (prep.basis.abs().sum(1)[:, 1:] > 0).to(out.dtype)  # (B, K)
        return out * live[:, :, None, None]

    def _symmetrised(self, x: torch.Tensor) -> torch.Tensor:
        """The network, averaged (in eval mode, when ``tta`` > 1) over the symmetries the
        problem has: the sign of the displacement (coefficients odd, residual/DEM/mask even),
        mirror flips of the map and (``tta`` 16) its transposition, so the 8 rotations and
        reflections of a square. In training, the plain network."""
        if self.training or self.tta == 1:
            return self.net(x)
        sign = torch.ones(x.shape[1], device=x.device, dtype=x.dtype)
        sign[: self.K] = -1.0
        flips = [(), (-1,), (-2,), (-2, -1)][: max(1, min(self.tta, 8) // 2)]
        transposes = (False, True) if self.tta == 16 else (False,)
        acc = None
        for s in (1.0, -1.0):
            xs = x if s > 0 else x * sign.view(1, -1, 1, 1)
            for dims in flips:
                xf = xs.flip(dims) if dims else xs
                for tr in transposes:
                    o = self.net(xf.transpose(-2, -1) if tr else xf)
                    o = o.transpose(-2, -1) if tr else o
                    o = (o.flip(dims) if dims else o) * s
                    acc = o if acc is None else acc + o
        return acc / (2 * len(flips) * len(transposes))

    def forward(
        self,
        series: torch.Tensor,
        dem: torch.Tensor,
        mask: torch.Tensor | None = None,
        days: torch.Tensor | None = None,
        date_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        prep = self.prepare(series, dem, mask, days, date_weight)
        coef = self.forward_normalised(prep).float() * prep.scale.view(-1, 1, 1, 1)
        return reconstruct(coef, prep.basis).float()
