"""The space-time auto-encoder (an ``nn.Module`` on normalised tensors).

Layout (``T`` frames of one window, shared spatial filters, then mixing across time)::

    input per frame t: [d_t, dem, mask]  (3 channels, normalised; d_0 = 0)
    |  Encoder, the SAME weights for every frame (B*T images):
    |    e0  H      conv3x3 3->c0, conv3x3 c0->c0                        -> skip0
    |    e1  H/2    conv3x3/2 c0->c1, conv3x3 c1->c1, TimeMix(c1)        -> skip1
    |    e2  H/4    conv3x3/2 c1->c2, conv3x3 c2->c2, TimeMix(c2)        -> skip2
    |    e3  H/8    conv3x3/2 c2->c3, conv3x3 dil2 c3->c3
    |  Bottleneck  n_mix x [TimeMix(c3) + conv3x3 dil2 (residual)]
    |  Decoder (per frame, shared):  up x2 + 1x1 reduce + skip (add) + conv3x3, to H
    |  Head: conv1x1 c0->1  -> deformation of frame t (normalised), frame 0 forced to 0

``TimeMix`` is a learned dense T x T linear map across the frames of the window, one per
channel (plus a per-frame bias), applied residually: every frame sees every other frame at
each scale where it is used, at negligible cost. Receptive field ~ 100 px (dilated convs at
H/8), enough to see atmospheric structure tens of pixels wide. Fully convolutional: any H, W
divisible by 8 (the wrapper pads).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["SeriesUNet", "SpaceTimeAE", "count_parameters", "flops_per_pixel"]


def _conv(cin: int, cout: int, *, stride: int = 1, dilation: int = 1, k: int = 3) -> nn.Conv2d:
    pad = dilation * (k // 2)
    return nn.Conv2d(
        cin, cout, k, stride=stride, padding=pad, dilation=dilation, padding_mode="zeros"
    )


def _act(x: torch.Tensor) -> torch.Tensor:
    """LeakyReLU(0.1), in place: every caller passes a fresh tensor used nowhere else (the
    in-place form is differentiable for a positive slope, and saves a pass over memory)."""
    return F.leaky_relu_(x, 0.1)


class TimeMix(nn.Module):
    """Residual dense mixing across the T frames of a window, one T x T matrix per channel."""

    def __init__(self, channels: int, T: int) -> None:
        super().__init__()
        self.T = T
        self.weight = nn.Parameter(torch.zeros(channels, T, T))
        self.bias = nn.Parameter(torch.zeros(T, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B*T, C, h, w)
        bt, c, h, w = x.shape
        y = x.view(bt // self.T, self.T, c, h, w)
        mixed = torch.einsum("cst,btchw->bschw", self.weight, y)
        mixed = mixed + self.bias.view(1, self.T, c, 1, 1)
        return x + _act(mixed).reshape(bt, c, h, w)


class _Block(nn.Module):
    """conv3x3 -> act -> conv3x3 -> act (first conv may downsample)."""

    def __init__(self, cin: int, cout: int, *, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.a = _conv(cin, cout, stride=stride)
        self.b = _conv(cout, cout, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _act(self.b(_act(self.a(x))))


class _Up(nn.Module):
    """Bilinear x2 upsampling, 1x1 channel reduction, add the skip, conv3x3."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(cin, cout, 1)
        self.conv = _conv(cout, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        # The 1x1 reduction and bilinear upsampling are both linear (and the interpolation
        # weights sum to 1, so the bias commutes too): reducing first is the same map at a
        # quarter of the cost.
        x = F.interpolate(
            self.reduce(x), size=skip.shape[-2:], mode="bilinear", align_corners=False
        )
        return _act(self.conv(x.add_(skip)))


class SpaceTimeAE(nn.Module):
    """Space-time U-Net auto-encoder on normalised inputs.

    Parameters
    ----------
    T
        Frames per window (9 for the shipped model).
    widths
        Channels at scales 1, 1/2, 1/4, 1/8.
    n_mix
        Residual [TimeMix + dilated conv] blocks at the bottleneck.

    ``forward(x)`` takes ``x`` of shape (B, T, 3, H, W) (normalised displacement, normalised
    DEM, mask) with H and W divisible by 8, and returns (B, T, H, W), frame 0 exactly 0.
    """

    def __init__(
        self, T: int = 9, widths: tuple[int, ...] = (16, 32, 48, 64), n_mix: int = 2
    ) -> None:
        super().__init__()
        c0, c1, c2, c3 = (int(w) for w in widths)
        self.T = int(T)
        self.widths = (c0, c1, c2, c3)
        self.n_mix = int(n_mix)
        self.e0 = _Block(3, c0)
        self.e1 = _Block(c0, c1, stride=2)
        self.e2 = _Block(c1, c2, stride=2)
        self.e3 = _Block(c2, c3, stride=2, dilation=2)
        self.mix1 = TimeMix(c1, self.T)
        self.mix2 = TimeMix(c2, self.T)
        self.mixes = nn.ModuleList(TimeMix(c3, self.T) for _ in range(self.n_mix))
        self.convs = nn.ModuleList(_conv(c3, c3, dilation=2) for _ in range(self.n_mix))
        self.up2 = _Up(c3, c2)
        self.up1 = _Up(c2, c1)
        self.up0 = _Up(c1, c0)
        self.head = nn.Conv2d(c0, 1, 1)

    def arch(self) -> dict[str, object]:
        """The constructor kwargs (stored with the weights)."""
        return {"T": self.T, "widths": list(self.widths), "n_mix": self.n_mix}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c, h, w = x.shape
        z = x.reshape(b * t, c, h, w).contiguous(memory_format=torch.channels_last)
        s0 = self.e0(z)
        s1 = self.mix1(self.e1(s0))
        s2 = self.mix2(self.e2(s1))
        y = self.e3(s2)
        for mix, conv in zip(self.mixes, self.convs, strict=True):
            y = mix(y)
            y = y + _act(conv(y))
        y = self.up2(y, s2)
        y = self.up1(y, s1)
        y = self.up0(y, s0)
        out = self.head(y).view(b, t, h, w)
        keep = torch.ones(t, device=out.device, dtype=out.dtype)
        keep[0] = 0.0
        return out * keep.view(1, t, 1, 1)


class SeriesUNet(nn.Module):
    """2-D U-Net on the coefficient maps of a whole series (the series model's network).

    Input ``(B, K + 3, H, W)``: K temporal-basis coefficient maps (normalised), the per-pixel
    residual RMS (normalised), the normalised DEM and the validity mask; H, W divisible by 8.
    Output ``(B, K, H, W)``: the deformation's coefficient maps (normalised). Layout::

        e0  H    conv3x3 (K+3)->c0, conv3x3 c0->c0            -> skip0
        e1  H/2  conv3x3/2 c0->c1, conv3x3 c1->c1              -> skip1
        e2  H/4  conv3x3/2 c1->c2, conv3x3 c2->c2              -> skip2
        e3  H/8  conv3x3/2 c2->c3, conv3x3 c3->c3
        mid H/8  residual conv3x3 with dilation 2, 4, 8, 2 (receptive field ~ 300 px)
        up2, up1, up0: 1x1 reduce, bilinear x2, + skip, conv3x3;  head conv1x1 c0->K

    The coefficient channels are where the series' dates meet: deformation is coherent across
    them (one spatial pattern times its history's projections), atmosphere is independent in
    each (see ``insar_ae.model.temporal_basis``).
    """

    def __init__(
        self,
        K: int = 6,
        widths: tuple[int, ...] = (32, 48, 64, 96),
        dilations: tuple[int, ...] = (2, 4, 8, 2),
    ) -> None:
        super().__init__()
        c0, c1, c2, c3 = (int(w) for w in widths)
        self.K = int(K)
        self.widths = (c0, c1, c2, c3)
        self.dilations = tuple(int(d) for d in dilations)
        self.e0 = _Block(self.K + 3, c0)
        self.e1 = _Block(c0, c1, stride=2)
        self.e2 = _Block(c1, c2, stride=2)
        self.e3 = _Block(c2, c3, stride=2)
        self.mid = nn.ModuleList(_conv(c3, c3, dilation=d) for d in self.dilations)
        self.up2 = _Up(c3, c2)
        self.up1 = _Up(c2, c1)
        self.up0 = _Up(c1, c0)
        self.head = nn.Conv2d(c0, self.K, 1)

    def arch(self) -> dict[str, object]:
        """The constructor kwargs (stored with the weights)."""
        return {"K": self.K, "widths": list(self.widths), "dilations": list(self.dilations)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x.contiguous(memory_format=torch.channels_last)
        s0 = self.e0(z)
        s1 = self.e1(s0)
        s2 = self.e2(s1)
        y = self.e3(s2)
        for conv in self.mid:
            y = y + _act(conv(y))
        y = self.up2(y, s2)
        y = self.up1(y, s1)
        y = self.up0(y, s0)
        return self.head(y)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def flops_per_pixel(model: SpaceTimeAE | SeriesUNet, size: int = 64) -> float:
    """Forward FLOPs (2 x multiply-adds) per pixel per frame (window model) or per pixel (series
    model, which runs once per pixel whatever the number of dates), from conv/einsum shapes."""
    macs = 0.0
    hooks = []

    def conv_hook(mod: nn.Conv2d, _inp: tuple[torch.Tensor], out: torch.Tensor) -> None:
        nonlocal macs
        k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
        macs += float(out.numel()) * k

    def mix_hook(mod: TimeMix, inp: tuple[torch.Tensor], _out: torch.Tensor) -> None:
        nonlocal macs
        macs += float(inp[0].numel()) * mod.T

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, TimeMix):
            hooks.append(m.register_forward_hook(mix_hook))
    series = isinstance(model, SeriesUNet)
    try:
        with torch.no_grad():
            if series:
                model(torch.zeros(1, model.K + 3, size, size))
            else:
                model(torch.zeros(1, model.T, 3, size, size))
    finally:
        for hk in hooks:
            hk.remove()
    return 2.0 * macs / ((1 if series else model.T) * size * size)
