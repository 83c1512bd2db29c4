"""Helpers of the hostile suite: the CLI in a capped, timed subprocess, the one-line-refusal check and
snapshots of a folder (hashes, links not followed) to show that nothing outside a run's own folder changed."""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60  # a hang (FIFO, alias bomb) is killed here and fails; a refusal takes seconds, an import most of them
MEMORY_CAP = 6 * 2**30  # address space of each child: a bomb that expands fails at the cap instead of eating the host
TINY = ("--epochs", "1", "--limit-train", "128", "--limit-test", "64", "--lr", "1e-3", "-q")
KINDS = ("kill", "lock", "planted", "bomb", "manifest", "option")  # the marker's argument, counted by kind


def kind(name: str) -> pytest.MarkDecorator:
    """The suite's marker with the case's kind."""
    assert name in KINDS, name
    return pytest.mark.hostile(name)


def _cap_memory() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def child_env() -> dict[str, str]:
    """The children's environment: this worktree's snndeploy, one thread, a wide console."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "COLUMNS": "200", "SNNDEPLOY_COMPILE": "0"}


def run_python(code: str, *args: object, cwd: Path | None = None,
               timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """``python -c CODE ARGS...`` in a child with capped memory; fails the test if it does not end in time."""
    try:
        return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                              cwd=cwd, env=child_env(), timeout=timeout, preexec_fn=_cap_memory,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"hung: no answer within {timeout} s ({exc.cmd[3:]})")


CLI = "import sys; sys.argv[0] = 'snndeploy'; from snndeploy.cli.main import main; main()"


def snndeploy(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``snndeploy ARGS...`` in a subprocess."""
    return run_python(CLI, *args, cwd=cwd)


def refused(r: subprocess.CompletedProcess[str]) -> str:
    """Assert the one-line refusal (exit 2, one ``error:`` line on stderr, no traceback); return that line."""
    lines = r.stderr.strip().splitlines()
    assert "Traceback" not in r.stderr + r.stdout, r.stderr[-3000:]
    assert r.returncode == 2, (r.returncode, r.stderr[-3000:])
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr[-3000:]
    assert len(lines[0]) < 600, lines[0][:600]  # never an unbounded value in a message
    return lines[0]


def _entry(path: Path) -> tuple:
    """What a snapshot keeps of one path, never following a link or opening anything but a regular file."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return ("link", os.readlink(path))
    if stat.S_ISREG(st.st_mode):
        return ("file", hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(st.st_mode))
    if stat.S_ISDIR(st.st_mode):
        return ("dir",)
    return ("special", stat.S_IFMT(st.st_mode))


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` (links not followed; their targets under ``root`` are hashed as files)."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(folder) / name
            out[str(p.relative_to(root))] = _entry(p)
    return out


def assert_unchanged_outside(before: dict[str, tuple], root: Path, own: Path | None) -> None:
    """Nothing that existed under ``root`` changed or vanished, and nothing new appeared outside ``own``."""
    after = snapshot(root)
    changed = [k for k, v in before.items() if after.get(k) != v]
    assert not changed, f"changed or removed: {changed}"
    own_rel = str(own.relative_to(root)) if own is not None else None
    new = [k for k in after if k not in before and (own_rel is None or not (k == own_rel
                                                                             or k.startswith(own_rel + os.sep)))]
    assert not new, f"new files outside the run folder: {new}"


def copy_run(src: Path, dst: Path) -> Path:
    """A copy of a run folder without its lock file."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".lock"))
    return dst
