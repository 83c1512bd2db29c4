"""The training process of `bench train` dies with its parent, quietly."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; PR_SET_PDEATHSIG is Linux's")

# a parent that trains for ever in a worker and prints the worker's pid at its first batch
PARENT = """
import multiprocessing as mp
from snndeploy.bench.train_study.worker import Job, run_isolated
from snndeploy.core.config import TrainConfig

said = []

def step(_status):
    if not said:
        said.extend(child.pid for child in mp.active_children())
        print(said[0], flush=True)

run_isolated(Job("ann", TrainConfig(method="ann", epochs=10_000, limit_train=128, limit_test=64), 1), on_step=step)
"""

# a process that asks to die with its parent, then waits (its parent prints its pid once it is ready)
ORPHAN = """
import time
from snndeploy.bench.train_study.worker import die_with_parent
die_with_parent({parent})
print("ready", flush=True)
time.sleep(600)
"""
PARENT_OF_ORPHAN = """
import subprocess, sys, os, time
child = subprocess.Popen([sys.executable, "-c", {code!r}.format(parent=os.getpid())], stdout=subprocess.PIPE, text=True)
assert child.stdout.readline() == "ready\\n"
print(child.pid, flush=True)
time.sleep(600)
"""


def _gone(pid: int) -> bool:
    """No such process, or only its exit status left (a zombie nobody has reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True


def _wait(condition, limit_s: float) -> bool:
    """Poll ``condition`` until it holds or ``limit_s`` seconds pass (a bound on a hang, not a timing)."""
    end = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True


def _orphaned_pid(code: str, tmp_path: Path) -> tuple[int, str]:
    """Start ``code`` as a parent, read the pid of the child it prints, SIGKILL the parent and wait (bounded)
    for the child to be gone: the child's pid, and the stderr that parent and child shared."""
    out, err = tmp_path / "out", tmp_path / "err"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[3])}
    with open(out, "w") as o, open(err, "w") as e:
        parent = subprocess.Popen([sys.executable, "-c", code], stdout=o, stderr=e, env=env)
    pid = None
    try:
        assert _wait(lambda: out.read_text().strip() or parent.poll() is not None, 300), "the child never started"
        assert parent.poll() is None, err.read_text()
        pid = int(out.read_text())
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert _wait(lambda: _gone(pid), 60), "the child outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if pid is not None and not _gone(pid):
            os.kill(pid, signal.SIGKILL)  # only the process this test started
    return pid, err.read_text()


def test_a_killed_parent_takes_its_training_process_along_quietly(tmp_path):
    """SIGKILL of `bench train` (no chance to end its worker): the worker goes too, and prints no traceback."""
    _, err = _orphaned_pid(PARENT, tmp_path)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_die_with_parent(tmp_path):
    """A process that asked to die with its parent ends when the parent does, though it never writes anything."""
    _, err = _orphaned_pid(PARENT_OF_ORPHAN.format(code=ORPHAN), tmp_path)
    assert "Traceback" not in err, err


CHILD_HOLDING_A_LOCK = """
import multiprocessing as mp, time
from snndeploy.bench.train_study.worker import exit_on_sigterm

def child(conn):
    exit_on_sigterm()
    lock = mp.get_context("spawn").Lock()  # a semaphore made in the child, as libraries make them
    conn.send("ready")
    time.sleep(60)

if __name__ == "__main__":
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=child, args=(send,))
    proc.start()
    receive.recv()
    proc.terminate()  # what run_isolated does after a Ctrl-C
    proc.join()
"""


def test_a_child_ended_by_its_parent_leaks_no_semaphore(tmp_path):
    script = tmp_path / "child_holding_a_lock.py"
    script.write_text(CHILD_HOLDING_A_LOCK)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert "leaked semaphore" not in r.stderr
