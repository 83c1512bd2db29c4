"""Training: loss goes down, same seed same result, resume continues exactly, config errors."""

import dataclasses
import math

import pytest
import torch

from snndeploy.core.config import TrainConfig, from_mapping
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.validate import SEED_MAX
from snndeploy.data.datasets import load_dataset
from snndeploy.models import build_model
from snndeploy.training import checkpoint as ckpt
from snndeploy.training.train import epoch_batches, fit, make_optimizer, train, train_epoch

SMALL = dict(limit_train=256, limit_test=64, lr=1e-3, batch_size=64)


def test_loss_decreases_and_history(tiny_run):
    h = tiny_run.history
    assert [r["epoch"] for r in h] == [1, 2]
    assert h[1]["train_loss"] < h[0]["train_loss"]
    assert h[1]["val_acc"] > 0.9  # the fixture reaches about 95%
    # cosine warm restarts stepped per batch: after epoch e the rate is lr (1 + cos(pi e / t0)) / 2
    assert [r["lr"] for r in h] == pytest.approx([1e-3 * (1 + math.cos(math.pi * e / 100)) / 2 for e in (1, 2)])
    assert h[1]["wall_s"] > h[0]["wall_s"] + h[1]["epoch_s"]  # wall time adds the evaluation


def test_train_epoch_runs_in_its_mode_and_restores_the_model_when_it_fails():
    model = build_model("small-cnn", (1, 28, 28), 10).eval().set_mode("stage3")
    opt, sched = make_optimizer(model, 1e-3, 100)
    inside = []

    def batches():
        inside.append(({n.mode for n in model.lif_nodes()}, model.training))
        yield torch.randn(4, 1, 28, 28), torch.tensor([0, 1, 2, 3])
        raise RuntimeError("data went away")

    with pytest.raises(RuntimeError, match="data went away"):
        train_epoch(model, batches(), opt, sched, epoch=0, steps=2, mode="stage1", T=1)
    assert inside == [({"stage1"}, True)]
    assert {n.mode for n in model.lif_nodes()} == {"stage3"} and not model.training
    # one scheduler step, at epoch 0 + 1/2 steps
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3 * (1 + math.cos(math.pi * 0.5 / 100)) / 2)


