"""sample_batch: shapes, determinism, conventions, breadth of the draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from insar_ae.synthetic import Batch, BatchConfig, sample_batch


@pytest.fixture(scope="module")
def batch() -> Batch:
    return sample_batch(24, T=9, size=64, generator=torch.Generator().manual_seed(0))


def test_batch_shapes_dtypes_and_device(batch):
    assert isinstance(batch, Batch)
    assert batch.windows.shape == (24, 9, 64, 64) and batch.truth.shape == (24, 9, 64, 64)
    assert batch.dem.shape == (24, 64, 64) and batch.mask.shape == (24, 64, 64)
    assert batch.windows.dtype == torch.float32 and batch.mask.dtype == torch.bool
    assert all(t.device.type == "cpu" for t in batch)
    b64 = sample_batch(
        2, T=3, size=16, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    assert b64.windows.dtype == torch.float64 and b64.truth.dtype == torch.float64


def test_same_seed_same_batch_other_seed_differs():
    a = sample_batch(4, T=5, size=32, generator=torch.Generator().manual_seed(11))
    b = sample_batch(4, T=5, size=32, generator=torch.Generator().manual_seed(11))
    c = sample_batch(4, T=5, size=32, generator=torch.Generator().manual_seed(12))
    for x, y in zip(a, b, strict=True):
        assert torch.equal(torch.nan_to_num(x.float(), 1e9), torch.nan_to_num(y.float(), 1e9))
    assert not torch.allclose(a.dem, c.dem)


def test_windows_are_relative_to_first_frame_and_nan_exactly_where_masked(batch):
    w, m = batch.windows, batch.mask
    assert torch.all(w[:, 0][m] == 0.0)
    assert torch.equal(torch.isnan(w), ~m[:, None].expand_as(w))
    assert torch.all(torch.isfinite(batch.truth)) and torch.all(batch.truth[:, 0] == 0.0)
    assert torch.all(torch.isfinite(batch.dem))
    invalid = 1.0 - m.float().mean()
    assert 0.0 < invalid < 0.4


def test_noise_only_fraction_controls_deformation_free_samples():
    g = torch.Generator().manual_seed(1)
    none = sample_batch(6, T=4, size=32, generator=g, noise_only_fraction=1.0)
    assert float(none.truth.abs().max()) == 0.0
    assert float(torch.nan_to_num(none.windows).abs().max()) > 0.0
    allsig = sample_batch(16, T=6, size=32, generator=g, noise_only_fraction=0.0)
    peak = allsig.truth.abs().amax(dim=(1, 2, 3))
    # every sample has a source; some may be nearly still within a short window
    assert int((peak > 0).sum()) >= 14


def test_amplitudes_and_noise_span_a_wide_range():
    b = sample_batch(
        48, T=9, size=48, generator=torch.Generator().manual_seed(2), noise_only_fraction=0.0
    )
    peak = b.truth.abs().amax(dim=(1, 2, 3))
    peak = peak[peak > 0]
    assert float(peak.min()) < 1.0 and float(peak.max()) > 10.0  # sub-mm to cm
    noise = torch.nan_to_num(b.windows - b.truth)[:, 1:]
    rms = noise.pow(2).mean(dim=(1, 2, 3)).sqrt()
    assert float(rms.max() / rms.min()) > 10.0
    relief = b.dem.amax(dim=(1, 2)) - b.dem.amin(dim=(1, 2))
    assert float(relief.max() / relief.min()) > 20.0


def test_truth_is_smooth_or_sharp_like_faults_and_has_fault_discontinuities():
    """Some samples carry surface-breaking faults: a large one-pixel jump in the truth."""
    b = sample_batch(
        48, T=5, size=48, generator=torch.Generator().manual_seed(3), noise_only_fraction=0.0
    )
    last = b.truth[:, -1]
    jump = (last[:, :, 1:] - last[:, :, :-1]).abs().amax(dim=(1, 2))
    spread = last.abs().amax(dim=(1, 2)).clamp_min(1e-9)
    assert int((jump / spread > 0.3).sum()) >= 3


def test_config_narrows_the_draws():
    cfg = BatchConfig(
        amplitude_mm=(5.0, 5.0),
        p_fault=(0.0, 0.0),
        p_mogi=1.0,
        turb_rms_mm=(1e-6, 1e-6),
        strat_mm_per_km=(1e-6, 1e-6),
        ramp_mm=(1e-6, 1e-6),
        pixel_noise_mm=(1e-6, 1e-6),
        p_unwrapping=0.0,
        hole_fraction=(0.0, 0.0),
        scatter_fraction=(0.0, 0.0),
    )
    b = sample_batch(
        8,
        T=6,
        size=32,
        generator=torch.Generator().manual_seed(4),
        noise_only_fraction=0.0,
        config=cfg,
    )
    peak = b.truth.abs().amax(dim=(2, 3)).amax(dim=1)
    np.testing.assert_allclose(peak.numpy(), 5.0, rtol=1e-4)  # one Mogi of 5 mm peak each
    assert float((b.windows - b.truth).abs().max()) < 1e-3
    assert bool(b.mask.all())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_batch_on_cuda_matches_cpu_draws():
    cpu = sample_batch(2, T=4, size=32, generator=torch.Generator().manual_seed(5))
    gpu = sample_batch(2, T=4, size=32, generator=torch.Generator().manual_seed(5), device="cuda")
    assert gpu.windows.device.type == "cuda"
    torch.testing.assert_close(gpu.truth.cpu(), cpu.truth, atol=1e-3, rtol=1e-3)
    assert math.isfinite(float(gpu.dem.sum()))


def test_batch_config_is_frozen_validated_and_round_trips():
    import dataclasses

    from insar_ae.errors import ParameterError
    from insar_ae.synthetic.batches import DEFAULT_BATCH_CONFIG

    assert BatchConfig() == DEFAULT_BATCH_CONFIG
    cfg = BatchConfig(turb_rms_mm=[1, 2], p_mogi=1)
    assert cfg.turb_rms_mm == (1.0, 2.0) and type(cfg.p_mogi) is float
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.p_mogi = 0.5  # type: ignore[misc]
    assert BatchConfig.from_dict(cfg.to_dict()) == cfg
    assert BatchConfig.from_yaml(cfg.to_yaml()) == cfg
    assert "turb_rms_mm: [1.0, 2.0]" in cfg.to_yaml()
    assert cfg.replace(p_mogi=0.5).p_mogi == 0.5
    for bad, match in [
        (
            {"turb_rms_mm": (0.0, 1.0)},
            r"turb_rms_mm=\(0.0, 1.0\) must be a pair \(lo, hi\) of numbers > 0",
        ),
        ({"pixel_m": (250.0, 60.0)}, "lo <= hi"),
        ({"hole_fraction": (0.0, 1.5)}, "hole_fraction"),
        ({"p_fault": (0.5,)}, "p_fault"),
        ({"p_mogi": -0.1}, "p_mogi"),
        ({"turb_pad": 0.5}, "turb_pad"),
    ]:
        with pytest.raises(ParameterError, match=match):
            BatchConfig(**bad)
    with pytest.raises(ParameterError, match=r"unknown BatchConfig field.*'turb'"):
        BatchConfig.from_dict({"turb": (1.0, 2.0)})
    with pytest.raises(ParameterError, match="BatchConfig"):
        sample_batch(1, 3, 8, config={"p_mogi": 1.0})  # type: ignore[arg-type]
