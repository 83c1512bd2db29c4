"""`snndeploy bench train` end to end on tiny settings, its pieces, and one-line errors for bad input."""

import json
import math
import multiprocessing as mp
import os
import re
import signal
from pathlib import Path

import matplotlib.colors
import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from snndeploy.bench.train_study import report
from snndeploy.bench.train_study import study as train_cost
from snndeploy.bench.train_study.config import QUICK, TrainCostConfig, config_from_options, config_record
from snndeploy.bench.train_study.peers import spikingjelly_available
from snndeploy.bench.train_study.report import PLOTS, STATE, markdown, verdict
from snndeploy.bench.train_study.study import ALPHAS, SWEEP_T, checks, run_train_cost, stage3_curves, time_to_target
from snndeploy.bench.train_study.worker import Job, run_isolated, train_ours
from snndeploy.cli.bench_train_cmd import bench_train_command
from snndeploy.conversion import ann_to_snn as conversion
from snndeploy.core.config import TrainConfig
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.data.datasets import load_dataset
from snndeploy.models import build_model
from snndeploy.training import checkpoint

app = typer.Typer()
app.command("train")(bench_train_command)


@app.command("noop")
def _noop() -> None:
    """A second command, so that `train` is addressed by name as under `snndeploy bench`."""


TINY = ["--model", "small-cnn", "--T", 4, "--epochs", 2, "--target", 0.5, "--limit-train", 512, "--limit-test", 200,
        "--lr", 1e-3, "--calib-images", 128, "--conversion-max-T", 64, "--repeats", 1, "--peer-batches", 3]


def invoke(*args):
    return CliRunner().invoke(app, ["train", *map(str, args)])


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """One tiny run of every method, the peer, uniform noise, the sweeps and the conversion (about 30 s)."""
    out = tmp_path_factory.mktemp("bench")
    r = invoke(*TINY, "-o", out)
    assert r.exit_code == 0, r.output
    return out, json.loads((out / "train_cost.json").read_text()), r.output


def test_report_files(bench):
    out, result, output = bench
    for name in [*PLOTS.values()]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    md = (out / "train_cost.md").read_text()
    for section in ("## Cost per method", "## Claims checked", "(paper Figs. 3 and 6)",
                    "(paper Fig. 7)", "## ANN-to-SNN conversion (paper Table 2)"):
        assert section in md
    assert md == markdown(result)
    assert "bptt T=4" in output and "train_cost.md" in output
    state = json.loads((out / STATE).read_text())
    assert state["done"][-1] == "plots" and sorted(state["plots"]) == sorted(PLOTS.values())
    assert "Unfinished" not in md
    # written for users: every claim as holds / does not hold on this run / not decided on this run, and nothing
    # of how the tool was made
    for text in (md, output):
        for internal in ("issue", "done when", "NOT", "Traceback"):
            assert internal not in text, internal
    claims = md.split("## Claims checked")[1].split("##")[0].strip().splitlines()
    assert len(claims) == len(result["checks"]) == 4
    assert all(re.search(r": (holds \(measured|does not hold on this run: |not decided on this run: )", c)
               for c in claims), claims


def test_every_method_trains_and_is_measured(bench):
    _, result, _ = bench
    rows = result["rows"]
    expected = ["noise", "bptt T=4", "ann", "noise (uniform)"] + (["spikingjelly bptt T=4"] * spikingjelly_available())
    assert list(rows) == expected
    for label in ("noise", "bptt T=4", "ann", "noise (uniform)"):
        hist = rows[label]["history"]
        assert [h["epoch"] for h in hist] == [1, 2]
        assert hist[1]["train_loss"] < hist[0]["train_loss"], label
        assert rows[label]["memory_mb"] > 0 and rows[label]["epoch_s"] > 0
        assert checkpoint.load(rows[label]["checkpoint"]).facts.training.method in ("noise", "bptt", "ann")
    assert rows["noise"]["history"][0]["accuracy_stage1"] is not None
    assert rows["noise (uniform)"]["history"][0].get("accuracy") is None  # tested after the last epoch only
    assert rows["noise (uniform)"]["job"]["noise"] == "uniform"
    # four steps through time cost more time and memory than one
    assert rows["bptt T=4"]["epoch_s"] > rows["noise"]["epoch_s"]
    assert rows["bptt T=4"]["memory_mb"] > 2 * rows["noise"]["memory_mb"]
    assert rows["bptt T=4"]["epoch_vs_bptt"] == 1.0
    if spikingjelly_available():
        peer = rows["spikingjelly bptt T=4"]
        assert peer["batches_timed"] == 3 and peer["samples_per_s"] > 0 and peer["time_to_target"] is None
        assert sum(peer["losses"][-2:]) < sum(peer["losses"][:2])


