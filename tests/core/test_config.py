"""YAML numbers in configs: PyYAML reads `1e-3` (no dot) as a string; float fields take it, other fields do not.
Messages name the flag (and the key a config file spells differently), suggest the known key an unknown one is
likely a typo of, and give the line of a YAML syntax error."""

import math

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snndeploy.core.config import TrainConfig, from_mapping, load_yaml
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


@pytest.mark.parametrize("changes, message", [
    ({"batch_size": 0}, "--batch-size (batch_size) must be >= 1, got 0"),
    ({"t0_epochs": -2}, "--t0-epochs (t0_epochs) must be >= 1, got -2"),
    ({"epochs": 0}, "--epochs must be >= 1, got 0"),
    ({"method": "bptt", "T": 0}, "--T must be >= 1, got 0"),
    ({"lr": 0.0}, "--lr must be a positive number, got 0.0"),
])
def test_range_messages_name_the_flag_and_the_key(changes, message):
    """One message for a flag and a config-file key: the flag, and the key where the file spells it differently."""
    with pytest.raises(SnnDeployError) as err:
        TrainConfig(**changes)
    assert str(err.value) == message


@pytest.mark.parametrize("data, message", [
    ({"epoch": 3}, "unknown train option(s): epoch (did you mean epochs?); known: "),
    ({"batchsize": 3, "lr": 0.1}, "unknown train option(s): batchsize (did you mean batch_size?); known: "),
    ({"zzz": 1, "seeds": 2}, "unknown train option(s): seeds (did you mean seed?), zzz; known: "),
    ({1: 2, "limit-test": 5}, "unknown train option(s): 1, limit-test (did you mean limit_test?); known: "),
])
def test_unknown_keys_get_a_close_match(data, message):
    with pytest.raises(SnnDeployError) as err:
        from_mapping(TrainConfig, data, "train")
    known = ", ".join(sorted(TrainConfig.__dataclass_fields__))
    assert str(err.value) == message + known


@pytest.mark.parametrize("text, message", [
    ("epochs: [1, 2\nlr: 3\n", "line 2, column 3: expected ',' or ']', but got ':' (while parsing a flow sequence "
                               "from line 1)"),
    ("epochs: 1\n  lr: 2\n", "line 2, column 5: mapping values are not allowed here"),
    ("model: 'cnn\n", "line 2, column 1: found unexpected end of stream (while scanning a quoted scalar from line 1)"),
    ("\tepochs: 1\n", "line 1, column 1: found character '\\t' that cannot start any token (while scanning for the "
                      "next token)"),
    ("lr: *rate\n", "line 1, column 5: found undefined alias 'rate'"),
])
def test_invalid_yaml_names_the_file_and_the_line(tmp_path, text, message):
    path = tmp_path / "train.yaml"
    path.write_text(text)
    with pytest.raises(SnnDeployError) as err:
        load_yaml(path)
    assert str(err.value) == f"config file {path} is not valid YAML: {message}"


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEYS = st.sampled_from(sorted(TrainConfig.__dataclass_fields__) + ["epoch", "batchsize", "Lr", "", "1", "t0"])
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True), st.text(max_size=8),
                   st.lists(st.integers(0, 2), max_size=2))


# random text (mostly refused) and mappings written by PyYAML itself (read back whole)
MAPPINGS = st.dictionaries(st.text("ab01", min_size=1, max_size=3),
                           st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text("ab:", max_size=3)),
                           max_size=3).map(yaml.safe_dump)


@FUZZ
@given(text=st.one_of(st.text(alphabet="ab:-[]{}',\"*&!|>#%@\n\t 01", max_size=60), MAPPINGS))
def test_any_yaml_text_loads_or_fails_in_one_line(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("yaml") / "c.yaml"
    path.write_text(text)
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        parsed = yaml.YAMLError  # PyYAML itself refuses the text
    try:
        data = load_yaml(path)
    except SnnDeployError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(f"config file {path} ")
        # refused only what PyYAML refuses, or a document that is not a mapping
        assert parsed is yaml.YAMLError or not isinstance(parsed, dict | None)
        assert ("is not valid YAML: " in str(exc)) == (parsed is yaml.YAMLError)
    else:
        assert data == ({} if parsed is None else parsed)  # the mapping PyYAML reads, an empty file as {}


@FUZZ
@given(data=st.dictionaries(st.one_of(KEYS, st.integers(0, 2)), VALUES, max_size=4))
def test_any_mapping_builds_or_fails_in_one_line(data):
    known = set(TrainConfig.__dataclass_fields__)
    try:
        cfg = from_mapping(TrainConfig, data, "train")
    except SnnDeployError as exc:
        assert "\n" not in str(exc)
        if not set(data) <= known:  # unknown keys are named before any value is looked at
            assert str(exc).startswith("unknown train option(s): ")
    else:
        assert isinstance(cfg, TrainConfig) and set(data) <= known  # no unknown key is dropped silently
        for key, value in data.items():  # every key given is the value the config holds, converted at most
            held = getattr(cfg, key)
            if isinstance(value, list):
                assert held == tuple(value), key
            elif isinstance(value, float) and math.isnan(value):
                assert math.isnan(held), key
            elif isinstance(value, str) and isinstance(held, float):  # a YAML number string in a float field
                assert held == float(value), key
            else:
                assert held == value and (type(held) is type(value) or isinstance(held, float)), key
        assert all(getattr(cfg, k) == getattr(TrainConfig(), k) for k in known - set(data))  # the rest: defaults
