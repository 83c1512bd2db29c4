"""Packaging fixtures: a wheel built from the source tree, and a fresh virtual environment holding it with
ONNX Runtime and without PyTorch (the edge runtime: what a Jetson or a CPU server installs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from wheel_runtime import JUNK, ROOT, Runtime, build_preconditions, clean_env, run


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """A wheel of the source tree, built offline from a copy (the build's egg-info and build/ never land in
    the checkout)."""
    build_preconditions()
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*JUNK))
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", tmp / "wheels", src], tmp,
        clean_env(PIP_NO_INDEX="1"))
    (built,) = (tmp / "wheels").glob("snndeploy-*.whl")
    return built


@pytest.fixture(scope="session")
def runtime(tmp_path_factory, wheel) -> Runtime:
    """``pip install 'WHEEL[cpu]'`` into a fresh virtual environment (no system site-packages); the dependencies
    come from the package index or pip's cache: where neither has them, the test is skipped."""
    prefix = tmp_path_factory.mktemp("runtime") / "venv"
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
