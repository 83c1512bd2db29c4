"""Hostile folders: foreign files in a run folder, planted `.lock` files, FIFOs and links to /dev/zero where
snndeploy reads, another model's version in a Triton repository (issue 20, items 1, 2, 4, 9)."""

from __future__ import annotations

import json
import os
import re

import pytest
from hostile_helpers import TINY, assert_unchanged_outside, copy_run, kind, refused, snapshot, snndeploy

FOREIGN = {"model.safetensors": b"someone's weights", "train_state.safetensors": b"someone's optimizer",
           ".notes.tmp": b"someone's draft", "notes.txt": b"someone's notes"}


@kind("planted")
@pytest.mark.parametrize("dot", [False, True], ids=["-o folder", "-o ."])
def test_train_into_a_folder_of_foreign_files_keeps_every_one(tmp_path, dot):
    run = tmp_path / "run"
    run.mkdir()
    for name, data in FOREIGN.items():
        (run / name).write_bytes(data)
    before = snapshot(tmp_path)
    r = snndeploy("train", *TINY, "-o", "." if dot else run, cwd=run)
    assert r.returncode == 0 or refused(r), r.stderr[-3000:]  # refusing the folder is fine; deleting is not
    assert "Traceback" not in r.stderr
    assert {n: (run / n).read_bytes() if (run / n).exists() else None for n in FOREIGN} == FOREIGN
    assert_unchanged_outside(before, tmp_path, own=run)


@kind("lock")
def test_a_lock_linked_to_a_file_outside_is_refused_and_the_file_kept(tmp_path):
    (tmp_path / "precious.txt").write_text("not a lock\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").symlink_to(tmp_path / "precious.txt")
    before = snapshot(tmp_path)
    refused(snndeploy("train", *TINY, "-o", run))
    assert_unchanged_outside(before, tmp_path, own=run)
    assert (tmp_path / "precious.txt").read_text() == "not a lock\n" and (run / ".lock").is_symlink()


@kind("lock")
def test_a_lock_file_with_foreign_text_is_refused_and_kept(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").write_text("my shopping list\n")
    before = snapshot(tmp_path)
    refused(snndeploy("train", *TINY, "-o", run))
    assert_unchanged_outside(before, tmp_path, own=run)


def _weights(run) -> str:
    return json.loads((run / "model.json").read_text())["weights"]["file"]


@kind("planted")
@pytest.mark.parametrize("plant", ["fifo weights", "weights linked to /dev/zero", "fifo model.json"])
def test_eval_refuses_what_is_not_a_regular_file(tmp_path, tiny, plant):
    run = copy_run(tiny.run, tmp_path / "run")
    target = run / ("model.json" if plant == "fifo model.json" else _weights(run))
    target.unlink()
    if "zero" in plant:
        target.symlink_to("/dev/zero")
    else:
        os.mkfifo(target)
    before = snapshot(tmp_path)
    refused(snndeploy("eval", run, "--T", 1, "--limit-test", 64))
    assert_unchanged_outside(before, tmp_path, own=None)


@kind("planted")
def test_train_refuses_a_fifo_as_config(tmp_path):
    os.mkfifo(tmp_path / "c.yaml")
    before = snapshot(tmp_path)
    refused(snndeploy("train", "--config", tmp_path / "c.yaml", "-o", tmp_path / "run"))
    assert_unchanged_outside(before, tmp_path, own=tmp_path / "run")


@kind("planted")
def test_triton_export_never_serves_a_foreign_version_silently(tmp_path, tiny):
    import onnx

    from snndeploy.artifacts import metadata
    from snndeploy.artifacts.triton import model_name

    repo = tmp_path / "repo"
    model = repo / model_name(metadata.read(onnx.load(tiny.onnx)), "onnxruntime_onnx")
    (model / "2").mkdir(parents=True)
    (model / "2" / "model.onnx").write_bytes(b"another model, newer version")
    before = snapshot(tmp_path)
    r = snndeploy("export", tiny.run, "--T", 2, "--format", "triton", "-o", repo)
    if r.returncode != 0:
        refused(r)
    else:  # written beside it: Triton's default policy serves the latest version, so the config must pin 1
        config = (model / "config.pbtxt").read_text()
        assert re.search(r"version_policy\s*\{\s*specific\s*\{\s*versions:\s*1\s*\}\s*\}", config), "no policy"
    assert_unchanged_outside(before, tmp_path, own=model)  # 2/ and its file are among what must not change
