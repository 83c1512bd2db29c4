"""Bad option values, a full disk and other OSErrors a user causes: one line `error: ...` and exit code 2, never a
traceback (unless `snndeploy --debug`); `infer --seed` repeats a noisy network's answer exactly."""

import errno
import json
import os
from pathlib import Path

import pytest
from cli_helpers import invoke

from snndeploy.core import atomic
from snndeploy.core.errors import SnnDeployError

IMAGE = Path(__file__).parents[2] / "samples" / "images" / "digit0_test2.png"


def one_line(*args):
    """Run a command that must fail with exit code 2 and exactly one line `error: ...` on stderr (stdout may hold
    what was done before the failure); return that line."""
    r = invoke(*args)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and len(lines) == 1 and lines[0].startswith("error: "), r.output
    return lines[0]


@pytest.fixture(scope="module")
def graph(tiny_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("graph")
    assert invoke("export", tiny_run.path.parent, "--T", 2, "-o", out).exit_code == 0
    return out / "small-cnn_T2.onnx"


BIG = "99999999999999999999"


@pytest.mark.parametrize("args, message", [
    (("infer", "{run}", IMAGE, "--seed", BIG), f"--seed must be an integer from 0 to {2**63 - 1}, got {BIG}"),
    (("infer", "{graph}", IMAGE, "--seed", -3), "--seed must be an integer from 0"),
    (("eval", "{run}", "--seed", BIG), "--seed must be an integer from 0"),
    (("export", "{run}", "--seed", BIG, "-o", "{tmp}/x"), "--seed must be an integer from 0"),
    (("train", "--seed", -1, "-o", "{tmp}/x"), "--seed must be an integer from 0"),
    (("eval", "{run}", "--T", BIG), f"--T is out of range: {BIG}"),
    (("infer", "{run}", IMAGE, "--T", BIG), f"--T is out of range: {BIG}"),
    (("eval", "{run}", "--limit-test", BIG), f"--limit-test is out of range: {BIG}"),
    (("eval", "{run}", "--device", "tpu"), "PyTorch runs on 'cpu' or 'cuda' (or 'cuda:N'), not 'tpu'"),
    (("eval", "{graph}", "--device", "tpu"), "unknown ONNX Runtime device 'tpu'"),
    (("infer", "{run}", IMAGE, "--device", "tpu"), "not 'tpu'"),
    (("eval", "{run}", "--json", "{tmp}"), "--json {tmp} is a folder; give a file path"),
    (("eval", "{run}", "--json", "{tmp}/new/"), "is a folder; give a file path"),
    (("eval", "{run}", "--plot", "{tmp}"), "--plot {tmp} is a folder"),
    (("eval", "{run}", "--json", "{tmp}/file/x.json"), "{tmp}/file is not a folder"),
    (("infer", "{run}", IMAGE, "--json", "{tmp}"), "--json {tmp} is a folder"),
    (("bench", "{graph}", "--json", "{tmp}"), "--json {tmp} is a folder"),
    (("bench", "{graph}", "--csv", "{tmp}"), "--csv {tmp} is a folder"),
    (("export", "{run}", "--beta", "nan", "-o", "{tmp}/x"), "--beta must be a finite number, got nan"),
    (("export", "{run}", "--beta", "inf", "-o", "{tmp}/x"), "--beta must be a finite number, got inf"),
    (("export", "{run}", "--beta", "-inf", "-o", "{tmp}/x"), "--beta must be a finite number, got -inf"),
    (("train", "--lr", "nan", "-o", "{tmp}/x"), "--lr must be a finite number, got nan"),
    (("eval", "{run}", "--batch-size", 0), "error: --batch-size (batch_size) must be a positive integer, got 0"),
    (("eval", "{run}", "--batch-size", -5), "error: --batch-size (batch_size) must be a positive integer, got -5"),
    (("eval", "{graph}", "--batch-size", 0), "error: --batch-size (batch_size) must be a positive integer, got 0"),
    (("train", "--batch-size", 0, "-o", "{tmp}/x"), "error: --batch-size (batch_size) must be >= 1, got 0"),
    (("bench", "{graph}", "--batch", 0), "batch sizes must be >= 1"),
    (("bench", "{graph}", "--batch", BIG), f"--batch is out of range: {BIG}"),
    (("bench", "{graph}", "--iters", 0), "--iters must be >= 1, got 0"),
    (("export", "{run}", "--batch", -3, "-o", "{tmp}/x"), "batch must be 'dynamic' or a positive integer"),
    (("export", "{run}", "--max-batch", 0, "-o", "{tmp}/x"), "error: --max-batch (max_batch) must be >= 1, got 0"),
    (("eval", "{run}", "--limit-test", 0), "error: --limit-test (limit_test) must be a positive integer, got 0"),
    (("infer", "{run}", IMAGE, "--T", 0), "error: --T must be >= 1, got 0"),  # not 'export the checkpoint at T = 0'
    (("infer", "{run}", IMAGE, "--T", -2), "error: --T must be >= 1, got -2"),
    (("infer", "{graph}", IMAGE, "--T", 0), "error: --T must be >= 1, got 0"),
])
def test_bad_option_values(args, message, tiny_run, graph, tmp_path):
    (tmp_path / "file").write_text("x")
    names = {"run": tiny_run.path.parent, "graph": graph, "tmp": tmp_path}
    line = one_line(*(str(a).format(**names) for a in args))
    assert message.format(**names) in line, line
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("args, message", [
    (("train", "--t0-epochs", 0, "-o", "{tmp}/x"), "error: --t0-epochs (t0_epochs) must be >= 1, got 0"),
    (("train", "--epochs", 0, "-o", "{tmp}/x"), "error: --epochs must be >= 1, got 0"),
    (("train", "--lr", -1, "-o", "{tmp}/x"), "error: --lr must be a positive number, got -1.0"),
    (("train", "--method", "bptt", "--T", 0, "-o", "{tmp}/x"), "error: --T must be >= 1, got 0"),
    (("train", "--epochs", 1, "--limit-train", 0, "-o", "{tmp}/x"),
     "error: --limit-train (limit_train) must be a positive integer, got 0"),
    (("train", "--epochs", 1, "--dataset", "folder", "-o", "{tmp}/x"),
     "error: the folder dataset needs --data-dir (data_dir): a folder holding one subfolder per class"),
    (("train", "--epochs", 1, "--data-dir", "{tmp}", "-o", "{tmp}/x"),
     "error: the sample dataset is bundled and takes no --data-dir (data_dir)"),
    (("eval", "{run}", "--data-dir", "{tmp}/none"),  # a run trained on the bundled sample
     "error: the sample dataset is bundled and takes no --data-dir (data_dir)"),
    (("train", "--epochs", 1, "-o", "{tmp}/file"), "error: -o {tmp}/file is a file, not a folder"),
    (("train", "-o", "{run}", "--resume", "--noise-range", "0.5,1"),  # the flag that exists, not --noise-lo
     "error: cannot resume with a different --noise-range: the run was trained with --noise-range 0.0, "
     "this command gives --noise-range 0.5"),
    (("train", "--config", "{tmp}/typo.yaml", "-o", "{tmp}/x"),
     "error: {tmp}/typo.yaml: unknown train option(s): epoch (did you mean epochs?), zzz; known: T, augment, "
     "batch_size, data_dir, dataset, device, epochs, image_size, limit_test, limit_train, loss, lr, method, model, "
     "noise, noise_draws, noise_hi, noise_lo, out, seed, t0_epochs"),
    (("train", "--config", "{tmp}/broken.yaml", "-o", "{tmp}/x"),
     "error: config file {tmp}/broken.yaml is not valid YAML: line 2, column 3: expected ',' or ']', but got ':' "
     "(while parsing a flow sequence from line 1)"),
])
def test_messages_name_the_flags(args, message, tiny_run, tmp_path):
    """Values that flags and config files share are named by the flag (and by the key where a file spells it
    differently); the line is exactly the message, nothing cut off."""
    (tmp_path / "file").write_text("x")
    (tmp_path / "typo.yaml").write_text("epoch: 3\nzzz: 1\n")
    (tmp_path / "broken.yaml").write_text("epochs: [1, 2\nlr: 3\n")
    names = {"run": tiny_run.path.parent, "tmp": tmp_path}
    assert one_line(*(str(a).format(**names) for a in args)) == message.format(**names)
    assert not (tmp_path / "x").exists() and (tmp_path / "file").read_text() == "x"


def test_json_folder_is_refused_before_any_work(tiny_run, tmp_path, monkeypatch):
    """`eval --json DIR` fails at once, and no temporary file lands beside DIR (formerly in its parent)."""
    import snndeploy.cli.eval_cmd as eval_cmd

    def no_work(*args, **kwargs):
        raise AssertionError("evaluated before refusing the output path")

    monkeypatch.setattr(eval_cmd, "evaluate", no_work)
    out = tmp_path / "out"
    out.mkdir()
    before = set(tmp_path.iterdir())
    assert "is a folder" in one_line("eval", tiny_run.path.parent, "--json", out)
    assert set(tmp_path.iterdir()) == before and not list(out.iterdir())


def _full_disk(monkeypatch):
    """Every temporary file of an atomic write fails halfway with ENOSPC, as on a full disk."""
    real = Path.write_bytes

    def write_bytes(self, data):
        if not self.parent.name.endswith(atomic.TEMP_SUFFIX):  # not inside an atomic write's private temp folder
            return real(self, data)
        with open(self, "wb") as fh:
            fh.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_bytes", write_bytes)


def test_full_disk_during_export_is_one_line(tiny_run, tmp_path, monkeypatch):
    _full_disk(monkeypatch)
    out = tmp_path / "ex"
    line = one_line("export", tiny_run.path.parent, "--T", 2, "-o", out)
    assert line == "error: no space left on device; free some space and run again"
    assert not [p for p in out.rglob("*") if p.is_file()]  # no partial graph, no temporary file


def test_full_disk_during_infer_json_is_one_line(tiny_run, tmp_path, monkeypatch):
    _full_disk(monkeypatch)
    line = one_line("infer", tiny_run.path.parent, IMAGE, "--json", tmp_path / "p.json")
    assert line == "error: no space left on device; free some space and run again"
    assert list(tmp_path.iterdir()) == []


def test_debug_shows_the_traceback(tiny_run, tmp_path, monkeypatch):
    r = invoke("--debug", "export", tiny_run.path.parent, "--beta", "nan", "-o", tmp_path / "x")
    assert r.exit_code != 2 and isinstance(r.exception, SnnDeployError)
    _full_disk(monkeypatch)
    r = invoke("--debug", "infer", tiny_run.path.parent, IMAGE, "--json", tmp_path / "p.json")
    assert isinstance(r.exception, OSError) and r.exception.errno == errno.ENOSPC
    assert one_line("infer", tiny_run.path.parent, IMAGE, "--json", tmp_path / "p.json").startswith("error: no space")


@pytest.mark.parametrize("exc, line", [
    (OSError(errno.ENOSPC, "No space left on device", "/data/run/model.safetensors"),
     "no space left on device (writing /data/run/model.safetensors); free some space and run again"),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), "no space left on device; free some space and run again"),
    (PermissionError(errno.EACCES, "Permission denied", "/root/x"), "permission denied: /root/x"),
    (OSError(errno.EROFS, "Read-only file system", "/mnt/ro/a.onnx"), "read-only file system: /mnt/ro/a.onnx"),
    (RuntimeError("writing failed"), None),  # not the user's doing: the traceback stays
    (OSError(errno.EBADF, "Bad file descriptor"), None),
])
def test_os_errors_a_user_causes_are_one_line(exc, line):
    from snndeploy.cli.common import os_error_line

    assert os_error_line(exc) == line