def test_figures_and_conversion(bench):
    _, result, _ = bench
    fig, conv = result["figures"], result["conversion"]
    assert list(fig["alpha"]) == [f"{a:g}" for a in ALPHAS]
    assert all(len(v) == SWEEP_T for v in fig["alpha"].values())
    # the readout averaged over more steps: every alpha is better at T = 10 than at T = 1 (by about 0.17 here)
    assert all(v[-1] > v[0] + 0.05 for v in fig["alpha"].values()), fig["alpha"]
    assert list(fig["noise_types"]) == ["gaussian", "uniform"]
    assert [r["T"] for r in conv["table"]] == [8, 16, 32, 64] and len(conv["accuracy_by_T"]) == 64
    assert conv["reference"] == fig["alpha"]["4"][4]
    first = conv["first_T_reaching_reference"]
    assert first is None or conv["accuracy_by_T"][first - 1] >= conv["reference"]
    assert len(conv["thresholds"]) == 3 and conv["calibration_images"] == 128
    assert [c["claim"].split()[0] for c in result["checks"]] == ["noise", "noise", "time", "conversion"]


def test_time_to_target_and_checks():
    hist = [{"epoch": e, "accuracy": a, "train_s_cum": 2.0 * e, "wall_s_cum": 3.0 * e}
            for e, a in ((1, 0.5), (2, 0.93), (3, 0.91))]
    assert time_to_target(hist, 0.92) == {"reached": True, "epoch": 2, "train_s": 4.0, "wall_s": 6.0}
    miss = time_to_target(hist, 0.95)
    assert not miss["reached"] and miss["trained_s"] == 6.0 and miss["best_accuracy"] == 0.93
    rows = {"noise": {"epoch_s": 1.0, "memory_mb": 20.0, "time_to_target": time_to_target(hist, 0.92)},
            "bptt T=10": {"epoch_s": 10.0, "memory_mb": 100.0, "time_to_target": miss}}
    conv = {"reference": 0.9, "first_T_reaching_reference": None, "max_T": 512, "steps_ratio": None}
    out = checks(rows, conv, "bptt T=10")
    assert [(c["value"], c["holds"]) for c in out] == [(0.1, True), (0.2, True), (1.5, None), (102.4, True)]
    assert out[2]["lower_bound"] and out[3]["lower_bound"]
    rows["bptt T=10"]["time_to_target"] = {"reached": True, "train_s": 40.0}
    assert checks(rows, None, "bptt T=10")[2]["value"] == 10.0


def test_bad_input(tmp_path):
    out = tmp_path / "never"
    for args, message in ((["--methods", "noise,evolution"], "unknown method 'evolution'"),
                          (["--T", 0], "T must be >= 1"),
                          (["--target", 0], "target accuracy must be in (0, 1]"),
                          (["--target", 1.5], "target accuracy must be in (0, 1]"),
                          (["--epochs", 0], "epochs must be >= 1"),
                          (["--model", "alexnet"], "unknown model")):
        r = invoke(*args, "-o", out)
        assert r.exit_code == 2, r.output
        assert "error:" in r.output and message in r.output and "Traceback" not in r.output
        assert len(r.output.strip().splitlines()) == 1
    assert not out.exists()
    with pytest.raises(SnnDeployError, match="unknown method"):
        TrainCostConfig(methods=("noise", "noise2"))
    with pytest.raises(SnnDeployError, match="without repeats"):
        TrainCostConfig(methods=("ann", "ann"))


