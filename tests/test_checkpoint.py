"""Checkpoints: round trip, hashes, foreign and truncated files, other architectures."""

import json
import shutil

import pytest
import torch

from snndeploy import checkpoint as ckpt
from snndeploy.core.errors import SnnDeployError


def test_roundtrip_gives_identical_outputs(tiny_run):
    loaded = ckpt.load(tiny_run.path)
    x = torch.rand(4, 1, 28, 28)
    tiny_run.model.set_mode("lif")
    with torch.no_grad():
        assert torch.equal(loaded.model.set_mode("lif")(x, 3), tiny_run.model(x, 3))
    assert loaded.meta["model"] == "small-cnn" and loaded.spec.num_classes == 10
    assert len(loaded.meta["history"]) == 2
    for form in (tiny_run.path.parent, tiny_run.path, tiny_run.path.with_suffix(".safetensors")):
        assert ckpt.resolve(form) == tiny_run.path


def test_no_temporary_files_left(tiny_run):
    names = sorted(p.name for p in tiny_run.path.parent.iterdir())
    assert names == ["model.json", "model.safetensors", "train_state.safetensors"]


@pytest.fixture
def copy(tiny_run, tmp_path):
    dst = tmp_path / "ck"
    shutil.copytree(tiny_run.path.parent, dst)
    return dst


def test_truncated_weights(copy):
    w = copy / "model.safetensors"
    w.write_bytes(w.read_bytes()[:1000])
    with pytest.raises(SnnDeployError, match="does not match its checkpoint JSON"):
        ckpt.load(copy)


def test_garbage_weights_without_hash(copy):
    meta = json.loads((copy / "model.json").read_text())
    del meta["weights"]["sha256"]
    (copy / "model.json").write_text(json.dumps(meta))
    (copy / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(SnnDeployError, match="not valid safetensors"):
        ckpt.load(copy)


def test_foreign_json(copy):
    (copy / "model.json").write_text(json.dumps({"hello": "world"}))
    with pytest.raises(SnnDeployError, match="not a snndeploy checkpoint"):
        ckpt.load(copy)
    (copy / "model.json").write_text("{truncated")
    with pytest.raises(SnnDeployError, match="unreadable JSON"):
        ckpt.load(copy)


def test_other_architecture(copy):
    meta = json.loads((copy / "model.json").read_text())
    meta["model"] = "paper-cnn"
    (copy / "model.json").write_text(json.dumps(meta))
    with pytest.raises(SnnDeployError, match="do not fit model 'paper-cnn'"):
        ckpt.load(copy)


def test_missing(tmp_path):
    with pytest.raises(SnnDeployError, match="checkpoint not found"):
        ckpt.load(tmp_path / "nope")
