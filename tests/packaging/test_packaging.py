"""Packaging: every package and data file is declared, and an installed wheel trains on its bundled sample."""

import importlib.metadata
import importlib.util
import json
import os
import shutil
import venv
from pathlib import Path

import pytest
from wheel_runtime import ROOT, clean_env, run, setuptools_config

PACKAGE_DIRS = {"snndeploy": ROOT / "snndeploy"}


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


def test_every_folder_of_the_package_is_a_package():
    """A folder without __init__.py would be a namespace package: the explicit package list leaves it, and any
    folder below it, out of the wheel without a word."""
    for folder in PACKAGE_DIRS.values():
        for sub in [folder, *folder.rglob("*")]:
            if sub.is_dir() and sub.name != "__pycache__" and "__pycache__" not in sub.parts:
                assert (sub / "__init__.py").is_file(), f"{sub.relative_to(ROOT)} has no __init__.py"


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
def test_runtime_without_pytorch(tmp_path, runtime, tiny_run):
    """The edge runtime: the wheel with ONNX Runtime and no PyTorch in a fresh virtual environment checks,
    infers, evaluates and benchmarks an exported graph, and `build` fails in one line (no TensorRT)."""
    from snndeploy.export.exporter import ExportConfig, export

    (exported,) = export(tiny_run.path, ExportConfig(T=(2,), out=str(tmp_path / "onnx")))
    cli, env, onnx = runtime.cli, runtime.env, str(exported.path)
    run([cli, "check", onnx], tmp_path, env)
    assert "images" in run([cli, "infer", onnx, ROOT / "samples" / "images"], tmp_path, env)
    run([cli, "eval", onnx, "--limit-test", "100", "--repeats", "1"], tmp_path, env)
    run([cli, "bench", "run", onnx, "--batch", "1", "--iters", "2", "--limit-test", "50", "--work", tmp_path / "w"],
        tmp_path, env)
    build = runtime.snndeploy("build", onnx, "-o", tmp_path / "m.plan", cwd=tmp_path)
    lines = [ln for ln in (build.stdout + build.stderr).splitlines() if ln.strip()]
    assert build.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), lines
    assert "TensorRT" in lines[0] and "torch" not in lines[0].lower()
