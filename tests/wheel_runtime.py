"""Helpers of the packaging tests (tests/packaging): a wheel built from the source tree, commands run in a clean
environment, and the runtime: a fresh virtual environment holding the wheel with ONNX Runtime and without PyTorch
(what a Jetson or a CPU server installs). The fixtures ``wheel`` and ``runtime`` (tests/conftest.py) build each
once per session."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# what a copy of the source tree for the build leaves out: VCS data, caches, build outputs, run folders
JUNK = (".git", "build", "dist", "*.egg-info", "__pycache__", ".venv", "venv", "runs", ".pytest_cache",
        ".ruff_cache", ".benchmarks")


def setuptools_config() -> dict:
    """[tool.setuptools] of pyproject.toml; skips outside a source checkout."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("not run from a source checkout (no pyproject.toml)")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def build_preconditions() -> None:
    """Skip where no wheel can be built offline: the build backend or pip is missing."""
    setuptools_config()
    if importlib.util.find_spec("pip") is None:
        pytest.skip("pip is not installed")
    try:  # its version only: importing setuptools here would fight pytest's distutils
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("setuptools (the build backend) is not installed; --no-build-isolation needs it")
    major, minor = (int(p) for p in version.split(".")[:2])
    if (major, minor) < (68, 0):
        pytest.skip(f"setuptools {version} is older than the build's setuptools>=68")
    if (major, minor) < (70, 1) and importlib.util.find_spec("wheel") is None:
        pytest.skip(f"setuptools {version} needs the wheel package to build wheels")


def run(cmd: list, cwd: Path, env: dict) -> str:
    """Run a command that must succeed; its stdout."""
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that points Python at the source tree (PYTHONPATH)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", OMP_NUM_THREADS="1", **extra)
    return env


@dataclass(frozen=True)
class Runtime:
    """A virtual environment holding the wheel with its [cpu] extra and no PyTorch."""

    prefix: Path
    env: dict[str, str]

    @property
    def bindir(self) -> Path:
        return self.prefix / ("Scripts" if os.name == "nt" else "bin")

    @property
    def python(self) -> Path:
        return self.bindir / ("python.exe" if os.name == "nt" else "python")

    @property
    def cli(self) -> Path:
        return self.bindir / ("snndeploy.exe" if os.name == "nt" else "snndeploy")

    def snndeploy(self, *args: object, cwd: Path) -> subprocess.CompletedProcess:
        """Run the installed command (no check of its exit code)."""
        return subprocess.run([str(self.cli), *map(str, args)], cwd=cwd, env=self.env, capture_output=True,
                              text=True, timeout=600)


def build_wheel(tmp: Path) -> Path:
    """A wheel of the source tree, built offline in ``tmp`` from a copy (the build's egg-info and build/ never
    land in the checkout)."""
    build_preconditions()
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*JUNK))
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", tmp / "wheels", src], tmp,
        clean_env(PIP_NO_INDEX="1"))
    (built,) = (tmp / "wheels").glob("snndeploy-*.whl")
    return built


def install_runtime(prefix: Path, wheel: Path) -> Runtime:
    """``pip install 'WHEEL[cpu]'`` into a fresh virtual environment at ``prefix`` (no system site-packages); the
    dependencies come from the package index or pip's cache: where neither has them, the test is skipped."""
    venv.create(prefix, system_site_packages=False, with_pip=True, symlinks=os.name != "nt")
    rt = Runtime(prefix, clean_env())
    r = subprocess.run([str(rt.python), "-m", "pip", "install", "-q", f"{wheel}[cpu]"], env=rt.env,
                       capture_output=True, text=True, timeout=900)
    if r.returncode:
        pytest.skip(f"cannot install the runtime's dependencies: {r.stderr.strip().splitlines()[-1:]}")
    no_torch = subprocess.run([str(rt.python), "-c", "import torch"], env=rt.env, capture_output=True, text=True)
    assert no_torch.returncode != 0, "PyTorch is installed in the runtime's environment"
    assert rt.cli.is_file(), "the wheel installed no snndeploy command"
    return rt