def test_child_errors_come_back_as_one_line():
    job = Job("ann", TrainConfig(method="ann", dataset="imagenet"), 1)
    with pytest.raises(SnnDeployError, match="^ann: unknown dataset 'imagenet'"):
        run_isolated(job)
    with pytest.raises(SnnDeployError, match="unknown method"):
        Job("x", TrainConfig(method="evolution"), 1)


def test_stop_at_target(tmp_path):
    job = Job("ann", TrainConfig(method="ann", epochs=4, lr=1e-3, limit_train=512, limit_test=200,
                                 out=str(tmp_path / "ann")), 1, stop_at=0.3, checkpoint=True)
    result = run_isolated(job)
    assert len(result["history"]) == 1 and result["history"][0]["accuracy"] >= 0.3
    assert checkpoint.load(tmp_path / "ann").facts.training.epochs == 1


def test_stage3_curves_leave_the_model_as_it_was(monkeypatch):
    data = load_dataset("sample", limit_train=8, limit_test=16)
    neuron = NeuronConfig(alpha=3.0)
    model = build_model("small-cnn", data.spec.input_shape, data.spec.num_classes, neuron).eval().set_mode("stage1")
    curves = stage3_curves(model, data, (2.0, float("inf")), 1, 0, "cpu")
    assert list(curves) == ["2", "inf"] and all(len(v) == SWEEP_T for v in curves.values())
    assert all(n.cfg == neuron and n.mode == "stage1" for n in model.lif_nodes()) and not model.training

    def fail(*_args, **_kwargs):
        assert {n.cfg.alpha for n in model.lif_nodes()} == {2.0}  # the sweep runs at the alpha it asks for
        raise RuntimeError("interrupted")

    monkeypatch.setattr(train_cost, "accuracy_by_T", fail)
    with pytest.raises(RuntimeError, match="interrupted"):
        stage3_curves(model, data, (2.0,), 1, 0, "cpu")
    assert all(n.cfg == neuron and n.mode == "stage1" for n in model.lif_nodes())


# A run small enough to train in this process (no fresh process per method): two methods, one sweep each.
SMALL = dict(model="small-cnn", T=4, epochs=1, lr=1e-3, limit_train=96, limit_test=40, calib_images=32,
             conversion_max_T=16, repeats=1, methods=("noise", "ann"), uniform=False, peer=False)


@pytest.fixture
def in_process(monkeypatch):
    """Train each job in this process (fast), with the worker's own training function; the jobs, in order."""
    jobs = []

    def run(job, on_epoch=None, on_step=None):
        jobs.append(job)
        data = load_dataset(job.train.dataset, limit_train=job.train.limit_train, limit_test=job.train.limit_test)
        Path(job.train.out).mkdir(parents=True, exist_ok=True)
        send = lambda kind, msg: on_step and kind == "step" and on_step(msg)  # noqa: E731
        result = train_ours(job, data, torch.device("cpu"), send)
        return {**result, "label": job.label, "job": job.record(), "memory_mb": 1.0,
                "train_images": len(data.train), "test_images": len(data.test)}

    monkeypatch.setattr(train_cost, "run_isolated", run)
    return jobs


