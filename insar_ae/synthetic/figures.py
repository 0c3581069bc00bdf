"""Preset figures: truth, each noise component and the sum for one late date.

``python -m insar_ae.synthetic.figures [outdir]`` writes ``preset_<name>.png`` for every preset
(default ``docs/figures``). matplotlib (Agg backend) is imported only here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import xarray as xr

from insar_ae.atomic import atomic_path
from insar_ae.synthetic.presets import list_presets
from insar_ae.synthetic.scenes import make_scene

__all__ = ["plot_scene", "write_preset_figures"]

_PANELS = (
    ("deformation_true", "truth (deformation_true)"),
    ("turbulent", "turbulent"),
    ("stratified", "stratified"),
    ("ramp", "orbital ramp"),
    ("displacement", "displacement (sum + pixel noise)"),
)


def plot_scene(ds: xr.Dataset, path: str | os.PathLike[str], *, date_index: int = -1) -> Path:
    """Plot one date of a synthetic scene (mm, diverging, symmetric about 0); atomic write."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ext = np.array([ds.x.values[0], ds.x.values[-1], ds.y.values[-1], ds.y.values[0]]) / 1000.0
    fig, axes = plt.subplots(2, 3, figsize=(15, 9.2), constrained_layout=True)
    date = str(ds.time.values[date_index])[:10]
    for ax, (name, label) in zip(axes.flat, _PANELS, strict=False):
        img = ds[name].isel(time=date_index).values
        lim = float(np.nanpercentile(np.abs(img), 99.5)) or 1.0
        im = ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim, extent=tuple(ext), origin="upper")
        ax.set_title(label)
        ax.set_xlabel("x (km)")
        ax.set_ylabel("y (km)")
        fig.colorbar(im, ax=ax, shrink=0.85, label="LOS mm (+ toward satellite)")
    ax = axes.flat[-1]
    im = ax.imshow(ds["height"].values, cmap="terrain", extent=tuple(ext), origin="upper")
    ax.set_title("height")
    ax.set_xlabel("x (km)")
    fig.colorbar(im, ax=ax, shrink=0.85, label="m")
    _overlay_truth(ds, axes)
    fig.suptitle(
        f"{ds.attrs.get('preset', '')}: {date} relative to {str(ds.time.values[0])[:10]}"
        f" ({ds.attrs.get('sensor', '')}, heading {ds.attrs.get('heading_deg')} deg)"
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(out, overwrite=True) as tmp:
            fig.savefig(tmp, dpi=64)
    finally:
        plt.close(fig)
    return out


def _overlay_truth(ds: xr.Dataset, axes: np.ndarray) -> None:
    import json

    truth = json.loads(ds.attrs.get("truth_params", "{}"))
    trace = truth.get("fault_trace")
    for ax in axes.flat[:1]:
        if trace:
            (x1, y1), (x2, y2) = trace
            ax.plot([x1 / 1000, x2 / 1000], [y1 / 1000, y2 / 1000], "k--", lw=0.8)
            ax.set_xlim(ds.x.values[0] / 1000, ds.x.values[-1] / 1000)
            ax.set_ylim(ds.y.values[-1] / 1000, ds.y.values[0] / 1000)
        if "source_x_m" in truth:
            ax.plot(truth["source_x_m"] / 1000, truth["source_y_m"] / 1000, "k+", ms=10)


def write_preset_figures(
    outdir: str | os.PathLike[str] = "docs/figures",
    *,
    seed: int = 0,
    shape: tuple[int, int] = (512, 512),
) -> list[Path]:
    """Write ``preset_<name>.png`` for every preset; returns the paths."""
    return [
        plot_scene(make_scene(name, seed, shape=shape), Path(outdir) / f"preset_{name}.png")
        for name in list_presets()
    ]


if __name__ == "__main__":  # pragma: no cover
    for p in write_preset_figures(sys.argv[1] if len(sys.argv) > 1 else "docs/figures"):
        print(p)
