"""An empty value (`--config ""`, `--data-dir ""`, `-o ""`, an empty ARTIFACT) is a user error on every command:
one line naming the option and what it takes, exit 2, before any work; never "not given" or "the current folder"."""

import pytest
from cli_helpers import invoke

from snndeploy import presets

TRAIN_PRESETS = ", ".join(presets.names("train"))
EXPORT_PRESETS = ", ".join(presets.names("export"))


def one_line(*args):
    """Run a command that must fail with exit code 2 and one line `error: ...` on stderr; return that line."""
    r = invoke(*args)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and len(lines) == 1 and lines[0].startswith("error: "), r.output
    return lines[0]


# --epochs 0 and missing artifacts make each command fail fast if the empty value were taken for "not given"
@pytest.mark.parametrize("args, message", [
    (("train", "--config", "", "--epochs", 0),
     f"--config is empty: give a preset of snndeploy train ({TRAIN_PRESETS}) or a YAML file"),
    (("export", "{tmp}/run", "--config", ""),
     f"--config is empty: give a preset of snndeploy export ({EXPORT_PRESETS}) or a YAML file"),
    (("train", "--data-dir", "", "--epochs", 0), "--data-dir is empty: give a folder"),
    (("train", "-o", "", "--epochs", 0), "--out is empty: give a path"),
    (("train", "--dataset", "", "--epochs", 0), "--dataset is empty: give a name"),
    (("export", "{tmp}/run", "-o", ""), "--out is empty: give a folder"),
    (("eval", "{tmp}/g.onnx", "--data-dir", ""), "--data-dir is empty: give a folder"),
    (("eval", "{tmp}/g.onnx", "--json", ""), "--json is empty: give a file path"),
    (("eval", "{tmp}/g.onnx", "--T", "1", "--T", ""), "--T is empty: give a number"),
    (("stats", "{tmp}/run", "--data-dir", ""), "--data-dir is empty: give a folder"),
    (("quantize", "{tmp}/g.onnx", "--data-dir", ""), "--data-dir is empty: give a folder"),
    (("build", "{tmp}/g.onnx", "--timing-cache", ""), "--timing-cache is empty: give a file path"),
    (("build", "{tmp}/g.onnx", "-o", ""), "--out is empty: give a file path"),
    (("bench", "{tmp}/g.onnx", "--json", ""), "--json is empty: give a file path"),
    (("bench", "run", "{tmp}/g.onnx", "--data-dir", ""), "--data-dir is empty: give a folder"),
    (("bench", "train", "-o", "", "--epochs", 0), "--out is empty: give a path"),
    (("infer", "{tmp}/g.onnx", "{tmp}/a.png", "--json", ""), "--json is empty: give a file path"),
    (("eval", ""), "ARTIFACT is empty: give a path"),
    (("build", ""), "MODEL is empty: give a path"),
    (("infer", "{tmp}/g.onnx", ""), "INPUTS is empty: give a path"),
])
def test_empty_values_are_refused(args, message, tmp_path):
    line = one_line(*[str(a).replace("{tmp}", str(tmp_path)) for a in args])
    assert line.startswith(f"error: {message}"), line


@pytest.mark.parametrize("command, text, message", [
    (("train",), 'data_dir: ""\nepochs: 0\n', "--data-dir (data_dir) is empty: give a value"),
    (("train",), 'out: ""\nepochs: 0\n', "--out is empty: give a value"),
    (("export", "{tmp}/run"), 'out: ""\nT: [0]\n', "--out is empty: give a value"),
])
def test_empty_values_in_config_files_are_refused(command, text, message, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(text)
    line = one_line(*[str(a).replace("{tmp}", str(tmp_path)) for a in command], "--config", config)
    assert line.startswith(f"error: {config}: {message}"), line