def test_wrapped_full_disk_is_recognised():
    """A library error that wraps ENOSPC or quotes it (safetensors' SafetensorError) counts as a full disk."""
    from safetensors import SafetensorError

    from snndeploy.cli.common import os_error_line

    quoted = SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: '
                             '"No space left on device" })')
    assert os_error_line(quoted) == "no space left on device; free some space and run again"
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("PytorchStreamWriter failed writing file") from inner
    except RuntimeError as outer:
        assert os_error_line(outer) == "no space left on device; free some space and run again"


def _predict(artifact, seed):
    r = invoke("infer", artifact, IMAGE.parent, "--seed", seed, "--json", "-")
    assert r.exit_code == 0, r.output
    return [(p["class"], p["confidence"]) for p in json.loads(r.output)["predictions"]]


def test_infer_seed_repeats_a_checkpoint(tiny_run):
    """The PyTorch runner draws its noise (and noise-bank offsets) from PyTorch's global generator."""
    run = tiny_run.path.parent
    first = _predict(run, 7)
    assert _predict(run, 7) == first  # same classes, same confidences to the last bit
    assert _predict(run, 8) != first  # the noise is real: another seed, other draws


def test_infer_seed_repeats_a_graph_that_draws_its_noise(tiny_run, tmp_path):
    """A --noise graph graph draws inside ONNX Runtime, seeded through onnxruntime.set_seed."""
    assert invoke("export", tiny_run.path.parent, "--T", 2, "--noise", "graph", "-o", tmp_path).exit_code == 0
    (onnx_file,) = tmp_path.glob("*.onnx")
    first = _predict(onnx_file, 7)
    assert _predict(onnx_file, 7) == first
    assert _predict(onnx_file, 8) != first


