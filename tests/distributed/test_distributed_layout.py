"""Block layout: cores tile the frame once; halo="auto" reproduces whole-frame denoising."""

from __future__ import annotations

import numpy as np
import pytest

from insar_ae.distributed import plan_blocks
from insar_ae.distributed.layout import effective_block
from insar_ae.errors import ParameterError


def _coverage(blocks, ny, nx):
    count = np.zeros((ny, nx), dtype=int)
    for b in blocks:
        count[b.y0 : b.y1, b.x0 : b.x1] += 1
        assert b.oy0 <= b.y0 < b.y1 <= b.oy1 and b.ox0 <= b.x0 < b.x1 <= b.ox1
        assert 0 <= b.oy0 and b.oy1 <= ny and 0 <= b.ox0 and b.ox1 <= nx
    return count


@pytest.mark.parametrize("halo", ["auto", 0, 7, 64])
@pytest.mark.parametrize(
    ("ny", "nx", "block"), [(1, 1, 16), (100, 37, 16), (257, 512, 96), (31, 200, 500)]
)
def test_cores_cover_every_pixel_exactly_once(ny, nx, block, halo):
    blocks = plan_blocks(ny, nx, block=block, halo=halo, tile=32, overlap=8)
    assert (_coverage(blocks, ny, nx) == 1).all()
    assert len({b.key for b in blocks}) == len(blocks)


def test_integer_halo_grows_cores_symmetrically_and_clips_at_edges():
    blocks = plan_blocks(100, 100, block=40, halo=10)
    b = {x.key: x for x in blocks}
    assert (b["0-0"].oy0, b["0-0"].oy1, b["0-0"].ox1) == (0, 50, 50)
    assert (b["1-1"].oy0, b["1-1"].oy1, b["1-1"].ox0, b["1-1"].ox1) == (30, 90, 30, 90)
    assert (b["2-2"].y0, b["2-2"].y1, b["2-2"].oy0, b["2-2"].oy1) == (80, 100, 70, 100)


def test_auto_halo_aligns_blocks_on_the_model_tile_grid():
    # tile 128, overlap 32 -> step 96: block 512 -> 576, left halo 96, right halo 32
    assert effective_block(512, "auto", tile=128, overlap=32) == 576
    assert effective_block(512, 64, tile=128, overlap=32) == 512
    blocks = plan_blocks(2000, 2000, block=512, tile=128, overlap=32)
    middle = next(b for b in blocks if b.iy == 1 and b.ix == 1)
    assert (middle.y0, middle.y1) == (576, 1152)
    assert (middle.y0 - middle.oy0, middle.oy1 - middle.y1) == (96, 32)
    assert all(b.oy0 % 96 == 0 and b.ox0 % 96 == 0 for b in blocks)
    # the last row reaches into the last tile of the frame: it extends to the frame edge,
    # at least one tile deep
    last = next(b for b in blocks if b.iy == max(x.iy for x in blocks))
    assert last.oy1 == 2000 and last.oy1 - last.oy0 >= 128


def test_auto_halo_keeps_an_axis_shorter_than_a_tile_whole():
    blocks = plan_blocks(20, 300, block=16, tile=32, overlap=8)
    assert {(b.oy0, b.oy1, b.y0, b.y1) for b in blocks} == {(0, 20, 0, 20)}


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"block": 0}, "block"),
        ({"block": 2.5}, "block"),
        ({"halo": -1}, "halo"),
        ({"halo": "wide"}, "halo"),
        ({"overlap": 40}, "overlap"),
    ],
)
def test_bad_layout_parameters_are_refused_with_their_name(kw, match):
    args = {"block": 64, "halo": "auto", "tile": 32, "overlap": 8, **kw}
    with pytest.raises(ParameterError, match=match):
        plan_blocks(100, 100, **args)
