"""The install without PyTorch evaluates and benchmarks models trained on the user's own data (issue 21):
graphs trained (with PyTorch, through the CLI) on an image folder (exported as the README's Jetson recipe does:
``--config jetson-fp16``) and on MNIST-layout raw files, then evaluated,
benchmarked, run and checked by the wheel's ``[cpu]`` install in a fresh virtual environment, on the data moved
elsewhere and named by ``--data-dir``: the same accuracy and predictions as the PyTorch install gives."""

from __future__ import annotations

import json
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fakes import write_idx
from PIL import Image
from wheel_runtime import ROOT, clean_env, run, setuptools_config

from snndeploy.data.datasets import SAMPLE_TRAIN, sample_path

pytestmark = pytest.mark.slow

FOLDER_CLASSES = {"zero": 0, "one": 1, "seven": 7}  # folder name -> the sample's digit
PER_CLASS = 80  # images per class folder: an 80/20 split leaves 16 per class to test
MNIST_TRAIN, MNIST_TEST = 1000, 200


@dataclass(frozen=True)
class Case:
    """A graph, where its data lives now (moved after training), and what the PyTorch install measured."""

    graph: Path
    data_dir: Path
    images: Path  # a folder of PNGs to infer, inside data_dir
    accuracy: float
    predictions: list[dict]


def main_cli(*args: object, cwd: Path) -> str:
    """``snndeploy ARGS`` in this environment (PyTorch installed), from the source tree."""
    return run([sys.executable, "-m", "snndeploy.cli.main", *args], cwd, clean_env(PYTHONPATH=str(ROOT)))


def make_folder(root: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    """One subfolder of gray PNGs per class, drawn from the sample."""
    for name, digit in FOLDER_CLASSES.items():
        (root / name).mkdir(parents=True)
        for i, img in enumerate(images[labels == digit][:PER_CLASS]):
            Image.fromarray(img[0]).save(root / name / f"{i:03d}.png")
    return root


def make_mnist(root: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    """torchvision's raw MNIST files (``ROOT/MNIST/raw``), from the sample's train and test images, and the
    first test digits as PNGs (``ROOT/pngs``, to infer)."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    parts = {"train": slice(0, MNIST_TRAIN), "t10k": slice(SAMPLE_TRAIN, SAMPLE_TRAIN + MNIST_TEST)}
    for prefix, rows in parts.items():
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images[rows, 0])
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels[rows])
    (root / "pngs").mkdir()
    for i, img in enumerate(images[SAMPLE_TRAIN:SAMPLE_TRAIN + 12]):
        Image.fromarray(img[0]).save(root / "pngs" / f"{i:02d}.png")
    return root


def infer_predictions(out: str) -> list[dict]:
    """``infer --json -`` output without the input names (the folder's path differs between the runs)."""
    return [{k: p[k] for k in ("class", "index", "confidence")} for p in json.loads(out)["predictions"]]


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> dict[str, Case]:
    """Train a folder model and an MNIST-files model through the CLI, export each at T=5, measure them here,
    then move their data: the runtime finds it by --data-dir only."""
    tmp = tmp_path_factory.mktemp("own-data")
    with np.load(sample_path()) as npz:
        images, labels = npz["images"], npz["labels"].astype(np.int64)
    made = {"folder": make_folder(tmp / "shapes", images[:SAMPLE_TRAIN], labels[:SAMPLE_TRAIN]),
            "mnist": make_mnist(tmp / "mnist", images, labels)}
    infer_dirs = {"folder": "seven", "mnist": "pngs"}  # PNGs to infer, inside each dataset
    # the folder model goes the README's Jetson way (fp16, batch 1, TensorRT 10.3 recorded); MNIST the default way
    export_args = {"folder": ("--config", "jetson-fp16"), "mnist": ("--T", "5")}
    out = {}
    for name, data in made.items():
        main_cli("train", "--dataset", name, "--data-dir", data, "--epochs", "2", "--lr", "1e-3", "--batch-size",
                 "32", "-q", "--out", tmp / f"run-{name}", cwd=tmp)
        main_cli("export", tmp / f"run-{name}", *export_args[name], "-o", tmp / f"onnx-{name}", cwd=tmp)
        (graph,) = (tmp / f"onnx-{name}").rglob("*.onnx")
        main_cli("eval", graph, "--data-dir", data, "--json", tmp / f"eval-{name}.json", cwd=tmp)
        (row,) = json.loads((tmp / f"eval-{name}.json").read_text())["results"]
        # a model that learnt something: equal accuracies of a constant guess would prove little
        assert row["accuracy"] > 0.6, (name, row["accuracy"])
        predictions = infer_predictions(main_cli("infer", graph, data / infer_dirs[name], "--json", "-", cwd=tmp))
        moved = tmp / "moved" / f"{name}-data"
        moved.parent.mkdir(exist_ok=True)
        shutil.move(data, moved)
        out[name] = Case(graph, moved, moved / infer_dirs[name], row["accuracy"], predictions)
    return out


def test_the_wheel_ships_its_package_data(wheel):
    """Every package and data file pyproject.toml declares is in the wheel (the sample, the presets, the
    TensorRT tables)."""
    cfg = setuptools_config()
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in cfg["packages"]:
        assert f"{package.replace('.', '/')}/__init__.py" in names, f"{package} is not in the wheel"
    for package, files in cfg["package-data"].items():
        for f in files:
            assert f"{package.replace('.', '/')}/{f}" in names, f"{package}/{f} is not in the wheel"


@pytest.mark.parametrize("name", ["folder", "mnist"])
def test_runtime_without_pytorch_measures_own_data(tmp_path, runtime, cases, name):
    """eval, bench, infer and check in the install without PyTorch, on data found by --data-dir only."""
    case = cases[name]
    # the path saved at training is gone: without --data-dir the runtime says so in one line
    lost = runtime.snndeploy("eval", case.graph, cwd=tmp_path)
    lines = [ln for ln in (lost.stdout + lost.stderr).splitlines() if ln.strip()]
    assert lost.returncode == 2 and len(lines) == 1 and "--data-dir" in lines[0], lines

    r = runtime.snndeploy("eval", case.graph, "--data-dir", case.data_dir, "--json", tmp_path / "eval.json",
                          cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    (row,) = json.loads((tmp_path / "eval.json").read_text())["results"]
    assert row["accuracy"] == case.accuracy  # frozen noise, the same images in the same order: the same answer

    r = runtime.snndeploy("bench", case.graph, "--data-dir", case.data_dir, "--backend", "onnxruntime", "--batch",
                          "1", "--iters", "2", "--work", tmp_path / "work", "--json", tmp_path / "bench.json",
                          cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    (row,) = json.loads((tmp_path / "bench.json").read_text())["results"]
    assert row["status"] == "ok" and row["accuracy"] == case.accuracy, row

    r = runtime.snndeploy("infer", case.graph, case.images, "--json", "-", cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert infer_predictions(r.stdout) == case.predictions

    r = runtime.snndeploy("check", case.graph, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    if name == "folder":  # the jetson-fp16 graph is checked for the TensorRT it was exported for
        assert "TensorRT 10.3, from the graph's metadata" in r.stdout, r.stdout[-2000:]
