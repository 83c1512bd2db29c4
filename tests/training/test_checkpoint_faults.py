"""Checkpoints under faults: killed at every write boundary, written while read, stale temp files, the run lock,
a finished run, resume settings. A 'kill' is a process that ends without any cleanup (``os._exit``)."""

import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest
import torch

from snndeploy.core import atomic
from snndeploy.core.config import TrainConfig
from snndeploy.core.errors import SnnDeployError
from snndeploy.training import checkpoint as ckpt
from snndeploy.training.train import curves_target, resume_config, train

SMALL = dict(limit_train=128, limit_test=64, lr=1e-3, batch_size=64)

# A child process trains epochs 1..2 into OUT and dies (os._exit, no cleanup) right after the K-th file
# rename of epoch 2's checkpoint (K = 1: new weights, 2: new training state, 3: the JSON, the commit point).
KILLER = textwrap.dedent("""
    import os, sys
    from snndeploy.core import atomic
    from snndeploy.core.config import TrainConfig
    from snndeploy.training.train import train
    out, kill_at = sys.argv[1], int(sys.argv[2])
    train(TrainConfig(epochs=1, out=out, limit_train=128, limit_test=64, lr=1e-3), show_progress=False)
    if kill_at == 0:  # the reference run: keep a copy of epoch 1
        import shutil
        shutil.copytree(out, out + "_epoch1", ignore=shutil.ignore_patterns(".lock"))
    real, count = os.replace, [0]
    def replace(src, dst):
        real(src, dst)
        if str(dst).endswith((".safetensors", "model.json")):  # the checkpoint's own files
            count[0] += 1
            if count[0] == kill_at:
                os._exit(137)
    atomic.os.replace = replace
    train(TrainConfig(epochs=2, out=out, limit_train=128, limit_test=64, lr=1e-3), resume=True, show_progress=False)
""")
WRITES_PER_CHECKPOINT = 3  # weights, training state, JSON
RESUME = textwrap.dedent("""
    import sys
    from snndeploy.core.config import TrainConfig
    from snndeploy.training.train import train
    train(TrainConfig(epochs=2, out=sys.argv[1], limit_train=128, limit_test=64, lr=1e-3), resume=True,
          show_progress=False)
""")


