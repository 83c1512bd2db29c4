"""`snndeploy bench train` end to end on tiny settings, its pieces, and one-line errors for bad input."""

import json

import pytest
import typer
from snndeploy_cli.bench_train_cmd import bench_train_command
from typer.testing import CliRunner

from snndeploy import checkpoint
from snndeploy.bench import train_cost
from snndeploy.bench.peers import spikingjelly_available
from snndeploy.bench.report import PLOTS, markdown
from snndeploy.bench.train_cost import ALPHAS, SWEEP_T, TrainCostConfig, checks, stage3_curves, time_to_target
from snndeploy.bench.train_worker import Job, run_isolated
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.data import load_dataset
from snndeploy.models import build_model

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
    for section in ("## Cost per method", "## Targets checked against the measurements", "(paper Figs. 3 and 6)",
                    "(paper Fig. 7)", "## ANN-to-SNN conversion (paper Table 2)"):
        assert section in md
    assert md == markdown(result)
    assert "bptt T=4" in output and "train_cost.md" in output


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
    job = Job("ann", "ann", "small-cnn", "imagenet", 1, 1)
    with pytest.raises(SnnDeployError, match="^ann: unknown dataset 'imagenet'"):
        run_isolated(job)
    with pytest.raises(SnnDeployError, match="unknown method"):
        run_isolated(Job("x", "evolution", "small-cnn", "sample", 1, 1))


def test_stop_at_target(tmp_path):
    job = Job("ann", "ann", "small-cnn", "sample", 1, 1, epochs=4, lr=1e-3, limit_train=512, limit_test=200,
              stop_at=0.3, checkpoint=str(tmp_path / "ann"))
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
