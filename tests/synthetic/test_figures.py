"""Preset figures are written atomically as PNG."""

from __future__ import annotations

from insar_ae.synthetic import make_scene
from insar_ae.synthetic.figures import plot_scene


def test_plot_scene_writes_a_png(tmp_path):
    ds = make_scene("clean-fault", 0, shape=(32, 40), n_dates=4)
    out = plot_scene(ds, tmp_path / "fig" / "scene.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in out.parent.iterdir()] == ["scene.png"]  # no temp file left
