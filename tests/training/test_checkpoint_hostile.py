"""Hostile run folders: foreign files are never deleted, planted FIFOs / links / nesting bombs / huge images are one
line, a hostile training state is refused before torch sees it, a diverging run keeps its last good checkpoint,
and a write killed inside safetensors leaves nothing behind."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file, save_file

from snndeploy.core import atomic
from snndeploy.core.config import TrainConfig
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.hashing import sha256
from snndeploy.training import checkpoint as ckpt
from snndeploy.training.train import fit, resume_config, train

SMALL = dict(limit_train=128, limit_test=64, batch_size=64)


@pytest.fixture
def copy(tiny_run, tmp_path):
    dst = tmp_path / "ck"
    shutil.copytree(tiny_run.path.parent, dst, ignore=shutil.ignore_patterns(".lock"))
    return dst


def meta(folder):
    return json.loads((folder / "model.json").read_text())


def write_meta(folder, obj):
    (folder / "model.json").write_text(json.dumps(obj))


def one_line(exc_info):
    text = str(exc_info.value)
    assert "\n" not in text and len(text) < 300, text
    return text


def scaled(path, factor):
    """The checkpoint's model with its parameters scaled: other weights, other file names."""
    model = ckpt.load(path).model
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(factor)
    return model


# -- item 1: never delete what a manifest of this folder did not name -------------------------------------------

def test_foreign_tensor_files_in_a_folder_without_a_manifest_are_left_alone(tiny_run, tmp_path):
    loaded = ckpt.load(tiny_run.path)
    folder = tmp_path / "someone"
    folder.mkdir()
    foreign = {n: f"someone's {n}" for n in ("model.safetensors", "train_state.safetensors",
                                             "model.0123456789abcdef.safetensors", ".notes.tmp")}
    for name, text in foreign.items():
        (folder / name).write_text(text)
    for _ in range(3):
        ckpt.save(folder, loaded.model, loaded.facts)
    assert all((folder / n).read_text() == t for n, t in foreign.items())


def test_old_generations_are_removed_once_the_new_manifest_is_committed(tiny_run, tmp_path):
    loaded = ckpt.load(tiny_run.path)
    folder = tmp_path / "ck"
    names = []
    for factor in (1.0, 2.0, 3.0, 4.0):
        ckpt.save(folder, scaled(tiny_run.path, factor), loaded.facts)
        names.append(meta(folder)["weights"]["file"])
        assert ckpt.load(folder)
        present = sorted(p.name for p in folder.iterdir() if p.suffix == ".safetensors")
        assert present == [names[-1]]  # one generation on disk, not two
    assert meta(folder)["previous"] == [names[-2]]  # recorded, so a kill before the removal is cleaned later


def test_a_kill_between_commit_and_removal_is_cleaned_at_the_next_save(tiny_run, tmp_path):
    loaded = ckpt.load(tiny_run.path)
    folder = tmp_path / "ck"
    ckpt.save(folder, scaled(tiny_run.path, 1.0), loaded.facts)
    first = meta(folder)["weights"]["file"]
    stranded = folder / first
    ckpt.save(folder, scaled(tiny_run.path, 2.0), loaded.facts)
    shutil.copy(tiny_run.path.parent / meta(tiny_run.path.parent)["weights"]["file"], stranded)  # not removed
    ckpt.save(folder, scaled(tiny_run.path, 3.0), loaded.facts)
    assert not stranded.exists()  # named by 'previous' of the manifest the last save replaced
    foreign = folder / "model.fedcba9876543210.safetensors"  # no manifest named it: never removed
    foreign.write_text("someone's")
    ckpt.save(folder, scaled(tiny_run.path, 4.0), loaded.facts)
    assert foreign.read_text() == "someone's"


def test_previous_must_name_bare_tensor_files(copy):
    obj = meta(copy)
    for bad in (["../x.safetensors"], ["/etc/passwd"], "model.safetensors", [1], ["notes.txt"]):
        write_meta(copy, {**obj, "previous": bad})
        with pytest.raises(SnnDeployError, match="'previous' must be") as info:
            ckpt.load(copy)
        one_line(info)


# -- item 5: bounded reads of manifests and tensor files; image sizes; shapes before allocation -----------------

def test_a_deeply_nested_manifest_is_one_line(copy):
    (copy / "model.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SnnDeployError, match="nests more than") as info:
        ckpt.load(copy)
    one_line(info)


def test_a_fifo_as_manifest_is_one_line(copy):
    (copy / "model.json").unlink()
    os.mkfifo(copy / "model.json")
    with pytest.raises(SnnDeployError, match="not a regular file") as info:
        ckpt.load(copy)
    one_line(info)


LOAD = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))  # a read without end fails instead of swapping
    from snndeploy.core.errors import SnnDeployError
    from snndeploy.training import checkpoint as ckpt
    try:
        ckpt.load(sys.argv[1])
    except SnnDeployError as exc:
        print("error:", exc)
        sys.exit(2)
