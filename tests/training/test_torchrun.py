"""Training under torchrun: two gloo processes on the CPU, rank 0 alone writes, the result loads."""

import json
import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.multiprocessing as mp

from snndeploy.core.config import TrainConfig
from snndeploy.core.errors import SnnDeployError
from snndeploy.evaluation.evaluate import evaluate_checkpoint
from snndeploy.training import checkpoint as ckpt


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_train_and_checkpoint_loads(tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", str(free_port()),
           "-m", "snndeploy.cli.main", "train", "--epochs", "2", "--limit-train", "1024", "--limit-test", "200",
           "--lr", "1e-3", "-o", str(out), "-q"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count("checkpoint:") == 1  # only rank 0 prints
    meta = ckpt.load(out).extra
    h = meta["history"]
    assert h[1]["train_loss"] < h[0]["train_loss"]
    assert evaluate_checkpoint(str(out), [5], limit_test=200)[0].accuracy > 0.5


def _worker(rank: int, port: int, root: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    from snndeploy.training import distributed
    from snndeploy.training.train import train

    real = distributed.all_sum

    def recorded(values, info, device):  # what this process put into each all-reduce and got back
        out = real(values, info, device)
        with open(f"{root}/sums{rank}.jsonl", "a") as f:
            f.write(json.dumps({"in": values, "out": out}) + "\n")
        return out

    distributed.all_sum = recorded
    # Each process is told a different folder: only rank 0's may appear.
    train(TrainConfig(epochs=1, limit_train=256, limit_test=64, out=f"{root}/rank{rank}"), show_progress=False)


@pytest.mark.slow
def test_only_rank_zero_writes_and_epoch_sums_cover_both_processes(tmp_path):
    mp.spawn(_worker, args=(free_port(), str(tmp_path)), nprocs=2, join=True)
    assert list((tmp_path / "rank0").glob("model.*.safetensors"))
    assert not (tmp_path / "rank1").exists()
    (a, a_test), (b, b_test) = ([json.loads(line) for line in (tmp_path / f"sums{r}.jsonl").read_text().splitlines()]
                                for r in (0, 1))
    # the epoch's [loss sum, right in training, images trained], then the test's [right, images]: each process has half
    assert a["in"][2] == b["in"][2] == 128 and a_test["in"][1] == b_test["in"][1] == 32
    for mine, other in ((a, b), (a_test, b_test)):
        assert mine["out"] == other["out"] == [x + y for x, y in zip(mine["in"], other["in"], strict=True)]
    assert a["out"][2] == 256 and a_test["out"][1] == 64
    h = ckpt.load(tmp_path / "rank0").extra["history"][0]
    assert h["train_acc"] == a["out"][1] / 256 and h["val_acc"] == a_test["out"][0] / 64


def _bad_batch_worker(rank: int, port: int, root: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    from snndeploy.training.train import train

    try:
        train(TrainConfig(epochs=1, batch_size=63, out=f"{root}/r{rank}"), show_progress=False)
    except SnnDeployError as exc:
        open(f"{root}/err{rank}", "w").write(str(exc))


@pytest.mark.slow
def test_batch_must_divide_over_processes(tmp_path):
    mp.spawn(_bad_batch_worker, args=(free_port(), str(tmp_path)), nprocs=2, join=True)
    assert "does not divide over 2 processes" in (tmp_path / "err0").read_text()


def _resume_worker(rank: int, port: int, root: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    from snndeploy.training.train import train

    train(TrainConfig(epochs=2, limit_train=256, limit_test=64, out=root), resume=True, show_progress=False)


@pytest.mark.slow
def test_resume_on_another_world_size(tmp_path):
    from snndeploy.training.train import train

    train(TrainConfig(epochs=1, limit_train=256, limit_test=64, out=str(tmp_path)), show_progress=False)
    mp.spawn(_resume_worker, args=(free_port(), str(tmp_path)), nprocs=2, join=True)
    meta = ckpt.load(tmp_path).extra
    assert [h["epoch"] for h in meta["history"]] == [1, 2] and meta["train_state"]["epoch"] == 2


@pytest.mark.parametrize("gpus", [0, 1])
def test_more_processes_than_gpus_is_one_line(monkeypatch, gpus):
    """Local rank 1 on a machine with fewer than 2 GPUs: a one-line error before NCCL is started."""
    from snndeploy.training import distributed

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    started = []
    monkeypatch.setattr(torch.cuda, "set_device", lambda i: started.append(i))
    monkeypatch.setattr(torch.distributed, "init_process_group", lambda **kw: started.append(kw))
    with pytest.raises(SnnDeployError, match=f"needs GPU 1, but this machine has {gpus} CUDA GPU"):
        distributed.setup("cuda")
    assert started == []
