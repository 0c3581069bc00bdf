"""DenoiseOptions: the one validated set of denoising options (bounds, round trips, overrides)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from insar_ae.errors import ParameterError
from insar_ae.model import DenoiseOptions
from insar_ae.model.options import merge


def test_defaults_and_field_metadata():
    o = DenoiseOptions()
    assert o.to_dict() == {
        "model": "default",
        "device": "auto",
        "tile": 128,
        "overlap": 32,
        "batch_size": 8,
        "time_stride": 1,
        "symmetries": None,
    }
    for f in dataclasses.fields(DenoiseOptions):
        assert f.metadata["help"], f.name  # every field carries its command-line help
    assert dataclasses.fields(DenoiseOptions)[2].metadata["units"] == "px"
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.tile = 64  # type: ignore[misc]


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ({"time_stride": 0}, "time_stride=0 must be an integer >= 1"),
        ({"time_stride": 1.5}, "time_stride"),
        ({"time_stride": "2"}, "time_stride"),
        ({"batch_size": True}, "batch_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"tile": 30}, "multiple of 8"),
        ({"tile": 8}, "tile=8 must be an integer >= 16"),
        ({"overlap": -1}, "overlap"),
        ({"tile": 64, "overlap": 40}, "tile // 2 = 32"),
        ({"device": "gpu"}, "device"),
        ({"symmetries": 3}, r"symmetries=3 must be one of \(1, 2, 4, 8, 16\)"),
        ({"symmetries": 0}, "symmetries"),
        ({"model": ""}, "model"),
        ({"model": 3}, "model"),
    ],
)
def test_bad_values_raise_parameter_errors(bad, match):
    with pytest.raises(ParameterError, match=match):
        DenoiseOptions(**bad)


def test_values_are_normalised():
    from pathlib import Path

    import numpy as np

    o = DenoiseOptions(tile=np.int64(64), device="CUDA:1", model=Path("w.safetensors"))
    assert type(o.tile) is int and o.device == "cuda:1" and o.model == "w.safetensors"


def test_replace_and_merge_validate_and_reject_unknown_names():
    o = DenoiseOptions(tile=64, overlap=16)
    assert o.replace(time_stride=4) == DenoiseOptions(tile=64, overlap=16, time_stride=4)
    assert merge(None) == DenoiseOptions() and merge(o) is o
    with pytest.raises(
        ParameterError, match=r"unknown denoise option.*'stride'.*valid: batch_size"
    ):
        o.replace(stride=4)
    with pytest.raises(ParameterError, match="overlap"):
        o.replace(overlap=33)
    with pytest.raises(ParameterError, match="DenoiseOptions"):
        merge({"tile": 64})  # type: ignore[arg-type]


def test_dict_and_yaml_round_trips():
    o = DenoiseOptions(model="window-v2", device="cpu", tile=64, overlap=8, time_stride=3)
    assert DenoiseOptions.from_dict(o.to_dict()) == o
    text = o.to_yaml()
    assert text.splitlines()[0] == "model: window-v2"  # field order
    assert DenoiseOptions.from_yaml(text) == o
    assert DenoiseOptions.from_yaml("") == DenoiseOptions()
    assert DenoiseOptions.from_yaml("tile: 64\n") == DenoiseOptions(tile=64)
    with pytest.raises(ParameterError, match=r"unknown.*'tiles'"):
        DenoiseOptions.from_yaml("tiles: 64\n")
    with pytest.raises(ParameterError, match="mapping"):
        DenoiseOptions.from_yaml("- 64\n")
    with pytest.raises(ParameterError, match="YAML"):
        DenoiseOptions.from_yaml("tile: [64\n")


def test_identity_is_stable_and_tells_options_apart():
    a, b = DenoiseOptions(), DenoiseOptions(time_stride=2)
    assert a.identity() == DenoiseOptions().identity()
    assert list(a.identity()) == sorted(a.identity())
    assert a.identity() != b.identity()


def test_importing_the_options_loads_no_torch():
    code = (
        "import sys; from insar_ae.model import DenoiseOptions; DenoiseOptions(tile=64); "
        "print('torch' in sys.modules)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"


def test_the_train_function_survives_the_lazy_package():
    import insar_ae.model.train  # noqa: F401  (the submodule of the same name)
    from insar_ae.model import train

    assert callable(train) and train.__module__ == "insar_ae.model.train"
