"""Checkpoints: round trip, hashes, foreign and truncated files, other architectures, first-release files."""

import dataclasses
import json
import shutil

import pytest
import torch

from snndeploy import checkpoint as ckpt
from snndeploy.core.errors import SnnDeployError


def test_roundtrip_gives_identical_outputs(tiny_run):
    loaded = ckpt.load(tiny_run.path)
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad(), tiny_run.model.using("lif"):  # the session's shared model is left as it was
        assert torch.equal(loaded.model.set_mode("lif")(x, 3), tiny_run.model(x, 3))
    assert loaded.facts.model == "small-cnn" and loaded.spec.num_classes == 10 and loaded.facts.T is None
    assert loaded.facts.training.epochs == 2 and loaded.facts.weights_sha256 == loaded.extra["weights"]["sha256"]
    assert len(loaded.extra["history"]) == 2
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
    meta["facts"]["model"] = "paper-cnn"
    (copy / "model.json").write_text(json.dumps(meta))
    with pytest.raises(SnnDeployError, match="do not fit model 'paper-cnn'"):
        ckpt.load(copy)


def test_missing(tmp_path):
    with pytest.raises(SnnDeployError, match="checkpoint not found"):
        ckpt.load(tmp_path / "nope")


def test_save_refuses_what_a_checkpoint_cannot_hold(tiny_run, tmp_path):
    loaded = ckpt.load(tiny_run.path)
    with pytest.raises(SnnDeployError, match="no key\\(s\\) notes"):
        ckpt.save(tmp_path / "a", loaded.model, loaded.facts, {"notes": "x"})
    with pytest.raises(SnnDeployError, match="must not fix T"):
        ckpt.save(tmp_path / "b", loaded.model, dataclasses.replace(loaded.facts, T=5, stage=3, noise="graph"))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def as_version_1(meta: dict) -> dict:
    """The JSON the first release wrote: the record's parts at the top level, version 1."""
    facts = meta["facts"]
    old = {"format": "snndeploy-checkpoint", "version": 1, "model": facts["model"], "data": facts["data"],
           "neuron": facts["neuron"], "training": facts["training"]}
    return {**old, **{k: v for k, v in meta.items() if k not in ("format", "version", "facts")}}


def test_version_1_checkpoint_still_loads(tiny_run, copy):
    new = ckpt.load(tiny_run.path, with_train_state=True)
    meta = json.loads((copy / "model.json").read_text())
    (copy / "model.json").write_text(json.dumps(as_version_1(meta)))
    old = ckpt.load(copy, with_train_state=True)
    assert old.facts == new.facts and old.extra == new.extra and old.train_state.keys() == new.train_state.keys()
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(old.model.set_mode("lif")(x, 2), new.model.set_mode("lif")(x, 2))
    assert old.extra["train_state"]["epoch"] == 2 and old.facts.training.epochs == 2  # what resume reads


def test_version_1_checkpoint_without_training_or_hash(copy):
    """The first release's test checkpoints had neither training options nor (when edited) a weights hash."""
    v1 = as_version_1(json.loads((copy / "model.json").read_text()))
    del v1["training"], v1["weights"]["sha256"]
    (copy / "model.json").write_text(json.dumps(v1))
    facts = ckpt.load(copy).facts
    assert facts.training is None and facts.weights_sha256 is None and facts.is_checkpoint


def test_bad_version_1_checkpoints(copy):
    good = as_version_1(json.loads((copy / "model.json").read_text()))
    cases = [({k: v for k, v in good.items() if k != "data"}, "checkpoint JSON lacks 'data'"),
             ({**good, "training": {**good["training"], "lr_decay": 1}}, "unknown training option\\(s\\): lr_decay"),
             ({**good, "neuron": {**good["neuron"], "lam": "half"}}, "lam must be a number"),
             ({**good, "T": 5}, "unknown key\\(s\\): T")]
    for obj, message in cases:
        (copy / "model.json").write_text(json.dumps(obj))
        with pytest.raises(SnnDeployError, match=message) as err:
            ckpt.load(copy)
        assert "\n" not in str(err.value)
