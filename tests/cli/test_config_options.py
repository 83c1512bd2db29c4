"""Options given in a --config file get the checks their flags get, with the same one-line message; hostile config
files (an alias bomb, 100,000-deep nesting) are refused in one line, within seconds."""

import os
import re
import resource
import subprocess
import sys

import pytest
from cli_helpers import invoke

BIG = "1" + "0" * 30  # beyond 64 bits


def one_line(*args):
    """The one `error: ...` line of a command that must fail with exit code 2."""
    r = invoke(*(str(a) for a in args))
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.exit_code == 2, (r.output, r.exception)
    assert "Traceback" not in r.output and len(lines) == 1 and lines[0].startswith("error: "), r.output
    return lines[0]


@pytest.fixture
def no_work(monkeypatch):
    """Training and exporting refuse to start: a value the checks let through fails the test at once."""
    import snndeploy.training.train as train_module
    from snndeploy.runners.produce_graph import GraphFromCheckpoint

    def accepted(*args, **kwargs):
        raise AssertionError("the value was accepted")

    monkeypatch.setattr(train_module, "train", accepted)
    monkeypatch.setattr(GraphFromCheckpoint, "each_T", accepted)


def in_file(by_flag: str, config, text: str) -> str:
    """The message of a flag's bad value, as a config file holding it gets it: the file and the key instead of the
    flag ('error: c.yaml: batch_size must be >= 1, got 0' for 'error: --batch-size (batch_size) must be >= 1, got
    0'); the key is the file's last line's (both ends of the noise range: 'noise_lo/noise_hi')."""
    keys = [line.split(":")[0] for line in text.splitlines()]
    key = "noise_lo/noise_hi" if keys == ["noise_lo", "noise_hi"] else keys[-1]
    rest = re.sub(r"^error: --[\w-]+( \(\w+\))? ", "", by_flag)
    assert rest != by_flag, by_flag
    return f"error: {config}: {key} {rest}"


# (flags, the same value in a config file)
TRAIN = [
    (("--method", "bptt", "--T", BIG), f"method: bptt\nT: {BIG}"),
    (("--method", "bptt", "--T", 2**31), f"method: bptt\nT: {2**31}"),
    (("--epochs", BIG), f"epochs: {BIG}"),
    (("--epochs", 2**31), f"epochs: {2**31}"),
    (("--batch-size", BIG), f"batch_size: {BIG}"),
    (("--batch-size", 2**31), f"batch_size: {2**31}"),
    (("--t0-epochs", BIG), f"t0_epochs: {BIG}"),
    (("--seed", BIG), f"seed: {BIG}"),
    (("--seed", 2**63), f"seed: {2**63}"),
    (("--seed", -1), "seed: -1"),
    (("--limit-train", 0), "limit_train: 0"),
    (("--limit-train", -1), "limit_train: -1"),
    (("--limit-train", BIG), f"limit_train: {BIG}"),
    (("--limit-train", 2**31), f"limit_train: {2**31}"),
    (("--limit-test", 0), "limit_test: 0"),
    (("--limit-test", BIG), f"limit_test: {BIG}"),
    (("--image-size", 0), "image_size: 0"),
    (("--image-size", BIG), f"image_size: {BIG}"),
    (("--lr", "nan"), "lr: .nan"),
    (("--lr", "inf"), "lr: .inf"),
    (("--lr", "1e38"), "lr: 1.0e+38"),
    (("--lr", "11"), "lr: 11"),
    (("--lr", "0"), "lr: 0"),
    (("--noise-range", "0,inf"), "noise_hi: .inf"),
    (("--noise-range", "nan,1"), "noise_lo: .nan"),
    (("--noise-range", "1,0"), "noise_lo: 1\nnoise_hi: 0"),
]


@pytest.mark.parametrize("flags, text", TRAIN)
def test_train_config_values_are_checked_like_flags(flags, text, tmp_path, no_work):
    config = tmp_path / "c.yaml"
    config.write_text(text + "\n")
    by_flag = one_line("train", *flags, "-o", tmp_path / "x")
    assert one_line("train", "--config", config, "-o", tmp_path / "x") == in_file(by_flag, config, text)
    assert not (tmp_path / "x").exists()


EXPORT = [
    (("--seed", BIG), f"seed: {BIG}"),
    (("--seed", -1), "seed: -1"),
    (("--max-batch", BIG), f"max_batch: {BIG}"),
    (("--max-batch", 2**31), f"max_batch: {2**31}"),
    (("--max-batch", 0), "max_batch: 0"),
    (("--beta", "inf"), "beta: .inf"),
    (("--beta", "nan"), "beta: .nan"),
    (("--T", 0), "T: 0"),
    (("--T", BIG), f"T: [{BIG}]"),
    (("--stage", 5), "stage: 5"),
    (("--opset", BIG), f"opset: {BIG}"),
]


@pytest.mark.parametrize("flags, text", EXPORT)
def test_export_config_values_are_checked_like_flags(flags, text, tmp_path, no_work):
    config = tmp_path / "c.yaml"
    config.write_text(text + "\n")
    by_flag = one_line("export", tmp_path / "run", *flags, "-o", tmp_path / "x")
    by_file = one_line("export", tmp_path / "run", "--config", config, "-o", tmp_path / "x")
    assert by_file == in_file(by_flag, config, text)
    assert not (tmp_path / "x").exists()