def test_resume_skips_finished_phases(tmp_path, in_process, monkeypatch):
    """Interrupted in the stage-3 sweep (at its third alpha), the run keeps both trained methods and the two
    alphas swept; --resume trains nothing again, sweeps the other three alphas and ends with the whole report."""
    cfg = TrainCostConfig(**SMALL, out=str(tmp_path / "run"))
    real_curves = train_cost.stage3_curves
    sweeps = []

    def ctrl_c(*args, **kwargs):
        sweeps.append(args[2])
        if len(sweeps) == 3:
            raise KeyboardInterrupt
        return real_curves(*args, **kwargs)

    monkeypatch.setattr(train_cost, "stage3_curves", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        run_train_cost(cfg)
    state = json.loads((tmp_path / "run" / STATE).read_text())
    assert state["done"] == ["train noise", "train ann"] and list(state["rows"]) == ["noise", "ann"]
    assert list(state["figures"]["alpha"]) == ["2", "3"]
    assert state["config"] == config_record(cfg)
    md = (tmp_path / "run" / "train_cost.md").read_text()
    assert "**Unfinished run**: still to do: stage-3 sweep, conversion, plots" in md
    assert [j.label for j in in_process] == ["noise", "ann"]
    assert not list((tmp_path / "run").glob("*.png"))

    sweeps.clear()
    monkeypatch.setattr(train_cost, "stage3_curves", lambda *a, **k: sweeps.append(a[2]) or real_curves(*a, **k))
    result = run_train_cost(cfg, resume=True)
    assert [j.label for j in in_process] == ["noise", "ann"]  # nothing trained again
    assert sweeps == [(4.0,), (8.0,), (math.inf,)]  # nor swept again
    assert list(result["figures"]["alpha"]) == ["2", "3", "4", "8", "inf"]
    state = json.loads((tmp_path / "run" / STATE).read_text())
    assert state["done"] == ["train noise", "train ann", "stage-3 sweep", "conversion", "plots"]
    md = (tmp_path / "run" / "train_cost.md").read_text()
    assert "Unfinished" not in md and md == markdown(result) and result["pending"] == []
    assert "## Stage-3 accuracy" in md and "## ANN-to-SNN conversion" in md
    assert sorted(p.name for p in (tmp_path / "run").glob("*.png")) == sorted(PLOTS.values())
    assert result["conversion"]["reference"] == result["figures"]["alpha"]["4"][4]
    # the record names the checkpoints the figures came from
    assert set(result["machine"]["artifacts"]) == {r["checkpoint"] for r in result["rows"].values()}

    # a finished run resumed again redoes nothing but the text report
    monkeypatch.setattr(train_cost, "stage3_curves", None)
    monkeypatch.setattr(report, "DRAW", {})
    assert run_train_cost(cfg, resume=True)["figures"] == result["figures"]


def test_limits_reach_every_phase(tmp_path, in_process, monkeypatch):
    """--limit-train and --limit-test hold in training, both sweeps and the conversion (calibration included)."""
    seen: dict[str, set[int]] = {"sweep": set(), "conversion": set(), "calibration": set()}
    real_by_T, real_conv, real_calib = train_cost.accuracy_by_T, conversion.conversion_accuracy, conversion.calibrate

    def by_T(model, split, *a, **k):
        seen["sweep"].add(len(split))
        return real_by_T(model, split, *a, **k)

    def conv(snn, split, *a, **k):
        seen["conversion"].add(len(split))
        return real_conv(snn, split, *a, **k)

    def calib(model, split, *a, **k):
        seen["calibration"].add(min(len(split), k["images"]))
        return real_calib(model, split, *a, **k)

    monkeypatch.setattr(train_cost, "accuracy_by_T", by_T)
    monkeypatch.setattr(conversion, "conversion_accuracy", conv)
    monkeypatch.setattr(conversion, "calibrate", calib)
    cfg = TrainCostConfig(**{**SMALL, "calib_images": 512, "uniform": True}, out=str(tmp_path / "run"))
    result = run_train_cost(cfg)
    assert {(j.train.limit_train, j.train.limit_test) for j in in_process} == {(96, 40)}
    assert {(r["train_images"], r["test_images"]) for r in result["rows"].values()} == {(96, 40)}
    assert sum(seen["sweep"]) == 40 and sum(seen["conversion"]) == 40  # the 40 test images, in pieces
    assert seen["calibration"] == {96} and result["conversion"]["calibration_images"] == 96
    assert result["data"] == {"name": "sample", "train": 96, "test": 40}
    assert list(result["figures"]["noise_types"]) == ["gaussian", "uniform"]


def test_resume_refuses_changed_options(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    cfg = TrainCostConfig(**SMALL, out=str(out))
    state = {"config": config_record(cfg), "done": ["train noise"], "rows": {}, "figures": {}, "conversion": None,
             "plots": []}
    (out / STATE).write_text(json.dumps(state))
    small = ["--model", "small-cnn", "--T", 4, "--epochs", 1, "--lr", 1e-3, "--limit-train", 96, "--limit-test", 40,
             "--calib-images", 32, "--conversion-max-T", 16, "--repeats", 1, "--methods", "noise,ann", "--no-uniform",
             "--no-peer", "-o", out, "-q"]
    for args, message in (
            ([*small[2:], "--model", "paper-cnn", "--epochs", 2, "--resume"],
             "cannot resume {out}: options differ from the earlier run's: --model (was small-cnn, now paper-cnn), "
             "--epochs (was 1, now 2); give the same options"),
            ([*small], "{out} holds an unfinished run of these options (1 phase done): --resume continues it, "
                       "--overwrite replaces it, or give -o another folder"),
            ([*small, "--resume", "-o", tmp_path / "empty"], "nothing to resume in {empty}")):
        r = invoke(*args)
        assert r.exit_code == 2, r.output
        lines = r.output.strip().splitlines()
        assert len(lines) == 2 and lines[1].startswith("error:"), r.output  # the environment line, then the error
        assert message.format(out=out, empty=tmp_path / "empty") in " ".join(r.output.split()), r.output
    assert json.loads((out / STATE).read_text()) == state
    (out / STATE).write_text("{not json")
    with pytest.raises(SnnDeployError, match="bench state .* is not valid JSON"):
        run_train_cost(cfg, resume=True)


def test_quick_preset_and_explicit_options():
    quick = config_from_options(True)
    assert {k: getattr(quick, k) for k in QUICK} == QUICK
    assert config_from_options(True, epochs=5, limit_test=100).epochs == 5
    assert config_from_options(True, epochs=5, limit_test=100).limit_test == 100
    assert config_from_options(True, epochs=5).limit_train == QUICK["limit_train"]
    assert config_from_options(False, epochs=None) == TrainCostConfig()


def test_verdicts_are_written_for_users():
    hist = [{"epoch": 1, "accuracy": 0.5, "train_s_cum": 2.0, "wall_s_cum": 3.0}]
    rows = {"noise": {"epoch_s": 5.0, "memory_mb": None, "time_to_target": time_to_target(hist, 0.9)},
            "bptt T=10": {"epoch_s": 10.0, "memory_mb": 100.0, "time_to_target": time_to_target(hist, 0.9)}}
    conv = {"reference": 0.9, "first_T_reaching_reference": None, "max_T": 64, "steps_ratio": None}
    lines = [verdict(c) for c in checks(rows, conv, "bptt T=10")]
    assert lines == [
        "noise T=1 time per epoch <= 0.2x bptt T=10: does not hold on this run: measured 0.5x, above 0.2x",
        "noise T=1 peak memory <= 0.3x bptt T=10: not decided on this run: peak memory was not measured",
        "time to target >= 3x faster than bptt T=10: not decided on this run: neither method reached the target: "
        "raise --epochs or lower --target",
        "conversion needs >= 20x the steps of stage 3 at T=5 to reach its accuracy: not decided on this run: "
        "conversion did not reach it within T = 64, which shows only 12.8x: raise --conversion-max-T to 100 or more"]
    rows["noise"]["epoch_s"] = 1.0
    assert verdict(checks(rows, None, "bptt T=10")[0]) == "noise T=1 time per epoch <= 0.2x bptt T=10: holds " \
                                                          "(measured 0.1x)"


def _result_with_references() -> dict:
    """A report whose reference lines all lie off the curves: far below (stage 3 at T = 5, stage 1, the trained
    baselines) or above (the target)."""
    hist = [{"epoch": e, "accuracy": a, "accuracy_stage1": a, "train_s_cum": e, "wall_s_cum": e}
            for e, a in ((1, 0.5), (2, 0.6))]
    row = {"history": hist, "time_to_target": time_to_target(hist, 0.99)}
    high = [0.95 + 0.004 * t for t in range(10)]
    return {"config": {"T": 10, "target": 0.99}, "bptt_label": "bptt T=10",
            "rows": {"noise": row, "bptt T=10": {**row, "history": [{**hist[0], "accuracy": 0.2}]},
                     "ann": {**row, "history": [{**hist[0], "accuracy": 0.1}]}},
            "figures": {"alpha": {"4": high, "inf": high}, "stage1_T1": 0.3, "noise_types": {"gaussian": high}},
            "conversion": {"accuracy_by_T": [0.97 + 0.0001 * t for t in range(64)],
                           "table": [{"T": 8, "accuracy": 0.97}, {"T": 64, "accuracy": 0.976}],
                           "ann_accuracy": 0.98, "reference": 0.40, "reference_T": 5,
                           "first_T_reaching_reference": None}}


@pytest.mark.parametrize("kind,references", [("conversion", [98.0, 40.0]), ("T", [20.0, 10.0]), ("alpha", [30.0]),
                                             ("time", [99.0])])
def test_plotted_references_lie_inside_the_axes(tmp_path, monkeypatch, kind, references):
    drawn = {}

    def keep(fig, ax, path, **_labels):
        drawn["ax"] = ax
        return Path(path)

    monkeypatch.setattr(report, "finish", keep)
    report.DRAW[kind](_result_with_references(), tmp_path / "plot.png")
    ax = drawn["ax"]
    lo, hi = ax.get_ylim()
    lines = {round(line.get_ydata()[0], 6) for line in ax.get_lines() if len(set(line.get_ydata())) == 1}
    assert set(references) <= lines  # the reference lines are drawn ...
    assert all(lo < y < hi for y in references), (lo, hi)  # ... inside the axes
    report.plt.close(ax.figure)


def _crowded_result() -> dict:
    """A report whose curves zigzag over the whole plot (no room inside the axes for a legend), whose trained ANN
    and BPTT end at the same accuracy, and whose conversion starts far below its references."""
    def zigzag(phase: int, n: int = 10) -> list[float]:
        return [0.5 + 0.45 * ((t + phase) % 2) for t in range(n)]

    hist = [{"epoch": e, "accuracy": a, "accuracy_stage1": 1.4 - a, "train_s_cum": e, "wall_s_cum": e}
            for e, a in enumerate(zigzag(0), 1)]
    row = {"history": hist, "time_to_target": time_to_target(hist, 0.9)}
    trained = {**row, "history": [{**hist[0], "accuracy": 0.7}]}
    return {"config": {"T": 10, "target": 0.9}, "bptt_label": "bptt T=10",
            "rows": {"noise": row, "bptt T=10": trained, "ann": trained},
            "figures": {"alpha": {a: zigzag(i) for i, a in enumerate(("2", "3", "4", "8", "inf"))}, "stage1_T1": 0.7,
                        "noise_types": {"gaussian": zigzag(0), "uniform": zigzag(1)}},
            "conversion": {"accuracy_by_T": [0.1] * 4 + zigzag(0, 60), "ann_accuracy": 0.98, "reference": 0.6,
                           "reference_T": 5, "table": [{"T": 8, "accuracy": 0.95}, {"T": 64, "accuracy": 0.5}],
                           "first_T_reaching_reference": 9}}


@pytest.fixture
def drawn_axes(monkeypatch):
    """Each report plot's axes, drawn (so that the legend has its place) instead of written."""
    from snndeploy.ui import plots

    seen = []

    def keep(fig, path):
        fig.canvas.draw()
        seen.append(fig.axes[0])
        return Path(path)

    monkeypatch.setattr(plots, "save_png", keep)
    yield seen
    for ax in seen:
        report.plt.close(ax.figure)


def _display_points(line, per_segment: int = 40):
    """Points along a drawn line in display coordinates: its vertices, and for a line (not markers only) points
    between them."""
    xy = line.get_transform().transform(line.get_xydata())
    if line.get_linestyle() in ("None", " ", ""):
        return xy
    steps = [a + (b - a) * k / per_segment for a, b in zip(xy, xy[1:], strict=False) for k in range(per_segment)]
    return [*steps, xy[-1]]


def _data_y(ax):
    """The y values of the lines drawn in data coordinates (vertical lines span the axes instead)."""
    return [y for line in ax.get_lines() if line.get_transform() is not ax.get_xaxis_transform()
            for y in line.get_ydata()]


@pytest.mark.parametrize("result", [_crowded_result, _result_with_references])
@pytest.mark.parametrize("kind", ["time", "T", "alpha", "conversion"])
def test_report_plots_show_all_their_data_and_a_legend_for_every_line(tmp_path, drawn_axes, kind, result):
    report.DRAW[kind](result(), tmp_path / "plot.png")
    (ax,) = drawn_axes
    legend = ax.get_legend()
    # every line is explained in the legend
    assert [line.get_label() for line in ax.get_lines()] == [t.get_text() for t in legend.get_texts()]
    # the legend covers no line
    box = legend.get_window_extent(ax.figure.canvas.get_renderer())
    for line in ax.get_lines():
        assert not any(box.contains(x, y) for x, y in _display_points(line)), (kind, line.get_label())
    # the y-range holds every curve and reference
    lo, hi = ax.get_ylim()
    assert lo <= min(_data_y(ax)) and max(_data_y(ax)) <= hi, (kind, lo, hi)
    # the x-range starts at the first plotted point: no empty octave before T = 1
    if kind == "conversion":
        assert ax.get_xlim()[0] == 1 and min(ax.get_lines()[0].get_xdata()) == 1


def test_reference_lines_at_the_same_accuracy_both_show(tmp_path, drawn_axes):
    """ANN and BPTT ending at the same accuracy: their dashes alternate, so both colours show along the line."""
    report.DRAW["T"](_crowded_result(), tmp_path / "plot.png")
    (ax,) = drawn_axes
    refs = [line for line in ax.get_lines() if line.get_label().endswith("(trained)")]
    assert len(refs) == 2 and refs[0].get_ydata()[0] == refs[1].get_ydata()[0]
    pixels = np.asarray(ax.figure.canvas.buffer_rgba())[..., :3].astype(int)
    y = round(pixels.shape[0] - ax.transData.transform((1, 70.0))[1])
    band = pixels[y - 1:y + 2].reshape(-1, 3)
    for line in refs:
        color = np.array(matplotlib.colors.to_rgb(line.get_color())) * 255
        assert (np.abs(band - color).max(axis=1) < 30).sum() > 20, line.get_label()


def test_ctrl_c_ends_the_training_process_quietly(capfd):
    """A Ctrl-C reaches the whole process group: the training process ignores it (no traceback of its own, no
    'crash' for the parent to report), and the interrupted parent ends it."""
    job = Job("ann", TrainConfig(method="ann", epochs=2, limit_train=256, limit_test=64), 1)
    signalled = []

    def sigint_to_child(_status):
        if not signalled:
            signalled.extend(child.pid for child in mp.active_children())
            for pid in signalled:
                os.kill(pid, signal.SIGINT)

    assert len(run_isolated(job, on_step=sigint_to_child)["history"]) == 2  # trained on regardless
    assert len(signalled) == 1

    def interrupt(_status):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_isolated(job, on_step=interrupt)
    assert mp.active_children() == []  # ended and awaited, not left training
    err = capfd.readouterr().err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