""")


@pytest.mark.parametrize("plant", ["fifo", "dev-zero"])
def test_a_fifo_or_endless_file_as_weights_is_one_line(copy, plant):
    weights = copy / meta(copy)["weights"]["file"]
    weights.unlink()
    if plant == "fifo":
        os.mkfifo(weights)
    else:
        weights.symlink_to("/dev/zero")
    done = subprocess.run([sys.executable, "-c", LOAD, str(copy)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 2, done.stderr[-2000:]
    assert "not a regular file" in done.stdout and done.stdout.count("\n") == 1


@pytest.mark.parametrize("key,value,match", [
    ("height", 2**31 - 1, "data.height must be <= 4096"),
    ("width", 100_000, "data.width must be <= 4096"),
    ("channels", 1000, "data.channels must be <= 64"),
])
def test_image_sizes_in_a_manifest_are_bounded(copy, key, value, match):
    obj = meta(copy)
    obj["facts"]["data"][key] = value
    if key == "channels":
        obj["facts"]["data"]["mean"] = [0.5] * value
        obj["facts"]["data"]["std"] = [0.5] * value
    write_meta(copy, obj)
    with pytest.raises(SnnDeployError, match=match) as info:
        ckpt.load(copy)
    one_line(info)


def test_too_many_classes_are_refused():
    from snndeploy.core.spec import DataSpec

    with pytest.raises(SnnDeployError, match="at most 100000 classes"):
        DataSpec("x", 1, 8, 8, tuple(f"c{i}" for i in range(100_001)), (0.5,), (0.5,))


def test_weights_are_compared_with_the_manifest_before_the_model_is_built(copy, monkeypatch):
    obj = meta(copy)
    obj["facts"]["data"]["height"] = obj["facts"]["data"]["width"] = 4096  # ~69 GB of small-cnn, if it were built
    write_meta(copy, obj)
    from snndeploy.training import checkpoint as mod

    built = []
    real = mod.build_model

    def build_model(*args, **kwargs):
        model = real(*args, **kwargs)
        built.append(next(model.parameters()).device.type)
        return model

    monkeypatch.setattr(mod, "build_model", build_model)
    with pytest.raises(SnnDeployError, match="do not fit model 'small-cnn'") as info:
        ckpt.load(copy)
    one_line(info)
    assert built and set(built) == {"meta"}  # only ever built without memory


# -- item 5 / 9: a hostile training state is refused before torch sees it ---------------------------------------

def _set_json(path, value):
    def change(obj, state):
        node = obj
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


def _set_tensor(name, value):
    def change(obj, state):
        if value is None:
            del state[name]
        else:
            state[name] = value(state) if callable(value) else value
    return change


def _first_exp_avg(state):
    return next(k for k in state if k.endswith(".exp_avg"))


def _bad_exp_avg(state):
    state[_first_exp_avg(state)] = torch.zeros(3, 3)
    return state


def _nan_exp_avg(state):
    state[_first_exp_avg(state)] = torch.full_like(state[_first_exp_avg(state)], float("nan"))
    return state


HOSTILE = {
    "history of numbers": _set_json(["history"], [1, 2, 3]),
    "history of empty rows": _set_json(["history"], [{}, {}]),
    "history loss text": lambda obj, state: obj["history"][0].update(train_loss="abc"),
    "history shorter than epochs": lambda obj, state: obj["history"].pop(),
    "scheduler T_0 text": lambda obj, state: obj["train_state"]["scheduler"].update(T_0="abc"),
    "scheduler empty": _set_json(["train_state", "scheduler"], {}),
    "scheduler unknown key": lambda obj, state: obj["train_state"]["scheduler"].update(extra=1),
    "scheduler base_lrs empty": lambda obj, state: obj["train_state"]["scheduler"].update(base_lrs=[]),
    "param_groups empty": _set_json(["train_state", "param_groups"], []),
    "lr text": lambda obj, state: obj["train_state"]["param_groups"][0].update(lr="abc"),
    "betas short": lambda obj, state: obj["train_state"]["param_groups"][0].update(betas=[0.9]),
    "params wrong": lambda obj, state: obj["train_state"]["param_groups"][0].update(params=[0, 0]),
    "param group unknown key": lambda obj, state: obj["train_state"]["param_groups"][0].update(foo=1),
    "rng float": _set_tensor("rng.cpu", torch.zeros(5056)),
    "rng short": _set_tensor("rng.cpu", torch.zeros(10, dtype=torch.uint8)),
    "rng missing": _set_tensor("rng.cpu", None),
    "unknown optimizer key": _set_tensor("opt.0.foo", torch.zeros(1)),
    "optimizer index out of range": _set_tensor("opt.999.exp_avg", torch.zeros(1)),
    "unknown state key": _set_tensor("something", torch.zeros(1)),
    "exp_avg wrong shape": lambda obj, state: _bad_exp_avg(state),
    "exp_avg NaN": lambda obj, state: _nan_exp_avg(state),
    "step missing": _set_tensor("opt.0.step", None),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_training_state_is_one_line_on_resume(copy, case):
    obj = meta(copy)
    state_file = copy / obj["train_state"]["file"]
    state = load_file(state_file)
    HOSTILE[case](obj, state)
    new = copy / "train_state.ffffffffffffffff.safetensors"
    save_file(state, new)
    obj["train_state"].update(file=new.name, sha256=sha256(new))
    write_meta(copy, obj)
    cfg = resume_config(copy, {"epochs": 3})
    with pytest.raises(SnnDeployError, match="cannot resume") as info:
        train(cfg, resume=True, show_progress=False)
    one_line(info)
    assert meta(copy) == obj  # nothing was trained or written


# -- item 6: a diverging run stops in one line and keeps its last good checkpoint -------------------------------

@pytest.mark.parametrize("bad_epoch", [0, 1])
def test_a_diverging_run_stops_in_one_line_and_keeps_its_last_good_checkpoint(tmp_path, monkeypatch, bad_epoch):
    import snndeploy.training.train as train_mod

    out = tmp_path / "run"
    models = []
    real = train_mod.seeded_model
    monkeypatch.setattr(train_mod, "seeded_model", lambda *a, **k: models.append(real(*a, **k)) or models[-1])

    def poison(epoch, steps):  # this epoch starts from NaN weights
        if epoch == bad_epoch:
            with torch.no_grad():
                next(models[0].parameters()).fill_(float("nan"))

    kept = "the checkpoint of epoch 1 is kept" if bad_epoch else "no checkpoint was written"
    with pytest.raises(SnnDeployError, match=rf"^training diverged in epoch {bad_epoch + 1} \((loss is nan|its "
                                             rf"weights are not finite)\); {kept}; lower --lr$") as info:
        fit(TrainConfig(epochs=3, lr=1e-3, out=str(out), **SMALL), on_start=poison)
    one_line(info)
    if not bad_epoch:
        assert not out.exists() or not list(out.iterdir())
        return
    loaded = ckpt.load(out, with_train_state=True)
    assert loaded.extra["train_state"]["epoch"] == 1
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(
        ["model.json", meta(out)["weights"]["file"], meta(out)["train_state"]["file"]])


@pytest.mark.parametrize("lr", [1e30, 1e38])
def test_a_huge_lr_is_one_line_and_writes_nothing(tmp_path, lr):
    """1e38: Adam's first step (10 lr) overflowed float32 in a traceback; 1e30 went NaN and crashed at commit."""
    out = tmp_path / "run"
    with pytest.raises(SnnDeployError, match=r"^--lr must be at most 10 ") as info:
        train(TrainConfig(epochs=1, lr=lr, out=str(out), **SMALL), show_progress=False)
    one_line(info)
    assert not out.exists() or not [p for p in out.iterdir() if p.name != ".lock"]