def test_a_flag_over_a_config_value_wins_and_its_error_names_the_flag(tmp_path, no_work):
    config = tmp_path / "c.yaml"
    config.write_text("epochs: 0\nbatch_size: 8\n")
    assert one_line("train", "--config", config, "--batch-size", 0, "--epochs", 2, "-o", tmp_path / "x") == \
        "error: --batch-size (batch_size) must be >= 1, got 0"
    config.write_text("T: 0\nseed: 1\n")
    assert one_line("export", tmp_path / "run", "--config", config, "--T", 2, "--seed", -1, "-o", tmp_path / "x") \
        == f"error: --seed must be an integer from 0 to {2**63 - 1}, got -1"


def test_preset_errors_name_the_preset(no_work, tmp_path):
    """A preset is a config file too: a flag at odds with it gets a message naming the preset and its key."""
    assert one_line("train", "--config", "paper-mnist", "--T", 5, "-o", tmp_path / "x") == \
        "error: paper-mnist: method 'noise' trains at T = 1; --T applies to method bptt"


def test_lr_has_a_ceiling(no_work, tmp_path):
    """Adam moves every weight by about lr per step: past 10 a run can only diverge (1e38 overflowed in training)."""
    assert one_line("train", "--lr", "1e38", "-o", tmp_path / "x") == \
        "error: --lr must be at most 10 (Adam moves every weight by about lr per step), got 1e+38"


def test_noise_range_messages_name_the_flag_that_exists(no_work, tmp_path):
    line = one_line("train", "--noise-range", "0,inf", "-o", tmp_path / "x")
    assert line == "error: --noise-range (noise_hi) must be a finite number, got inf"
    assert one_line("train", "--noise-range", "1,0", "-o", tmp_path / "x") == \
        "error: --noise-range must have lo < hi, got 1.0,0.0"


def _cli(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """`snndeploy ARGS` in a child process capped at 4 GB of data (an expanding bomb fails instead of swapping),
    killed after 20 s (the refusal takes well under one)."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (4 << 30, 4 << 30))

    return subprocess.run([sys.executable, "-m", "snndeploy.cli.main", *args], capture_output=True, text=True,
                          timeout=20, cwd=tmp_path, preexec_fn=cap, env={**os.environ, "COLUMNS": "200"})


# The billion laughs under a key both commands know: 9 levels of 9 aliases, 9**9 strings once written out
BOMB = ("seed: [&a [" + ",".join(['"lol"'] * 9) + "], " +
        ", ".join(f"&{n} [" + ",".join([f"*{p}"] * 9) + "]" for p, n in zip("abcdefgh", "bcdefghi", strict=True))
        + "]\n")


@pytest.mark.parametrize("command", ["train", "export"])
@pytest.mark.parametrize("name, text, message", [
    ("bomb.yaml", BOMB, "uses YAML anchors/aliases (&name / *name), which snndeploy does not accept"),
    ("deep.yaml", "seed: " + "[" * 100_000 + "]" * 100_000 + "\n",
     "nests more than 64 levels deep; it is not a snndeploy file"),
], ids=["bomb", "deep"])
def test_hostile_config_files_are_one_line(tmp_path, command, name, text, message):
    config = tmp_path / name
    config.write_text(text)
    assert len(BOMB) < 400
    args = ["train", "--config", str(config)] if command == "train" else ["export", "run", "--config", str(config)]
    r = _cli(tmp_path, *args, "-o", str(tmp_path / "x"))
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr[-2000:]
    assert lines[0] == f"error: config file {config} {message}"
    assert not (tmp_path / "x").exists()


def test_a_fifo_config_is_one_line(tmp_path):
    fifo = tmp_path / "c.yaml"
    os.mkfifo(fifo)
    r = _cli(tmp_path, "train", "--config", str(fifo), "-o", str(tmp_path / "x"))
    assert r.returncode == 2 and r.stderr.strip() == f"error: config file {fifo} is not a regular file", r.stderr


def _flags(*path: str) -> set[str]:
    """Every option string of the command `snndeploy PATH...`."""
    import typer

    from snndeploy.cli.main import app

    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return {opt for p in command.params for opt in getattr(p, "opts", [])}


@pytest.mark.parametrize("command, config", [
    (("train",), "snndeploy.core.config:TrainConfig"),
    (("export",), "snndeploy.export.exporter:ExportConfig"),
    (("bench", "train"), "snndeploy.bench.train_study.config:TrainCostConfig"),
])
def test_messages_name_flags_that_exist(command, config):
    """option_name, how a message names a config key, gives a flag of the command the config belongs to."""
    import dataclasses
    import importlib

    from snndeploy.core.validate import option_name

    module, name = config.split(":")
    cls = getattr(importlib.import_module(module), name)
    flags = _flags(*command)
    for field in dataclasses.fields(cls):
        assert option_name(field.name).split(" ")[0] in flags, (command, field.name)
