"""Hostile contents: YAML alias and nesting bombs, a 100k-deep manifest, hostile training states on --resume,
option values that overflow or exhaust memory (issue 20, items 3, 5, 6, 7, 10)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hostile_helpers import TINY, assert_unchanged_outside, copy_run, kind, refused, snapshot, snndeploy

DEEP = 100_000


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """A billion-laughs YAML (``levels`` x ``width``: 9^9 strings once expanded, about 300 bytes) under ``lr``."""
    lines = ["lr:", f"  - &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"  - &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@kind("bomb")
@pytest.mark.parametrize("text", [alias_bomb(), "epochs: " + "[" * DEEP + "]" * DEEP + "\n"],
                         ids=["alias bomb 9x9", "100k-deep YAML"])
def test_train_refuses_a_bomb_of_a_config(tmp_path, text):
    (tmp_path / "c.yaml").write_text(text)
    before = snapshot(tmp_path)
    refused(snndeploy("train", "--config", tmp_path / "c.yaml", "-o", tmp_path / "run"))
    assert_unchanged_outside(before, tmp_path, own=tmp_path / "run")


@kind("bomb")
def test_eval_refuses_a_100k_deep_manifest(tmp_path, tiny):
    run = copy_run(tiny.run, tmp_path / "run")
    (run / "model.json").write_text('{"format": "snndeploy-checkpoint", "version": 2, "facts": '
                                    + "[" * DEEP + "]" * DEEP + "}")
    before = snapshot(tmp_path)
    refused(snndeploy("eval", run, "--T", 1, "--limit-test", 64))
    assert_unchanged_outside(before, tmp_path, own=None)


@kind("option")
@pytest.mark.parametrize("lr", ["1e30", "1e38"])
def test_an_lr_that_can_only_diverge_is_refused_before_any_file(tmp_path, lr):
    """`--lr 1e30` went NaN and crashed at commit (orphan tensor files, no manifest); 1e38 overflowed in Adam. Now
    one line before work. A run that diverges at an allowed lr stops in one line naming the epoch and keeps its
    last good checkpoint: tests/training/test_checkpoint_hostile.py poisons a run's weights to show it."""
    run = tmp_path / "run"
    before = snapshot(tmp_path)
    line = refused(snndeploy("train", *TINY, "--lr", lr, "-o", run))  # the last --lr wins
    assert "--lr must be at most" in line, line
    assert_unchanged_outside(before, tmp_path, own=run)
    assert not run.exists() or not [p for p in run.iterdir() if p.name != ".lock"]


@kind("option")
def test_a_30_digit_seed_in_a_config_is_refused_like_the_option(tmp_path):
    (tmp_path / "c.yaml").write_text("seed: " + "9" * 30 + "\nepochs: 1\nlimit_train: 128\nlimit_test: 64\n")
    before = snapshot(tmp_path)
    line = refused(snndeploy("train", "--config", tmp_path / "c.yaml", "-o", tmp_path / "run", "-q"))
    assert "seed" in line
    assert_unchanged_outside(before, tmp_path, own=tmp_path / "run")


@kind("option")
def test_infer_at_t_0_blames_t_not_an_export(tmp_path, tiny):
    np.save(tmp_path / "x.npy", np.zeros((28, 28), np.uint8))
    before = snapshot(tmp_path)
    line = refused(snndeploy("infer", tiny.run, tmp_path / "x.npy", "--T", 0))
    assert not re.search(r"T\s*=\s*0", line) or "export" not in line, line
    assert_unchanged_outside(before, tmp_path, own=None)


@kind("option")
def test_export_refuses_a_t_that_cannot_fit_before_writing(tmp_path, tiny):
    out = tmp_path / "ex"
    before = snapshot(tmp_path)
    refused(snndeploy("export", tiny.run, "--T", 20000, "-o", out))
    assert not out.exists() or not any(out.rglob("*")), list(out.rglob("*"))
    assert_unchanged_outside(before, tmp_path, own=out)


def _history(m):
    m["history"] = [1, 2, 3]


def _scheduler(m):
    m["train_state"]["scheduler"] = {}


def _lr(m):
    m["train_state"]["param_groups"][0]["lr"] = "abc"


@kind("manifest")
@pytest.mark.parametrize("edit", [_history, _scheduler, _lr], ids=["history [1,2,3]", "scheduler {}", "lr 'abc'"])
def test_resume_refuses_a_hostile_training_state(tmp_path, tiny, edit):
    run = copy_run(tiny.run, tmp_path / "run")
    manifest = json.loads((run / "model.json").read_text())
    edit(manifest)
    (run / "model.json").write_text(json.dumps(manifest))
    before = snapshot(tmp_path)
    refused(snndeploy("train", "--resume", "--epochs", 2, "-q", "-o", run))
    assert_unchanged_outside(before, tmp_path, own=run)