def test_save_never_writes_non_finite_tensors(tiny_run, tmp_path):
    loaded = ckpt.load(tiny_run.path)
    folder = tmp_path / "ck"
    with torch.no_grad():
        next(loaded.model.parameters())[0] = float("inf")
    with pytest.raises(SnnDeployError, match="NaN or infinite"):
        ckpt.save(folder, loaded.model, loaded.facts)
    good = ckpt.load(tiny_run.path)
    with pytest.raises(SnnDeployError, match="NaN or infinite"):
        ckpt.save(folder, good.model, good.facts, train_state={"opt.0.exp_avg": torch.tensor([float("nan")])})
    assert not folder.exists() or not list(folder.iterdir())


# -- item 8: a write killed inside safetensors leaves nothing the next save does not clear ----------------------

KILLED_IN_SAFETENSORS = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from snndeploy.training import checkpoint as ckpt
    loaded = ckpt.load(sys.argv[1])
    def save_file(tensors, path, metadata=None):  # the library's own temp file beside the path, then a kill
        (Path(path).parent / ".tmpA1b2C3").write_bytes(b"weights" * 1000)
        os._exit(137)
    ckpt.save_file = save_file
    ckpt.save(sys.argv[2], loaded.model, loaded.facts)
""")


def test_a_kill_inside_the_safetensors_write_leaves_nothing_after_the_next_save(tiny_run, tmp_path):
    folder = tmp_path / "ck"
    done = subprocess.run([sys.executable, "-c", KILLED_IN_SAFETENSORS, str(tiny_run.path), str(folder)],
                          capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 137, done.stderr[-2000:]
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp")]  # it landed in the private temp folder
    loaded = ckpt.load(tiny_run.path)
    ckpt.save(folder, loaded.model, loaded.facts)
    assert sorted(p.name for p in folder.iterdir()) == sorted(["model.json", meta(folder)["weights"]["file"]])
    assert not [p for p in folder.iterdir() if p.name.endswith(atomic.TEMP_SUFFIX)]


def test_train_lr_1e38_on_the_command_line_is_one_line(tmp_path):
    from cli_helpers import bad

    message = bad("train", "--lr", "1e38", "--limit-train", 128, "--limit-test", 64, "-q", "-o", tmp_path / "run")
    assert message.startswith("error: --lr must be at most 10 ") and message.count("\n") == 1
