"""YAML numbers in configs: PyYAML reads `1e-3` (no dot) as a string; float fields take it, other fields do not."""

import math

import pytest
import yaml

from snndeploy.core.config import TrainConfig, from_mapping
from snndeploy.core.errors import SnnDeployError


@pytest.mark.parametrize("text, field, value", [
    ("lr: 1e-3", "lr", 1e-3),
    ("lr: 2E+1", "lr", 20.0),
    ("lr: .5e-2", "lr", 5e-3),
    ("lr: '0.25'", "lr", 0.25),
    ("noise_lo: -1e-1", "noise_lo", -0.1),
    ("noise_hi: inf", "noise_hi", math.inf),
])
def test_float_fields_take_numeric_strings(text, field, value):
    data = yaml.safe_load(text)
    assert getattr(from_mapping(TrainConfig, data, "train"), field) == value


@pytest.mark.parametrize("text, message", [
    ("lr: nan", "option 'lr' must be float, got 'nan'"),
    ("lr: 1e-3x", "option 'lr' must be float, got '1e-3x'"),
    ("lr: 1,5", "option 'lr' must be float, got '1,5'"),
    ("epochs: 1e3", "option 'epochs' must be int, got '1e3'"),  # strictly: only fields typed float
    ("limit_train: '64'", "option 'limit_train' must be int, got '64'"),
])
def test_other_strings_stay_refused(text, message):
    with pytest.raises(SnnDeployError, match=message):
        from_mapping(TrainConfig, yaml.safe_load(text), "train")
