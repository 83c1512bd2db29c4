"""Evaluation: one pass for an artifact without randomness (and saying why), progress per batch of every repeat."""

import json

import pytest
from cli_helpers import invoke
from conftest import make_checkpoint

from snndeploy.evaluation import evaluate
from snndeploy.export.exporter import ExportConfig, export
from snndeploy.training import accuracy
from snndeploy.ui.progress import Bar


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    """A --noise frozen and a --noise input graph (T = 2) of one untrained checkpoint."""
    root = tmp_path_factory.mktemp("eval")
    make_checkpoint(root / "run", "small-cnn")
    (frozen,) = export(root / "run", ExportConfig(T=(2,), out=str(root / "frozen")))
    (fed,) = export(root / "run", ExportConfig(T=(2,), noise="input", out=str(root / "input")))
    return {"run": root / "run", "frozen": frozen.path, "input": fed.path}


class CountingBar(Bar):
    """A disabled Bar counting its tasks and steps."""

    made: list["CountingBar"] = []

    def __init__(self, enabled: bool = True) -> None:
        super().__init__(enabled=False)
        self.asked, self.totals, self.steps, self.statuses = enabled, [], 0, []
        CountingBar.made.append(self)

    def start(self, description, total):
        self.totals.append((description, total))
        return super().start(description, total)

    def advance(self, task, status=""):
        self.steps += 1
        self.statuses.append(status)
        super().advance(task, status)


@pytest.fixture
def passes(monkeypatch):
    """Count the passes over the test set of a graph."""
    calls = []
    real = evaluate.runner_accuracy

    def counted(*args, **kwargs):
        calls.append(kwargs["seed"])
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluate, "runner_accuracy", counted)
    return calls


def test_frozen_graph_is_evaluated_once_and_says_why(graphs, passes):
    (row,) = evaluate.evaluate_graph(str(graphs["frozen"]), repeats=3, limit_test=16)
    assert passes == [0]
    assert row.repeats == 1 and row.accuracy_std == 0.0 and row.noise == "frozen"
    assert row.repeats_note == ("frozen noise: the artifact has no randomness, every pass gives the same "
                                   "accuracy; one pass, not --repeats 3")


def test_graph_with_fed_noise_is_evaluated_per_repeat(graphs, passes):
    (row,) = evaluate.evaluate_graph(str(graphs["input"]), repeats=3, limit_test=16, seed=7)
    assert passes == [7, 8, 9] and row.repeats == 3 and row.repeats_note is None


def test_graph_progress_advances_per_batch_of_every_repeat(graphs, monkeypatch):
    CountingBar.made.clear()
    monkeypatch.setattr(evaluate, "Bar", CountingBar)
    evaluate.evaluate_graph(str(graphs["input"]), repeats=2, limit_test=20, batch_size=8, show_progress=True)
    (bar,) = CountingBar.made
    assert bar.asked and bar.totals == [(f"{graphs['input'].name} T=2", 2 * 3)] and bar.steps == 6
    assert bar.statuses == ["repeat 1/2"] * 3 + ["repeat 2/2"] * 3


def test_checkpoint_progress_per_T_and_repeat(graphs, monkeypatch):
    CountingBar.made.clear()
    monkeypatch.setattr(accuracy, "Bar", CountingBar)
    rows = evaluate.evaluate_checkpoint(str(graphs["run"]), [1, 2], repeats=2, limit_test=20, batch_size=8,
                                        show_progress=True)
    (bar,) = CountingBar.made
    assert bar.asked and bar.totals == [("T=1 alpha=4", 6), ("T=2 alpha=4", 6)] and bar.steps == 12
    assert all(r.repeats == 2 and r.repeats_note is None for r in rows)  # PyTorch draws fresh noise


def test_eval_cli_reports_one_pass_for_a_frozen_graph(graphs, tmp_path, passes):
    r = invoke("eval", graphs["frozen"], "--limit-test", 16, "--json", tmp_path / "e.json", "--threads", 1)
    assert r.exit_code == 0, r.output
    (row,) = json.loads((tmp_path / "e.json").read_text())["results"]
    assert row["repeats"] == 1 and row["repeats_note"].startswith("frozen noise") and passes == [0]
    assert "T=2 alpha=4:" in r.output and "(1 pass)" in r.output  # a line per result where no bar is drawn
    assert ("repeats: 1 (frozen noise: the artifact has no randomness, every pass gives the same accuracy; one "
            "pass, not --repeats 3)") \
        in r.output


def test_eval_cli_shows_a_progress_bar_in_a_terminal(graphs, monkeypatch):
    from rich.console import Console

    monkeypatch.setattr(Console, "is_terminal", property(lambda self: True))
    r = invoke("eval", graphs["input"], "--limit-test", 16, "--repeats", 2)
    assert r.exit_code == 0, r.output
    bar = next(line for line in r.output.splitlines() if f"{graphs['input'].name} T=2" in line)
    assert "2/2" in bar and "%" in bar  # one batch per repeat, finished with the accuracy
    assert "mean of 2 repeats" not in r.output  # the bar replaces the per-result lines
