"""Atomic writes and the run lock (snndeploy/core/atomic.py) against planted files: the lock never follows a link
or truncates a file it did not write, and cleanup removes only what dead snndeploy writers left."""

import os
import subprocess
import sys

import pytest

from snndeploy.core import atomic
from snndeploy.core.errors import SnnDeployError

posix = pytest.mark.skipif(os.name != "posix", reason="advisory locks and links are POSIX here")


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@posix
@pytest.mark.parametrize("plant, contents, message", [
    (lambda victim, lock: lock.symlink_to(victim), "precious", "symbolic link"),
    (os.link, "123", "not a snndeploy lock file"),  # a hard link to digits, like a pid: only the link count tells
    (lambda victim, lock: lock.write_text(victim.read_text()), "someone's notes\n", "not a snndeploy lock file"),
], ids=["symbolic link", "hard link", "foreign contents"])
def test_a_planted_lock_is_refused_and_never_truncated(tmp_path, plant, contents, message):
    """A .lock the run did not write (a link to another file, or a file of other contents) is refused; neither it
    nor what it links to is truncated."""
    victim = tmp_path / "victim.txt"
    victim.write_text(contents)
    run = tmp_path / "run"
    run.mkdir()
    plant(victim, run / ".lock")
    with pytest.raises(SnnDeployError, match=message), atomic.RunLock(run):
        pass
    assert victim.read_text() == (run / ".lock").read_text() == contents


@posix
def test_a_stale_lock_of_ours_is_taken_over(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").write_text(str(dead_pid()))
    with atomic.RunLock(run):
        assert (run / ".lock").read_text() == str(os.getpid())


def test_cleanup_removes_only_dead_writers_temp_folders(tmp_path):
    stale = tmp_path / f".model.json.{dead_pid()}-abc{atomic.TEMP_SUFFIX}"
    stale.mkdir()
    (stale / ".tmpA1B2C3").write_bytes(b"a library's own temp file")
    live = tmp_path / f".model.json.{os.getppid()}-abc{atomic.TEMP_SUFFIX}"
    live.mkdir()
    file_named_like_ours = tmp_path / f".x.{dead_pid()}-abc{atomic.TEMP_SUFFIX}"
    file_named_like_ours.write_text("a file, not our folder")
    foreign = [tmp_path / ".notes.tmp", tmp_path / ".model.json.abc.tmp"]
    for f in foreign:
        f.write_text("someone's")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("keep")
    linked = tmp_path / f".y.{dead_pid()}-abc{atomic.TEMP_SUFFIX}"
    linked.symlink_to(outside)
    assert atomic.remove_stale_temps(tmp_path) == [stale]
    assert live.is_dir() and file_named_like_ours.exists() and (outside / "keep").exists()
    assert all(f.read_text() == "someone's" for f in foreign)


def test_what_a_library_writes_beside_the_path_goes_with_the_write(tmp_path):
    target = tmp_path / "w.bin"
    with atomic.atomic_path(target) as tmp:
        (tmp.parent / ".tmpLIB123").write_bytes(b"scratch")  # as safetensors' own atomic write does
        tmp.write_bytes(b"done")
    assert target.read_bytes() == b"done"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.bin"]


def test_a_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "w.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic.atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.bin"]


def test_check_writable_leaves_nothing(tmp_path):
    atomic.check_writable(tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
