"""Accuracy tables of artifacts: a checkpoint at any T, stage and alpha; an exported graph or engine through its
runner (without PyTorch)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.errors import SnnDeployError
from ..core.facts import ArtifactFacts
from ..core.spec import DataSpec
from ..data.datasets import Split, batches_of, iterate_arrays, load_dataset
from ..runners import Runner, kind_of, open_runner
from ..ui.progress import Bar


def one_pass_reason(facts: ArtifactFacts) -> str | None:
    """Why every pass over the test set gives the same accuracy (so one pass is enough), or None when the
    artifact draws noise (PyTorch, a --noise graph graph, a --noise input graph fed fresh draws)."""
    if facts.noise == "frozen":
        return "frozen noise: the artifact has no randomness, every pass gives the same accuracy"
    return None


def test_split_for(facts: ArtifactFacts, data_dir: str | None = None,
                   limit_test: int | None = None) -> tuple[Split, DataSpec]:
    """Reload the test split a model was trained on, checking it still fits the model."""
    spec, training = facts.data, facts.training
    data = load_dataset(spec.name, data_dir or (training.data_dir if training else None), limit_test=limit_test,
                        image_size=training.image_size if training else None)
    if data.spec.input_shape != spec.input_shape or data.spec.num_classes != spec.num_classes:
        raise SnnDeployError(f"dataset '{spec.name}' gives inputs {data.spec.input_shape} with {data.spec.num_classes} "
                             f"classes; the model expects {spec.input_shape} with {spec.num_classes}")
    return data.test, spec


def evaluate_checkpoint(path: str, Ts: list[int], stage: int = 3, alphas: list[float] | None = None, *,
                        data_dir: str | None = None, limit_test: int | None = None, batch_size: int = 256,
                        device: str = "cpu", seed: int = 0, repeats: int = 1, compiled: bool = False,
                        on_result: Any = None, show_progress: bool = False) -> list[dict[str, Any]]:
    """Accuracy table of a checkpoint over T (and alpha) on its own test data; ``compiled``: the PyTorch
    runner's fast path (``SpikingNet.inference_layout``); ``show_progress``: a bar per (alpha, T) advancing
    per batch of every repeat."""
    # checkpoints are PyTorch models: imported here, so that evaluating graphs and engines needs no PyTorch
    from ..core.device import pick_device
    from ..training import checkpoint
    from ..training.accuracy import sweep

    dev = pick_device(device)
    ck = checkpoint.load(path, dev)
    ck.model.inference_layout(compiled)
    split, spec = test_split_for(ck.facts, data_dir, limit_test)
    neuron = ck.neuron
    return sweep(ck.model, neuron, split, spec, Ts, stage, alphas or [neuron.alpha], batch_size=batch_size,
                 device=dev, seed=seed, repeats=repeats, on_result=on_result, show_progress=show_progress)


def runner_accuracy(runner: Runner, split: Split, spec: DataSpec, *, batch_size: int = 256, seed: int = 0,
                    on_batch: Callable[[], None] | None = None) -> float:
    """Accuracy of an active Runner on a split (fresh raw draws fed where the graph takes noise as input);
    ``on_batch`` is called after each batch (progress)."""
    rng = np.random.default_rng(seed)
    correct = 0
    for x, y in iterate_arrays(split, spec, batch_size):
        logits = runner.infer_batches(x, rng, chunk=batch_size)  # chunks of at most runner.max_batch
        correct += int((logits.argmax(1) == y).sum())
        if on_batch is not None:
            on_batch()
    return correct / max(len(split), 1)


def evaluate_graph(path: str, Ts: list[int] | None = None, stage: int | None = None,
                   alphas: list[float] | None = None, *, data_dir: str | None = None, limit_test: int | None = None,
                   batch_size: int = 256, seed: int = 0, repeats: int = 1, device: str = "cpu",
                   on_result: Any = None, show_progress: bool = False) -> list[dict[str, Any]]:
    """The accuracy row of an exported graph or a TensorRT engine (T, stage and alpha are fixed at export).

    ``repeats`` passes with noise seeds seed, seed + 1, ... are averaged, except for an artifact without
    randomness (``one_pass_reason``): one pass, and the row says why (``repeats`` 1, ``repeats_note``)."""
    if kind_of(path).name == "checkpoint":
        raise SnnDeployError(f"{path} is a checkpoint; evaluate it with evaluate_checkpoint")
    runner = open_runner(path, device=device, seed=seed)
    facts = runner.facts
    if Ts and Ts != [runner.T]:
        raise SnnDeployError(f"{path} is unrolled for T = {runner.T}; export other T to evaluate them")
    if stage is not None and stage != facts.stage:
        raise SnnDeployError(f"{path} is a stage-{facts.stage} graph")
    alpha = facts.neuron.alpha
    if alphas and alphas != [alpha]:
        raise SnnDeployError(f"{path} was exported with alpha = {alpha}; export again for another alpha")
    if repeats < 1:
        raise SnnDeployError(f"repeats must be >= 1, got {repeats}")
    note = one_pass_reason(facts)
    if note is not None:
        note = f"{note} ({repeats} asked)" if repeats > 1 else note
        repeats = 1
    split, spec = test_split_for(facts, data_dir, limit_test)
    accs = []
    with runner, Bar(enabled=show_progress) as bar:
        task = bar.start(f"{runner.name} T={runner.T}", repeats * batches_of(split, batch_size))
        for r in range(repeats):
            def advance(r: int = r) -> None:
                bar.advance(task, f"repeat {r + 1}/{repeats}")

            accs.append(runner_accuracy(runner, split, spec, batch_size=batch_size, seed=seed + r, on_batch=advance))
        bar.finish(task, f"{100 * statistics.fmean(accs):.2f}%")
    row = {"T": runner.T, "stage": facts.stage, "alpha": alpha if facts.stage == 3 else None,
           "accuracy": statistics.fmean(accs), "accuracy_std": statistics.pstdev(accs), "repeats": repeats,
           "repeats_note": note, "backend": runner.backend, "precision": runner.precision, "noise": facts.noise}
    if on_result is not None:
        on_result(row)
    return [row]


evaluate_onnx = evaluate_graph  # the name callers use for the ONNX case