def test_same_seed_same_weights(tmp_path):
    a = train(TrainConfig(epochs=1, out=str(tmp_path / "a"), **SMALL), show_progress=False)
    b = train(TrainConfig(epochs=1, out=str(tmp_path / "b"), **SMALL), show_progress=False)
    c = train(TrainConfig(epochs=1, seed=1, out=str(tmp_path / "c"), **SMALL), show_progress=False)
    sa, sb, sc = (r.model.state_dict() for r in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_resume_matches_uninterrupted_run(tmp_path):
    full = train(TrainConfig(epochs=2, out=str(tmp_path / "full"), **SMALL), show_progress=False)
    cfg = TrainConfig(epochs=1, out=str(tmp_path / "part"), **SMALL)
    train(cfg, show_progress=False)
    resumed = train(dataclasses.replace(cfg, epochs=2), resume=True, show_progress=False)
    assert [r["epoch"] for r in resumed.history] == [1, 2]
    sf, sr = full.model.state_dict(), resumed.model.state_dict()
    assert all(torch.allclose(sf[k], sr[k]) for k in sf)
    assert ckpt.load(tmp_path / "part").extra["train_state"]["epoch"] == 2


def test_fit_stops_when_asked_and_records_the_epochs_it_trained(tmp_path):
    """The study stops at a target accuracy: the checkpoint says it trained 1 epoch, and resumes from there."""
    cfg = TrainConfig(epochs=3, out=str(tmp_path / "r"), **SMALL)
    rows = []
    result = fit(cfg, lambda row: rows.append(row) or True)
    assert [r["epoch"] for r in result.history] == [1] and rows == result.history
    assert set(rows[0]) == {"epoch", "train_loss", "train_acc", "val_acc", "lr", "epoch_s", "eval_s", "wall_s"}
    loaded = ckpt.load(tmp_path / "r")
    assert loaded.facts.training == dataclasses.replace(cfg, epochs=1)
    assert loaded.extra["train_state"]["epoch"] == 1 and loaded.extra["history"] == rows
    resumed = train(cfg.replace(epochs=2), resume=True, show_progress=False)
    assert [r["epoch"] for r in resumed.history] == [1, 2]


def test_fit_with_its_own_evaluation_and_no_checkpoint(tmp_path):
    seen = []
    r = fit(TrainConfig(epochs=2, out=str(tmp_path / "none"), **SMALL), commit=False,
            evaluate=lambda model, epoch: seen.append(epoch) or {})
    assert seen == [0, 1] and not (tmp_path / "none").exists()
    assert "val_acc" not in r.history[0] and r.history[1]["wall_s"] > r.history[0]["wall_s"]


def test_the_largest_seed_shuffles(tmp_path):
    """Each epoch's order comes from seed * 100003 + epoch, folded into the 64 bits torch takes."""
    data = load_dataset("sample", limit_train=70, limit_test=8)
    assert [len(y) for _, y in epoch_batches(data, 64, seed=SEED_MAX, epoch=3)] == [64, 6]
    small = [y.tolist() for _, y in epoch_batches(data, 64, seed=5, epoch=3)]
    order = torch.randperm(70, generator=torch.Generator().manual_seed(5 * 100_003 + 3))
    assert sum(small, []) == data.train.labels[order.numpy()].tolist()  # the identity below 2**64: orders as before


def test_resume_errors(tmp_path):
    cfg = TrainConfig(epochs=1, out=str(tmp_path / "r"), **SMALL)
    with pytest.raises(SnnDeployError, match="checkpoint not found"):
        train(cfg, resume=True, show_progress=False)
    train(cfg, show_progress=False)
    with pytest.raises(SnnDeployError, match="already trained 1 of 1"):
        train(cfg, resume=True, show_progress=False)
    with pytest.raises(SnnDeployError, match="cannot resume with a different --model"):
        train(dataclasses.replace(cfg, model="paper-cnn", epochs=2), resume=True, show_progress=False)


@pytest.mark.parametrize("method,T", [("bptt", 3), ("ann", 1)])
def test_other_methods_train(tmp_path, method, T):
    r = train(TrainConfig(method=method, T=T, epochs=2, out=str(tmp_path / method), **SMALL), show_progress=False)
    assert r.history[1]["train_loss"] < r.history[0]["train_loss"]


def test_config_validation():
    with pytest.raises(SnnDeployError, match="unknown train option"):
        from_mapping(TrainConfig, {"epochz": 3}, "train")
    with pytest.raises(SnnDeployError, match="must be int"):
        from_mapping(TrainConfig, {"epochs": "three"}, "train")
    with pytest.raises(SnnDeployError, match="T must be >= 1"):
        TrainConfig(method="bptt", T=0)
    with pytest.raises(SnnDeployError, match="applies to --method bptt"):
        TrainConfig(T=5)
    with pytest.raises(SnnDeployError, match="unknown method"):
        TrainConfig(method="evolution")
    with pytest.raises(SnnDeployError, match="lr must be"):
        TrainConfig(lr=-1.0)
    with pytest.raises(SnnDeployError, match=f"^--seed must be an integer from 0 to {SEED_MAX}, got -1$"):
        TrainConfig(seed=-1)
    assert from_mapping(TrainConfig, {"lr": 1, "epochs": 3}, "train").lr == 1.0


def test_cuda_request_without_gpu(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    with pytest.raises(SnnDeployError, match="no CUDA GPU"):
        train(TrainConfig(device="cuda", out=str(tmp_path)), show_progress=False)


def test_resume_state_keeps_the_cuda_generator(monkeypatch):
    """On CUDA the noise comes from the device's generator: it is saved and put back beside the CPU one."""
    from snndeploy.training.train import restore_rng, rng_state

    cuda_state = torch.arange(16, dtype=torch.uint8)
    restored = []
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda device=None: cuda_state.clone())
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state, device=None: restored.append((state, device)))
    gpu = torch.device("cuda:0")
    state = rng_state(gpu)
    assert torch.equal(state["rng.cuda"], cuda_state) and "rng.cpu" in state
    assert "rng.cuda" not in rng_state(torch.device("cpu"))
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    saved = rng_state(gpu)
    torch.rand(10)
    restore_rng(saved, gpu)
    assert torch.equal(torch.rand(3), expected) and len(restored) == 1 and restored[0][1] == gpu
    assert torch.equal(restored[0][0], cuda_state)
    with pytest.raises(SnnDeployError, match="no random-generator state"):
        restore_rng({}, gpu)


def test_first_epoch_says_it_compiles_before_its_first_batch(tmp_path, monkeypatch):
    """The first batch compiles the fused kernels (seconds): the bar says so instead of standing still."""
    from snndeploy.training import train as train_module
    from snndeploy.ui import progress

    statuses = []
    monkeypatch.setattr(train_module, "compile_available", lambda device: True)
    monkeypatch.setattr(progress.Bar, "advance", lambda self, task, status="", steps=1: statuses.append(status))
    train_module.train(TrainConfig(epochs=1, limit_train=64, limit_test=32, out=str(tmp_path / "r")),
                       show_progress=True)
    assert statuses[0].startswith("compiling the neuron kernels") and statuses[1].startswith("loss ")


def test_resume_refusal_says_an_option_was_not_given_rather_than_none():
    from snndeploy.core.config import TrainConfig
    from snndeploy.core.errors import SnnDeployError
    from snndeploy.training.train import _resume_config

    with pytest.raises(SnnDeployError) as err:
        _resume_config(TrainConfig(limit_train=10), TrainConfig(limit_train=None))
    assert str(err.value) == ("cannot resume with a different --limit-train: the run was trained with no "
                              "--limit-train, this command gives --limit-train 10")


def test_the_run_saves_where_its_data_is_as_an_absolute_path(tmp_path, monkeypatch):
    """A relative --data-dir is saved as an absolute path: `eval` from another folder must never read a different
    folder of the same name there (it finds the data where it was, or says to pass --data-dir)."""
    from fakes import fake_mnist

    fake_mnist(tmp_path / "data", "MNIST", n_train=16, n_test=8)
    monkeypatch.chdir(tmp_path)
    train(TrainConfig(dataset="mnist", data_dir="data", epochs=1, out="run"), show_progress=False)
    assert ckpt.load(tmp_path / "run").facts.training.data_dir == str(tmp_path / "data")
