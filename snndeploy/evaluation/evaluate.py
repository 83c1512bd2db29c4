"""Accuracy tables of artifacts: an exported graph or engine (any fixed artifact) through its runner, without
PyTorch; a checkpoint at any T, stage and alpha through its kind's evaluator (snndeploy.evaluation.checkpoint_eval,
reached by the kinds table's "module:function" path, so that this module never imports PyTorch). Rows are frozen
AccuracyRow records."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import SnnDeployError, short
from ..core.facts import ArtifactFacts
from ..core.spec import DataSpec
from ..data.datasets import Split, batches_of, iterate_arrays, load_dataset
from ..runners import Runner, kind_of
from ..runners.table import load
from ..ui.progress import Bar

# the optional keys a checkpoint's rows leave out (its backend is the kind's, its precision fp32, its noise fresh)
_RUNNER_KEYS = ("backend", "precision", "noise")


@dataclass(frozen=True)
class AccuracyRow:
    """The accuracy of one artifact at one T, stage and alpha: the mean (and population standard deviation)
    over ``repeats`` passes with noise seeds seed, seed + 1, ...; ``repeats_note`` says why one pass was enough.
    A graph's or engine's row also names the runner's backend, precision and noise mode."""

    T: int
    stage: int
    alpha: float | None  # None at stage 2
    accuracy: float
    accuracy_std: float
    repeats: int
    repeats_note: str | None = None
    backend: str | None = None
    precision: str | None = None
    noise: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row as `snndeploy eval --json` writes it (a checkpoint's without backend, precision and noise)."""
        return {f.name: v for f in dataclasses.fields(self)
                if (v := getattr(self, f.name)) is not None or f.name not in _RUNNER_KEYS}

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> AccuracyRow:
        return cls(**row)


def evaluate(path: str, Ts: list[int] | None = None, stage: int | None = None, alphas: list[float] | None = None,
             **options: Any) -> list[AccuracyRow]:
    """The accuracy rows of any artifact, by its kind's evaluator (the kinds table's ``evaluator``): a checkpoint
    at every T (default 1, 5, 10), stage (default 3) and alpha; a graph or engine at its own. ``options``: the
    keyword options of evaluate_graph (a checkpoint's evaluator also takes ``compiled``)."""
    kind = kind_of(path)
    kind.require(path)  # one line where its backend is not installed, before its evaluator imports it
    return load(kind.evaluator)(path, Ts, stage, alphas, **options)


def evaluate_checkpoint(path: str, Ts: list[int] | None = None, stage: int | None = None,
                        alphas: list[float] | None = None, **options: Any) -> list[AccuracyRow]:
    """The accuracy rows of a checkpoint (snndeploy.evaluation.checkpoint_eval, through the kinds table)."""
    kind = kind_of(path)
    if not kind.network:
        raise SnnDeployError(f"{path} is {kind.what}; evaluate it with evaluate_graph")
    return evaluate(path, Ts, stage, alphas, **options)


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
    saved = training.data_dir if training else None
    if data_dir is None and saved is not None and not Path(saved).expanduser().is_dir():
        raise SnnDeployError(f"the test data of this model was in {short(saved)}, no folder now; pass --data-dir DIR "
                             "(where it lives now)")
    data = load_dataset(spec.name, data_dir or saved, limit_test=limit_test,
                        image_size=training.image_size if training else None)
    if data.spec.input_shape != spec.input_shape or data.spec.num_classes != spec.num_classes:
        raise SnnDeployError(f"dataset '{spec.name}' gives inputs {data.spec.input_shape} with {data.spec.num_classes} "
                             f"classes; the model expects {spec.input_shape} with {spec.num_classes}")
    return data.test, spec


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
                   on_result: Callable[[AccuracyRow], None] | None = None, show_progress: bool = False,
                   compiled: bool = False) -> list[AccuracyRow]:
    """The accuracy row of an exported graph, a TensorRT engine or any other fixed artifact of the kinds table
    (T, stage and alpha are fixed when it is made; ``compiled`` applies to checkpoints only).

    ``repeats`` passes with noise seeds seed, seed + 1, ... are averaged, except for an artifact without
    randomness (``one_pass_reason``): one pass, and the row says why (``repeats`` 1, ``repeats_note``)."""
    kind = kind_of(path)
    if kind.network:
        raise SnnDeployError(f"{path} is {kind.what}; evaluate it with evaluate_checkpoint")
    runner = kind.open(path, device=device, seed=seed)
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
        note = f"{note}; one pass, not --repeats {repeats}" if repeats > 1 else note
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
    row = AccuracyRow(T=runner.T, stage=facts.stage, alpha=alpha if facts.stage == 3 else None,
                      accuracy=statistics.fmean(accs), accuracy_std=statistics.pstdev(accs), repeats=repeats,
                      repeats_note=note, backend=runner.backend, precision=runner.precision, noise=facts.noise)
    if on_result is not None:
        on_result(row)
    return [row]


evaluate_onnx = evaluate_graph  # the name callers use for the ONNX case
