"""One epoch function for `snndeploy train`, the `bench train` worker and benchmarks/train_speed.py."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

import snndeploy.bench.train_study.methods as training_mod
import snndeploy.bench.train_study.worker as worker_mod
import snndeploy.training.train as train_mod
from snndeploy.bench.train_study.methods import Method, TrainingRun, compare_epoch_time
from snndeploy.bench.train_study.worker import Job, train_ours
from snndeploy.core.config import TrainConfig
from snndeploy.core.errors import SnnDeployError
from snndeploy.data.datasets import load_dataset
from snndeploy.training import checkpoint
from snndeploy.training.train import train

ROOT = Path(__file__).resolve().parents[3]
# 200 images: three batches of 64 and a last one of 8, which drop_last would lose
LIMITS = dict(limit_train=200, limit_test=64)


@pytest.fixture(scope="module")
def data():
    return load_dataset("sample", **LIMITS)


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("method,T", [("noise", 1), ("bptt", 2)])
def test_the_three_callers_train_the_same_weights(tmp_path, data, method, T):
    """Default settings and seed: `snndeploy train`, the `bench train` worker and the timed benchmark run
    all end epoch 1 with bit-identical weights (a second loop with its own lr, scheduler, seeding or batch
    order would not)."""
    cli = train(TrainConfig(method=method, T=T, epochs=1, out=str(tmp_path / "cli"), **LIMITS), show_progress=False)
    expected = _weights(cli.model)

    job = Job(method, TrainConfig(method=method, T=T, epochs=1, out=str(tmp_path / "worker"), **LIMITS), T,
              checkpoint=True)
    train_ours(job, data, torch.device("cpu"), lambda *_: None)
    assert _same(_weights(checkpoint.load(tmp_path / "worker").model), expected)

    timed = TrainingRun("small-cnn", Method(method, T), data, 64, seed=0)
    other = TrainingRun("small-cnn", Method("ann"), data, 64, seed=0)
    before = torch.get_rng_state()
    other.epoch(0, 1)  # interleaved as the benchmark does; each run keeps its own random stream
    stats = timed.epoch(0)
    assert torch.equal(torch.get_rng_state(), before)
    assert stats.seen == 200 and stats.seconds > 0
    assert _same(_weights(timed.model), expected)
    assert not _same(_weights(other.model), expected)


@pytest.fixture
def calls(monkeypatch):
    """Counts train_epoch calls per caller module (each still trains)."""
    counts: dict[str, int] = {}
    real = train_mod.train_epoch

    for name, module in (("train", train_mod), ("worker", worker_mod), ("benchmark", training_mod)):
        def spy(*args, _name=name, **kwargs):
            counts[_name] = counts.get(_name, 0) + 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, "train_epoch", spy)  # raises if a caller stops importing it
    return counts


def test_every_caller_goes_through_train_epoch(tmp_path, data, calls, monkeypatch):
    train(TrainConfig(epochs=2, out=str(tmp_path / "cli"), **LIMITS), show_progress=False)
    assert calls == {"train": 2}

    job = Job("ann", TrainConfig(method="ann", epochs=2, **LIMITS), 1, eval_every_epoch=False)
    worker_mod.warm_up(job, data, torch.device("cpu"))
    assert calls == {"train": 2, "worker": 1}  # the warm-up's single step
    result = train_ours(job, data, torch.device("cpu"), lambda *_: None)
    # the worker's epochs run in `snndeploy train`'s own loop (fit): no epoch loop of its own
    assert calls == {"train": 4, "worker": 1} and [h["epoch"] for h in result["history"]] == [1, 2]

    spec = importlib.util.spec_from_file_location("train_speed", ROOT / "benchmarks" / "train_speed.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "speed.json"
    monkeypatch.setattr(sys, "argv", ["train_speed.py", "--model", "small-cnn", "--max-batches", "2", "--rounds", "2",
                                      "--json", str(out)])
    bench.main()
    assert calls["benchmark"] == 3 * (1 + 2)  # ann, noise (bank) and noise (fresh): a warm-up and two rounds each
    rows = json.loads(out.read_text())["results"]
    assert [(r["label"], r["images"], len(r["epoch_s_all"])) for r in rows] == [
        ("ann", 128, 2), ("noise", 128, 2), ("noise (fresh draws)", 128, 2)]
    assert [r["draws"] for r in rows] == ["bank", "bank", "fresh"]
    assert rows[0]["ratio_to_first"] == 1.0 and rows[1]["ratio_to_first"] == rows[1]["epoch_s"] / rows[0]["epoch_s"]
    per_round = [a / b for a, b in zip(rows[1]["epoch_s_all"], rows[0]["epoch_s_all"], strict=True)]
    assert rows[1]["round_ratio_to_first"] == pytest.approx(sum(per_round) / 2)


def test_compare_epoch_time_rejects_bad_input(data):
    with pytest.raises(SnnDeployError, match="rounds must be >= 1"):
        compare_epoch_time("small-cnn", [Method("ann")], data, rounds=0)
    with pytest.raises(SnnDeployError, match="unknown method 'evolution'"):
        compare_epoch_time("small-cnn", [Method("evolution")], data, rounds=1)
    with pytest.raises(SnnDeployError, match="trains at T = 1"):
        compare_epoch_time("small-cnn", [Method("noise", 4)], data, rounds=1)
