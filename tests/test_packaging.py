"""Packaging: every package and data file is declared, and an installed wheel trains on its bundled sample."""

import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = {"snndeploy": ROOT / "snndeploy"}
# what a copy of the source tree for the build leaves out: VCS data, caches, build outputs, run folders
JUNK = (".git", "build", "dist", "*.egg-info", "__pycache__", ".venv", "venv", "runs", ".pytest_cache",
        ".ruff_cache", ".benchmarks")


# imports the modules named in argv[1] and prints where each came from, plus the bundled sample's path
PROBE = """
import importlib, json, sys
import snndeploy.data.datasets, snndeploy.presets
files = {name: importlib.import_module(name).__file__ for name in json.loads(sys.argv[1])}
files["sample data"] = str(snndeploy.data.datasets.sample_path())
files.update({f"preset {n}": str(snndeploy.presets.resolve(n, c)) for c in snndeploy.presets.COMMANDS
              for n in snndeploy.presets.names(c)})
print(json.dumps(files))
"""


def source_modules() -> list[str]:
    """Dotted names of every module in the source tree."""
    names = []
    for top, folder in PACKAGE_DIRS.items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder).with_suffix("").parts
            names.append(".".join((top, *(rel[:-1] if rel[-1] == "__init__" else rel))))
    return names


def setuptools_config() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("not run from a source checkout (no pyproject.toml)")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def package_folders() -> dict[str, Path]:
    """Dotted name -> folder of every regular package in the source tree."""
    found = {}
    for top, folder in PACKAGE_DIRS.items():
        for init in folder.rglob("__init__.py"):
            if "__pycache__" not in init.parts:
                rel = init.parent.relative_to(folder).parts
                found[".".join((top, *rel))] = init.parent
    return found


def test_every_package_and_data_file_is_declared():
    cfg = setuptools_config()
    found = package_folders()
    assert sorted(found) == sorted(cfg["packages"])
    data = cfg.get("package-data", {})
    for name, folder in found.items():
        extra = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix not in (".py", ".pyc"))
        assert extra == sorted(data.get(name, [])), f"files of {name} not declared as package data"


def build_preconditions() -> None:
    """Skip where no wheel can be built or installed offline: the build backend or pip is missing."""
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
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", OMP_NUM_THREADS="1", **extra)
    return env


@pytest.fixture(scope="module")
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


@pytest.mark.slow
def test_wheel_installs_and_trains_on_its_bundled_sample(tmp_path, wheel):
    env = clean_env(PIP_NO_INDEX="1")
    # torch and the other dependencies come from the system; snndeploy itself only from the wheel
    prefix = tmp_path / "venv"
    venv.create(prefix, system_site_packages=True, with_pip=False, symlinks=os.name != "nt")
    bindir = prefix / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    run([python, "-m", "pip", "install", "--no-deps", "--ignore-installed", wheel], tmp_path, env)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # the system's editable snndeploy would quietly supply any module the wheel lacks: import every one
    files = json.loads(run([python, "-c", PROBE, json.dumps(source_modules())], elsewhere, env))
    venv_root = prefix.resolve()
    outside = {name: f for name, f in files.items() if venv_root not in Path(f).resolve().parents}
    assert not outside, f"not imported from the wheel: {outside}"
    shipped = {p.stem for p in (ROOT / "snndeploy" / "presets").glob("*.yaml")}
    assert {n.removeprefix("preset ") for n in files if n.startswith("preset ")} == shipped
    assert all(Path(f).is_file() for n, f in files.items() if n.startswith("preset "))

    out = elsewhere / "run"
    cli = shutil.which("snndeploy", path=str(bindir))
    assert cli is not None, "the wheel installed no snndeploy command"
    run([cli, "train", "--epochs", "1", "--limit-train", "200", "--limit-test", "100", "--quiet", "--out", out],
        elsewhere, env)
    assert list(out.glob("model.*.safetensors")) and (out / "model.json").is_file()
    # a preset by name, from a folder that has none: the wheel's own copy
    run([cli, "export", out, "--config", "jetson-fp16", "-o", elsewhere / "onnx"], elsewhere, env)
    assert (elsewhere / "onnx" / "small-cnn_T5_fp16_batch1.onnx").is_file()
    version = importlib.metadata.version("snndeploy")
    assert run([cli, "--version"], elsewhere, env).splitlines()[0] == f"snndeploy {version}"


@pytest.mark.slow
def test_runtime_without_pytorch(tmp_path, wheel, tiny_run):
    """The edge runtime: the wheel with ONNX Runtime and no PyTorch in a fresh virtual environment checks,
    infers, evaluates and benchmarks an exported graph, and `build` fails in one line (no TensorRT)."""
    from snndeploy.export.exporter import ExportConfig, export

    (exported,) = export(tiny_run.path, ExportConfig(T=(2,), out=str(tmp_path / "onnx")))
    prefix = tmp_path / "venv"
    venv.create(prefix, system_site_packages=False, with_pip=True, symlinks=os.name != "nt")
    bindir = prefix / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    env = clean_env()
    # the dependencies come from the package index (or pip's cache): where it cannot be reached, skip
    r = subprocess.run([str(python), "-m", "pip", "install", "-q", f"{wheel}[cpu]"], env=env, capture_output=True,
                       text=True, timeout=900)
    if r.returncode:
        pytest.skip(f"cannot install the runtime's dependencies: {r.stderr.strip().splitlines()[-1:]}")
    no_torch = subprocess.run([str(python), "-c", "import torch"], env=env, capture_output=True, text=True)
    assert no_torch.returncode != 0, "PyTorch is installed in the runtime's environment"
    cli = str(bindir / "snndeploy")
    onnx = str(exported.path)
    run([cli, "check", onnx], tmp_path, env)
    assert "images" in run([cli, "infer", onnx, ROOT / "samples" / "images"], tmp_path, env)
    run([cli, "eval", onnx, "--limit-test", "100", "--repeats", "1"], tmp_path, env)
    run([cli, "bench", "run", onnx, "--batch", "1", "--iters", "2", "--limit-test", "50", "--work", tmp_path / "w"],
        tmp_path, env)
    build = subprocess.run([cli, "build", onnx, "-o", str(tmp_path / "m.plan")], env=env, capture_output=True,
                           text=True, cwd=tmp_path)
    lines = [ln for ln in (build.stdout + build.stderr).splitlines() if ln.strip()]
    assert build.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), lines
    assert "TensorRT" in lines[0] and "torch" not in lines[0].lower()
