"""Checkpoints: round trip, hashes, foreign and truncated files, other architectures, first-release files."""

import dataclasses
import json
import re
import shutil

import pytest
import torch

from snndeploy.core.errors import SnnDeployError
from snndeploy.training import checkpoint as ckpt


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


def weights_file(folder):
    """The weights file the folder's checkpoint JSON names."""
    return folder / json.loads((folder / "model.json").read_text())["weights"]["file"]


def test_no_temporary_files_left(tiny_run):
    names = sorted(p.name for p in tiny_run.path.parent.iterdir() if p.name != ".lock")
    meta = json.loads(tiny_run.path.read_text())
    # the JSON names content-addressed tensor files; the previous epoch's are removed once it is committed
    assert re.fullmatch(r"model\.[0-9a-f]{16}\.safetensors", meta["weights"]["file"])
    assert "model.json" in names and not [n for n in names if n.endswith((".tmp", "-tmp"))]
    assert sorted(n for n in names if n.endswith(".safetensors")) == sorted([meta["weights"]["file"],
                                                                             meta["train_state"]["file"]])


@pytest.fixture
def copy(tiny_run, tmp_path):
    dst = tmp_path / "ck"
    shutil.copytree(tiny_run.path.parent, dst)
    return dst


def test_truncated_weights(copy):
    w = weights_file(copy)
    w.write_bytes(w.read_bytes()[:1000])
    with pytest.raises(SnnDeployError, match="does not match its checkpoint JSON"):
        ckpt.load(copy)


def test_weights_must_carry_a_hash_and_be_a_bare_file_name(copy):
    meta = json.loads((copy / "model.json").read_text())
    cases = [({**meta["weights"], "sha256": None}, "must be the file's sha256"),
             ({"file": meta["weights"]["file"]}, "must be the file's sha256"),
             ({**meta["weights"], "file": "/etc/passwd.safetensors"}, "file name in the run folder"),
             ({**meta["weights"], "file": "../other/model.safetensors"}, "file name in the run folder"),
             ({**meta["weights"], "file": ["model.safetensors"]}, "file name in the run folder"),
             ("model.safetensors", "must be a mapping")]
    for weights, message in cases:
        (copy / "model.json").write_text(json.dumps({**meta, "weights": weights}))
        with pytest.raises(SnnDeployError, match=message):
            ckpt.load(copy)


def test_garbage_weights_with_their_hash(copy):
    meta = json.loads((copy / "model.json").read_text())
    garbage = copy / "model.0000000000000000.safetensors"
    garbage.write_bytes(b"\x00" * 64)
    meta["weights"] = {"file": garbage.name, "sha256": ckpt.sha256(garbage)}
    (copy / "model.json").write_text(json.dumps(meta))
    with pytest.raises(SnnDeployError, match="not valid safetensors"):
        ckpt.load(copy)


@pytest.mark.parametrize("poison", ["nan", "inf", "int32"])
def test_weights_must_be_finite_floats_of_the_models_types(copy, poison):
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(weights_file(copy)))
    name = "head.weight"
    t = tensors[name]
    tensors[name] = t.to(torch.int32) if poison == "int32" else torch.full_like(t, float(poison))
    bad = copy / "model.bad.safetensors"
    save_file(tensors, str(bad))
    meta = json.loads((copy / "model.json").read_text())
    meta["weights"] = {"file": bad.name, "sha256": ckpt.sha256(bad)}
    (copy / "model.json").write_text(json.dumps(meta))
    with pytest.raises(SnnDeployError, match="int32, the model needs|NaN or infinite"):
        ckpt.load(copy)


def test_train_state_json_is_checked(copy):
    meta = json.loads((copy / "model.json").read_text())
    for change, message in [({"epoch": "two"}, "epoch' must be a non-negative integer"),
                            ({"epoch": -1}, "epoch' must be a non-negative integer"),
                            ({"param_groups": {"lr": 1}}, "param_groups' must be a list"),
                            ({"scheduler": []}, "scheduler' must be a mapping")]:
        (copy / "model.json").write_text(json.dumps({**meta, "train_state": {**meta["train_state"], **change}}))
        with pytest.raises(SnnDeployError, match=message):
            ckpt.load(copy, with_train_state=True)


def test_foreign_json(copy):
    (copy / "model.json").write_text(json.dumps({"hello": "world"}))
    with pytest.raises(SnnDeployError, match="not a snndeploy checkpoint"):
        ckpt.load(copy)
    (copy / "model.json").write_text("{truncated")
    with pytest.raises(SnnDeployError, match="not valid JSON"):
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


def test_version_1_checkpoint_without_training(copy):
    """The first release's test checkpoints had no training options; a weights hash is required all the same."""
    v1 = as_version_1(json.loads((copy / "model.json").read_text()))
    del v1["training"]
    (copy / "model.json").write_text(json.dumps(v1))
    facts = ckpt.load(copy).facts
    assert facts.training is None and facts.is_checkpoint
    del v1["weights"]["sha256"]
    (copy / "model.json").write_text(json.dumps(v1))
    with pytest.raises(SnnDeployError, match="must be the file's sha256"):
        ckpt.load(copy)


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
