"""YAML numbers in configs: PyYAML reads `1e-3` (no dot) as a string; float fields take it, other fields do not.
Messages name the flag (and the key a config file spells differently), suggest the known key an unknown one is
likely a typo of, and give the line of a YAML syntax error."""

import math
import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snndeploy.core.config import TrainConfig, from_mapping, load_yaml
from snndeploy.core.errors import SnnDeployError


@pytest.mark.parametrize("text, field, value", [
    ("lr: 1e-3", "lr", 1e-3),
    ("lr: 2E+0", "lr", 2.0),
    ("lr: .5e-2", "lr", 5e-3),
    ("lr: '0.25'", "lr", 0.25),
    ("noise_lo: -1e-1", "noise_lo", -0.1),
    ("noise_hi: '1e1'", "noise_hi", 10.0),
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
    ({"epochs": 0}, "run.yaml: epochs must be >= 1, got 0"),
    ({"batch_size": 0}, "run.yaml: batch_size must be >= 1, got 0"),
    ({"lr": -1}, "run.yaml: lr must be a positive number, got -1.0"),
    ({"method": "bptt", "T": 0}, "run.yaml: T must be >= 1, got 0"),
    ({"seed": -1}, f"run.yaml: seed must be an integer from 0 to {2**63 - 1}, got -1"),
    ({"noise_lo": 1, "noise_hi": 0}, "run.yaml: noise_lo/noise_hi must have lo < hi, got 1.0,0.0"),
    ({"device": "gpu"}, "run.yaml: device: PyTorch runs on 'cpu' or 'cuda' (or 'cuda:N'), not 'gpu'"),
    ({"epochs": "x"}, "run.yaml: option 'epochs' must be int, got 'x'"),
])
def test_range_messages_of_a_file_name_the_file_and_the_key(data, message):
    """A value read from a config file is named by the file and its key, never by a flag the user did not type."""
    with pytest.raises(SnnDeployError) as err:
        from_mapping(TrainConfig, data, "train", "run.yaml")
    assert str(err.value) == message


def test_a_flag_wins_over_the_file_and_its_error_names_the_flag():
    assert from_mapping(TrainConfig, {"epochs": 0}, "train", "run.yaml", over={"epochs": 3}).epochs == 3
    with pytest.raises(SnnDeployError) as err:
        from_mapping(TrainConfig, {"epochs": 5}, "train", "run.yaml", over={"epochs": 0})
    assert str(err.value) == "--epochs must be >= 1, got 0"
    with pytest.raises(SnnDeployError) as err:  # both named: the file's key, the flag as typed
        from_mapping(TrainConfig, {"method": "noise"}, "train", "run.yaml", over={"T": 4})
    assert str(err.value) == "run.yaml: method 'noise' trains at T = 1; --T applies to method bptt"


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
        # refused only what PyYAML refuses, a document that is not a mapping, or one with anchors/aliases
        aliases = "uses YAML anchors/aliases" in str(exc)
        assert parsed is yaml.YAMLError or not isinstance(parsed, dict | None) or aliases
        assert aliases or ("is not valid YAML: " in str(exc)) == (parsed is yaml.YAMLError)
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


# Hostile config files: each is refused in one line, quickly, whatever it would expand to.

ALIASES = "config file {path} uses YAML anchors/aliases (&name / *name), which snndeploy does not accept"


@pytest.mark.parametrize("text", [
    "lr: &rate 0.1\nt0_epochs: 3\n",  # an anchor, even unused
    "a: &x [1]\nb: *x\n",
    "lr: *rate\n",  # an alias without its anchor
    "base: &b {epochs: 1}\ntrain:\n  <<: *b\n",  # a merge key is an alias too
])
def test_anchors_and_aliases_are_refused(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(SnnDeployError) as err:
        load_yaml(path)
    assert str(err.value) == ALIASES.format(path=path)


def test_alias_bomb_is_refused_without_expanding_it(tmp_path):
    """The billion laughs: 9 levels of 9 aliases (about 330 bytes that are 9**9 strings once written out)."""
    text = ("lr: [&a [" + ",".join(['"lol"'] * 9) + "], " +
            ", ".join(f"&{n} [" + ",".join([f"*{p}"] * 9) + "]" for p, n in zip("abcdefgh", "bcdefghi", strict=True))
        + "]\n")
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    with pytest.raises(SnnDeployError) as err:
        load_yaml(path)
    assert str(err.value) == ALIASES.format(path=path)


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,
    "a: " + "[" * 65 + "]" * 65 + "\n",
    "".join(" " * i + "a:\n" for i in range(70)) + " " * 70 + "1\n",
    "a: " + "{b: " * 100_000 + "1" + "}" * 100_000 + "\n",
], ids=["lists", "65-lists", "70-mappings", "mappings"])
def test_deep_nesting_is_refused_in_one_line(tmp_path, text):
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    with pytest.raises(SnnDeployError) as err:
        load_yaml(path)
    assert str(err.value) == f"config file {path} nests more than 64 levels deep; it is not a snndeploy file"


def test_nesting_up_to_the_limit_is_read(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("a: " + "[" * 63 + "]" * 63 + "\n")  # the mapping is level 1
    assert load_yaml(path)["a"] is not None


def test_a_config_is_a_bounded_regular_file(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(SnnDeployError, match=f"^config file {fifo} is not a regular file$"):
        load_yaml(fifo)  # without a writer, opening it would block
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * (1 << 20) + "\n")
    with pytest.raises(SnnDeployError, match=f"^config file {big} is 1.0 MB, over the 1 MB limit"):
        load_yaml(big)
    with pytest.raises(SnnDeployError, match=f"^config file not found: {tmp_path / 'none.yaml'}$"):
        load_yaml(tmp_path / "none.yaml")
    with pytest.raises(SnnDeployError, match=f"^config file {tmp_path} is not a regular file$"):
        load_yaml(tmp_path)


def test_a_huge_integer_is_one_line(tmp_path):
    """PyYAML turns digits into an int with Python's 4300-digit limit: a ValueError, not a YAMLError."""
    path = tmp_path / "c.yaml"
    path.write_text("seed: " + "9" * 5000 + "\n")
    with pytest.raises(SnnDeployError) as err:
        load_yaml(path)
    assert str(err.value).startswith(f"config file {path} is not valid YAML: ") and len(str(err.value)) < 300


def _shared(depth: int) -> list:
    """A list that repr() writes out 2**depth times over (what an alias bomb parses to)."""
    x: list = ["lol"]
    for _ in range(depth):
        x = [x, x]
    return x


@pytest.mark.parametrize("data", [
    {"lr": "x" * 100_000},
    {"epochs": _shared(20)},
    {"method": "y" * 100_000},
    {"model": _shared(20)},
    {"device": "z" * 100_000},
    {"noise": "w" * 100_000},
    {"loss": "v" * 100_000},
    {"noise_draws": "u" * 100_000},
    {"x" * 100_000: 1},
])
def test_messages_quote_values_short(data):
    """A value from a file is quoted cut to about 100 characters, however big it is (or would be written out)."""
    with pytest.raises(SnnDeployError) as err:
        from_mapping(TrainConfig, data, "train")
    assert len(str(err.value)) < 400 and "\n" not in str(err.value)