def child(out, kill_at):
    """Run KILLER in a fresh process (the same environment for every run, so the same float results)."""
    return subprocess.run([sys.executable, "-c", KILLER, str(out), str(kill_at)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Epochs 1 and 2 of the run the children make, uninterrupted (made by a child too)."""
    out = tmp_path_factory.mktemp("ref") / "run"
    done = child(out, 0)
    assert done.returncode == 0, done.stderr
    return ckpt.load(f"{out}_epoch1").model.state_dict(), ckpt.load(out).model.state_dict()


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", range(1, WRITES_PER_CHECKPOINT + 1))
def test_killed_at_every_write_boundary_leaves_a_loadable_checkpoint_that_resumes(tmp_path, reference, kill_at):
    out = tmp_path / "run"
    done = child(out, kill_at)
    assert done.returncode == 137, done.stderr
    loaded = ckpt.load(out, with_train_state=True)  # what `eval` and `--resume` read
    epoch = loaded.extra["train_state"]["epoch"]
    assert epoch == (2 if kill_at == WRITES_PER_CHECKPOINT else 1)  # before the JSON: still epoch 1, whole
    state = loaded.model.state_dict()
    assert all(torch.equal(state[k], reference[epoch - 1][k]) for k in state)
    # resume in a fresh process, as a user would after the kill (after a kill past the last commit it has
    # nothing left to train and says so, but it has taken the run folder and cleared what the killed write left)
    resume = subprocess.run([sys.executable, "-c", RESUME, str(out)], capture_output=True, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert resume.returncode == 0 or epoch == 2 and "already trained 2 of 2 epochs" in resume.stderr, resume.stderr
    assert [h["epoch"] for h in ckpt.load(out).extra["history"]] == [1, 2]
    final = ckpt.load(out).model.state_dict()
    assert all(torch.equal(final[k], reference[1][k]) for k in final)  # as if never killed
    assert not [p for p in out.iterdir() if p.name.endswith(atomic.TEMP_SUFFIX)]  # the killed write's temp is gone


def test_killed_writes_leave_temp_files_that_the_next_save_removes(tiny_run, tmp_path):
    loaded = ckpt.load(tiny_run.path)
    folder = tmp_path / "ck"
    ckpt.save(folder, loaded.model, loaded.facts)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no process holds now: the writer was killed
    stale = folder / f".file.{dead.pid}-abc123{atomic.TEMP_SUFFIX}"
    stale.mkdir()
    (stale / "data").write_bytes(b"half a file")
    (stale / ".tmpXYZ123").write_bytes(b"what safetensors writes beside it")
    live = folder / f".file.{os.getppid()}-abc123{atomic.TEMP_SUFFIX}"  # a writer still running
    live.mkdir()
    foreign = [folder / ".notes.tmp", folder / ".model.abc123.tmp"]  # not our naming: never ours to remove
    for f in foreign:
        f.write_bytes(b"someone's")
    assert ckpt.load(folder)  # a reader ignores them
    ckpt.save(folder, loaded.model, loaded.facts)
    assert not stale.exists() and live.exists()
    assert all(f.read_bytes() == b"someone's" for f in foreign)


def test_a_reader_never_sees_a_mixed_set(tiny_run, tmp_path):
    loaded = ckpt.load(tiny_run.path)
    folder = tmp_path / "ck"
    ckpt.save(folder, loaded.model, loaded.facts)
    models = [loaded.model]
    for scale in (2.0, 3.0):  # three distinct weight sets, each checked whole by its hash on load
        m = ckpt.load(tiny_run.path).model
        with torch.no_grad():
            for p in m.parameters():
                p.mul_(scale)
        models.append(m)
    heads = {float(m.head.weight.detach().sum()) for m in models}
    stop, errors, seen = threading.Event(), [], []

    def write():
        i = 0
        while not stop.is_set():
            ckpt.save(folder, models[i % 3], loaded.facts)
            i += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(60):
            try:
                c = ckpt.load(folder)
            except SnnDeployError as exc:  # noqa: PERF203
                errors.append(str(exc))
            else:
                seen.append(float(c.model.head.weight.detach().sum()))
    finally:
        stop.set()
        writer.join()
    assert not errors and set(seen) <= heads and len(seen) == 60


def test_safetensors_get_the_same_permissions_as_json(tiny_run, tmp_path):
    loaded = ckpt.load(tiny_run.path)
    ckpt.save(tmp_path / "ck", loaded.model, loaded.facts)
    modes = {p.suffix: p.stat().st_mode & 0o777 for p in (tmp_path / "ck").iterdir() if not p.name.startswith(".")}
    assert modes[".safetensors"] == modes[".json"] == (0o666 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_second_writer_is_stopped_by_the_lock(tmp_path):
    out = tmp_path / "run"
    with atomic.RunLock(out):
        with pytest.raises(SnnDeployError, match=f"in use by another snndeploy process \\(pid {os.getpid()}\\)"):
            train(TrainConfig(epochs=1, out=str(out), **SMALL), show_progress=False)
    assert not (out / "model.json").exists()
    train(TrainConfig(epochs=1, out=str(out), **SMALL), show_progress=False)  # free again


def test_a_finished_run_is_not_overwritten_silently(tmp_path):
    out = tmp_path / "run"
    first = train(TrainConfig(epochs=1, out=str(out), **SMALL), show_progress=False)
    before = json.loads((out / "model.json").read_text())["weights"]["sha256"]
    with pytest.raises(SnnDeployError, match="model.json already holds a run of other options: --overwrite "
                                             "replaces it, or give -o another folder") as info:
        train(TrainConfig(epochs=1, seed=3, out=str(out), **SMALL), show_progress=False)
    assert "--resume" not in str(info.value)  # resuming does not fit a run of another seed
    assert json.loads((out / "model.json").read_text())["weights"]["sha256"] == before
    again = train(TrainConfig(epochs=1, seed=3, out=str(out), **SMALL), overwrite=True, show_progress=False)
    assert ckpt.load(out).facts.training.seed == 3 and again.path == first.path


def test_the_refusal_offers_only_what_fits(tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(epochs=1, out=str(out), **SMALL), show_progress=False)
    cases = [(dict(method="ann"), "a run of other options: --overwrite replaces it, or give -o another folder"),
             (dict(), "a finished run of these options: --overwrite replaces it, or give -o another folder"),
             (dict(epochs=2), "an unfinished run of these options (1/2 epochs): --resume continues it, "
                              "--overwrite replaces it, or give -o another folder")]
    for change, message in cases:
        with pytest.raises(SnnDeployError) as info:
            train(TrainConfig(**{"epochs": 1, "out": str(out), **SMALL, **change}), show_progress=False)
        assert str(info.value) == f"{out / 'model.json'} already holds {message}"
        assert ("--resume" in str(info.value)) == ("epochs" in change)


def test_a_foreign_model_json_is_never_replaced(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "model.json").write_text('{"someone": "else"}')
    for overwrite in (False, True):
        with pytest.raises(SnnDeployError, match="is not a snndeploy checkpoint and is never replaced: give -o"):
            train(TrainConfig(epochs=1, out=str(out), **SMALL), overwrite=overwrite, show_progress=False)
    assert (out / "model.json").read_text() == '{"someone": "else"}'


def test_resume_keeps_the_runs_settings(tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(epochs=1, out=str(out), **SMALL), show_progress=False)
    cfg = resume_config(out, {"epochs": 2})  # what the CLI passes: only the options given
    assert cfg.limit_train == 128 and cfg.lr == 1e-3 and cfg.epochs == 2
    for given, name in [({"seed": 5}, "--seed"), ({"lr": 0.5}, "--lr"), ({"limit_train": 1000}, "--limit-train"),
                        ({"noise_draws": "fresh"}, "--noise-draws"), ({"model": "paper-cnn"}, "--model")]:
        with pytest.raises(SnnDeployError, match=f"cannot resume with a different {name}: the run was trained with "):
            resume_config(out, {"epochs": 2, **given})
    assert resume_config(out, {"epochs": 3, "seed": 0, "lr": 1e-3}).epochs == 3  # equal values are fine


def test_saving_removes_only_its_own_old_files(tiny_run, tmp_path):
    loaded = ckpt.load(tiny_run.path)
    folder = tmp_path / "ck"
    folder.mkdir()
    mine = [folder / "model_backup.safetensors", folder / "notes.txt", folder / "model.safetensors.bak",
            folder / "model.safetensors", folder / "train_state.safetensors"]  # fixed names no manifest here named
    for f in mine:
        f.write_text("the user's")
    for _ in range(3):
        ckpt.save(folder, loaded.model, loaded.facts)
    assert all(f.read_text() == "the user's" for f in mine)


def test_a_full_disk_while_training_is_one_line_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    import errno

    from cli_helpers import bad

    from snndeploy.training import checkpoint as ckpt_mod

    out = tmp_path / "run"
    real, calls = ckpt_mod.save_file, [0]

    def save_file(tensors, path, metadata=None):  # epoch 2's weights hit a full disk halfway
        calls[0] += 1
        if calls[0] == 3:  # epoch 1 wrote weights and training state
            with open(path, "wb") as fh:
                fh.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        real(tensors, path, metadata=metadata)

    monkeypatch.setattr(ckpt_mod, "save_file", save_file)
    message = bad("train", "--epochs", 2, "--limit-train", 128, "--limit-test", 64, "-q", "-o", out)
    assert "no space left on device" in message and message.count("\n") == 1
    loaded = ckpt.load(out, with_train_state=True)
    assert loaded.extra["train_state"]["epoch"] == 1  # the last whole checkpoint
    assert not [p for p in out.iterdir() if p.name.endswith((".tmp", atomic.TEMP_SUFFIX))]


def test_atomic_writes_refuse_a_folder_as_target(tmp_path):
    with pytest.raises(SnnDeployError, match="it is a folder"):
        atomic.write_json(tmp_path, {"a": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_foreign_curves_png_is_never_replaced(tmp_path):
    """A used folder with no checkpoint beside its curves.png: the run is refused before any work, --overwrite or
    not (nothing proves snndeploy drew it); a link in its place beside a run of ours is refused too."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "curves.png").write_text("someone's plot")
    for overwrite in (False, True):
        with pytest.raises(SnnDeployError, match="curves.png was not written by snndeploy and is never replaced: "
                                                 "give -o another path"):
            train(TrainConfig(epochs=1, out=str(out), **SMALL), overwrite=overwrite, show_progress=False)
    assert (out / "curves.png").read_text() == "someone's plot" and not (out / "model.json").exists()
    (out / "curves.png").unlink()
    train(TrainConfig(epochs=1, out=str(out), **SMALL), show_progress=False)
    (tmp_path / "elsewhere.png").write_text("kept")
    (out / "curves.png").symlink_to(tmp_path / "elsewhere.png")
    for resume in (False, True):
        with pytest.raises(SnnDeployError, match="curves.png was not written by snndeploy and is never replaced"):
            train(TrainConfig(epochs=2, out=str(out), **SMALL), overwrite=not resume, resume=resume,
                  show_progress=False)
    assert (tmp_path / "elsewhere.png").read_text() == "kept" and (out / "curves.png").is_symlink()


def test_only_the_curves_png_the_run_started_with_is_replaced(tmp_path):
    """What the start of a run approved (the replaced run's own curves.png) is replaced at its end; one that
    appeared during the run is not."""
    out = tmp_path / "run"
    first = train(TrainConfig(epochs=1, out=str(out), **SMALL), show_progress=False)
    assert curves_target(out, first.curves_found) == out / "curves.png"  # nothing there: drawn
    (out / "curves.png").write_text("drawn by the first run")
    again = train(TrainConfig(epochs=1, seed=1, out=str(out), **SMALL), overwrite=True, show_progress=False)
    assert curves_target(out, again.curves_found) == out / "curves.png"
    (tmp_path / "planted.png").write_text("planted during the run")
    os.replace(tmp_path / "planted.png", out / "curves.png")  # another file under the same name
    with pytest.raises(SnnDeployError, match="curves.png appeared during the run and is never replaced: the "
                                             "checkpoint is written, the curves are not drawn"):
        curves_target(out, again.curves_found)