@pytest.mark.parametrize("args, line", [
    (("infer", "a.onnx", "x.png", "--T", "x"), "error: invalid value for '--T': "),
    (("bench", "train", "--target", "abc"), "error: invalid value for '--target': "),
    (("eval",), "error: missing argument 'ARTIFACT' (see snndeploy eval --help)"),
    (("infer", "a.onnx"), "error: missing argument 'INPUTS...' (see snndeploy infer --help)"),
    (("eval", "a.onnx", "--bogus"), "error: no such option: --bogus (see snndeploy eval --help)"),
    (("eval", "a.onnx", "--seed"), "error: option '--seed' requires an argument (see snndeploy eval --help)"),
    (("bench", "train", "--seed"), "error: option '--seed' requires an argument (see snndeploy bench train --help)"),
    (("--nope",), "error: no such option: --nope (see snndeploy --help)"),
    (("nope",), "error: no such command 'nope' (see snndeploy --help)"),
    (("eval", "a.onnx", "--threads", "0"), "error: --threads must be from 1 to 4096, got 0"),
    (("export", "a", "--threads", "5000"), "error: --threads must be from 1 to 4096, got 5000"),
])
def test_usage_errors_are_one_line(args, line):
    """Click's usage errors (a bad number, a missing argument, an unknown option or command, a value out of
    range) in Click's words, on one line `error: ...` with exit code 2, not Typer's error box."""
    got = one_line(*args)
    assert got.startswith(line), got
    assert "(see snndeploy" in got or "--threads" in got
