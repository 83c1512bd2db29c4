"""`snndeploy stats` and snndeploy.evaluation.stats: firing rates against a hand count, the ACs = MACs x input rate
rule, the energy arithmetic, the JSON and PNG it writes, and one-line errors for bad options."""

import json
import math
import re

import numpy as np
import pytest
import torch
from cli_helpers import invoke
from conftest import make_checkpoint

from snndeploy.core.errors import SnnDeployError
from snndeploy.core.spec import DataSpec
from snndeploy.data.datasets import Split
from snndeploy.evaluation import stats
from snndeploy.evaluation.macs import layer_macs
from snndeploy.models import build_model

SHAPE = (1, 8, 8)
SPEC = DataSpec("sample", 1, 8, 8, ("a", "b", "c"), (0.5,), (0.25,))


def split(n=5, seed=0):
    rng = np.random.default_rng(seed)
    return Split(rng.integers(0, 256, (n, *SHAPE), dtype=np.uint8), np.zeros(n, np.int64))


def known_spikes():
    """small-cnn on 8x8 whose spikes are known whatever the noise: the stem drives half its channels far above
    the threshold (always fire) and half far below (never); conv 2 never fires; the FC layer always fires."""
    model = build_model("small-cnn", SHAPE, 3)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                m.weight.zero_()
        model.stem.bias.copy_(torch.tensor([5.0] * 16 + [-5.0] * 16))
        model.body[2].op.bias.fill_(-5.0)
        model.body[6].op.bias.fill_(5.0)
    return model.eval()


@pytest.mark.parametrize("stage", [2, 3])
def test_firing_rates_and_acs_match_a_hand_count(stage):
    model = known_spikes()
    c = stats.count(model, split(), SPEC, 4, stage=stage, batch_size=2)
    macs = layer_macs(model)
    for T in (1, 4):
        r = stats.at_T(c, T, stats.EnergyModel())
        rates = {s.name: s.firing_rate for s in r.spiking}
        assert rates == {"body.0": 0.5, "body.3": 0.0, "body.7": 1.0}
        # every spike over every neuron-step: 32x8x8 neurons half firing, 64x4x4 silent, 256 always
        assert r.totals.firing_rate == pytest.approx((1024 + 256) / (2048 + 1024 + 256))
        ops = {s.name: s for s in r.synaptic}
        # the first layer counts once: the image is the same at every step and is convolved once for all T
        assert ops["stem"].input_rate is None and ops["stem"].acs == 0 and ops["stem"].macs == macs["stem"]
        # ACs = MACs per step x input rate, summed over T (average-pooled spikes: the pooled map's mean)
        assert ops["body.2.op"].input_rate == 0.5
        assert ops["body.2.op"].acs == pytest.approx(macs["body.2.op"] * 0.5 * T)
        assert ops["body.6.op"].acs == 0
        assert ops["head"].acs == pytest.approx(macs["head"] * T)
        assert r.totals.ann_macs == sum(macs.values())


def test_rates_of_a_random_network_lie_in_0_1_and_feed_the_next_layer(tmp_path):
    ck = make_checkpoint(tmp_path / "ck", "small-cnn")
    model = ck.model
    data = Split(np.random.default_rng(1).integers(0, 256, (6, 1, 28, 28), dtype=np.uint8), np.zeros(6, np.int64))
    c = stats.count(model, data, ck.spec, 5, batch_size=4)
    assert c.images == 6
    # neurons and synaptic inputs per image, from small-cnn's shapes: 32x28x28 spikes pooled to 32x14x14 feed
    # conv 2, whose 64x14x14 spikes pool to 64x7x7 (3136) for the hidden linear layer of 256
    assert c.neurons == {"body.0": 32 * 28 * 28, "body.3": 64 * 14 * 14, "body.7": 256}
    assert c.input_size == {"body.2.op": 32 * 14 * 14, "body.6.op": 64 * 7 * 7, "head": 256}
    for T in (1, 3, 5):
        r = stats.at_T(c, T, stats.EnergyModel()).to_dict()
        rates = {s["name"]: s["firing_rate"] for s in r["spiking"]}
        assert all(0 <= v <= 1 for v in rates.values()) and 0 <= r["totals"]["firing_rate"] <= 1
        # the rate at T counts the spikes of the first T steps only (a T-step run is the first T of T_max)
        for name, n in c.neurons.items():
            assert rates[name] == pytest.approx(sum(c.spikes[name][:T]) / (T * n * c.images))
        assert 0.05 < rates["body.0"] < 0.95  # the network fires: the bounds and equalities here are not 0 == 0
        ops = {s["name"]: s for s in r["synaptic"]}
        # 2x2 average pooling of 28x28 spikes keeps their mean: conv 2's input rate is body.0's firing rate
        assert ops["body.2.op"]["input_rate"] == pytest.approx(rates["body.0"])
        assert ops["head"]["input_rate"] == pytest.approx(rates["body.7"])
        for s in r["synaptic"][1:]:
            assert s["acs"] == pytest.approx(s["ann_macs"] * s["input_rate"] * T)
            assert s["acs"] <= s["ann_macs"] * T


def test_energy_arithmetic_with_overridden_constants():
    model = known_spikes()
    c = stats.count(model, split(), SPEC, 2, batch_size=5)
    macs = layer_macs(model)
    r = stats.at_T(c, 2, stats.EnergyModel(e_ac_pj=2.0, e_mac_pj=10.0)).totals
    acs = 2 * (0.5 * macs["body.2.op"] + macs["head"])
    assert r.acs == pytest.approx(acs) and r.macs == macs["stem"]
    assert r.snn_energy_uj == pytest.approx((acs * 2.0 + macs["stem"] * 10.0) * 1e-6)
    assert r.ann_energy_uj == pytest.approx(sum(macs.values()) * 10.0 * 1e-6)
    assert r.energy_ratio == pytest.approx(r.snn_energy_uj / r.ann_energy_uj)
    assert stats.EnergyModel().to_dict()["e_ac_pj"] == 0.9 and stats.EnergyModel().e_mac_pj == 4.6


@pytest.mark.parametrize("value", [-1.0, 0.0, math.nan, math.inf, True, "1"])
def test_energy_constants_must_be_positive_numbers(value):
    with pytest.raises(SnnDeployError, match="must be a positive finite number"):
        stats.EnergyModel(e_ac_pj=value)
    with pytest.raises(SnnDeployError, match="e_mac"):
        stats.EnergyModel(e_mac_pj=value)


def test_Ts_default_dedupe_and_bounds():
    assert stats.check_Ts(None) == [1, 5, 10]
    assert stats.check_Ts([5, 1, 5]) == [5, 1]
    for bad in ([0], [3, -1]):
        with pytest.raises(SnnDeployError, match="T must be a positive integer"):
            stats.check_Ts(bad)
    c = stats.count(known_spikes(), split(), SPEC, 2)
    with pytest.raises(SnnDeployError, match="outside the counted run"):
        stats.at_T(c, 3, stats.EnergyModel())


def test_bench_columns_read_one_T(tmp_path):
    make_checkpoint(tmp_path / "ck", "small-cnn")
    report = stats.checkpoint_stats(tmp_path / "ck", [1, 2], limit_test=4, energy=stats.EnergyModel(1.0, 5.0))
    cols = stats.bench_columns(report, 2)
    assert report.Ts == [1, 2] and cols == {k: getattr(report.results[1].totals, k) for k in cols}
    assert set(cols) == {"firing_rate", "acs", "macs", "snn_energy_uj", "ann_energy_uj", "energy_ratio"}
    with pytest.raises(SnnDeployError, match=r"^the stats report has no T = 3 \(it counted T = \[1, 2\]\)$"):
        stats.bench_columns(report, 3)


@pytest.fixture(scope="module")
def ck(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stats") / "ck"
    return make_checkpoint(folder, "small-cnn")


def test_cli_writes_tables_json_and_png(ck, tmp_path):
    out_json, out_png = tmp_path / "out" / "stats.json", tmp_path / "out" / "stats.png"
    r = invoke("stats", ck.path.parent, "--T", "1,3", "--T", "2", "--limit-test", 8, "--batch-size", 3,
               "--e-ac", 1.5, "--json", out_json, "--plot", out_png, "-q")
    assert r.exit_code == 0, r.output
    assert "firing rate" in r.output and "SNN/ANN" in r.output and "counted once" in r.output
    # the layers by position in both tables, the synaptic layers with the spikes that feed them
    assert "conv1 spikes (body.0)" in r.output and "conv2 (body.2.op)" in r.output and "conv1 spikes" in r.output
    assert "conv1 (body.0)" not in r.output  # conv1 is the conv layer only, in both tables
    totals = r.output[r.output.index("totals per image"):]
    assert "firing rate %" in totals
    energies = [cell for line in totals.splitlines() for cell in line.split("│")[6:8] if cell.strip()]
    assert len(energies) == 6 and all(re.fullmatch(r"\d+\.\d\d", cell.strip()) for cell in energies), energies
    doc = json.loads(out_json.read_text())
    assert doc["energy_model"]["e_ac_pj"] == 1.5 and doc["energy_model"]["e_mac_pj"] == 4.6
    assert doc["weights_sha256"] == ck.extra["weights"]["sha256"] == doc["facts"]["weights_sha256"]
    assert [row["T"] for row in doc["results"]] == [1, 3, 2] and doc["images"] == 8
    # the JSON's shape: what was counted, then the rules, constants, layers and one entry per T
    assert list(doc) == ["artifact", "kind", "weights_sha256", "facts", "stage", "alpha", "seed", "data", "rules",
                         "energy_model", "images", "spiking_layers", "synaptic_layers", "results"]
    assert list(doc["energy_model"]) == ["e_ac_pj", "e_mac_pj", "source"] and doc["rules"] == list(stats.RULES)
    assert [list(s) for s in doc["spiking_layers"]] == [["name", "neurons"]] * 3
    assert [list(s) for s in doc["synaptic_layers"]] == [["name", "kind", "input", "macs_per_step"]] * 4
    for row in doc["results"]:
        assert list(row) == ["T", "spiking", "synaptic", "totals"]
        assert [list(s) for s in row["spiking"]] == [["name", "firing_rate"]] * 3
        assert [list(s) for s in row["synaptic"]] == [["name", "input_rate", "acs", "macs", "ann_macs"]] * 4
        assert list(row["totals"]) == ["firing_rate", "acs", "macs", "ann_macs", "snn_energy_uj", "ann_energy_uj",
                                       "energy_ratio"]
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out_json.parent.iterdir()) == ["stats.json", "stats.png"]  # no temp files left


@pytest.mark.parametrize("args, message", [
    (("--e-ac", "-1"), "e_ac (pJ per operation) must be a positive finite number, got -1.0"),
    (("--e-mac", "0"), "e_mac (pJ per operation) must be a positive finite number"),
    (("--e-ac", "nan"), "--e-ac must be a finite number"),
    (("--T", "0"), "T must be a positive integer, got 0"),
    (("--T", "2,x"), "--T must be int values, got 'x'"),
    (("--stage", "1"), "stage must be 2 or 3, got 1"),
    # the option as the message names it ('batch_size' or '--batch-size (batch_size)') is left open
    (("--batch-size", "0"), "batch_size"),
    (("--limit-test", "-2"), "limit_test"),
])
def test_bad_options_are_one_line(ck, args, message):
    r = invoke("stats", ck.path.parent, *args, "-q")
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.exit_code == 2, r.output
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], r.output
    if message in ("batch_size", "limit_test"):
        assert "must be a positive integer, got" in lines[0], r.output


def test_graphs_and_bad_outputs_are_refused_before_any_work(tmp_path, ck):
    graph = tmp_path / "m.onnx"
    graph.write_bytes(b"")
    r = invoke("stats", graph)
    assert r.exit_code == 2 and "error: stats needs a checkpoint" in r.stderr, r.output
    r = invoke("stats", ck.path.parent, "--json", tmp_path)
    assert r.exit_code == 2 and "is a folder" in r.stderr, r.output


def test_help_names_devices_and_inputs_and_counts_the_first_layer_once():
    r = invoke("stats", "--help")
    text = " ".join(r.output.replace("│", " ").split())
    assert "cpu, cuda or cuda:N" in text and "model.json or a .safetensors file" in text
    assert "counts as MACs once" in text and "MACs at every step" not in text


def synthetic_report(spiking_names, synaptic, rates_by_T):
    """A stats report by hand: synaptic layers as (name, kind, input), one rate list per T."""
    def totals(T):
        return stats.Totals(firing_rate=0.1, acs=100.0, macs=0, ann_macs=400, snn_energy_uj=T * 0.1,
                            ann_energy_uj=1.0, energy_ratio=T * 0.1)

    return stats.Report(
        rules=stats.RULES, energy_model=stats.EnergyModel(), images=1,
        spiking_layers=tuple(stats.SpikingLayer(n, 10) for n in spiking_names),
        synaptic_layers=tuple(stats.SynapticLayer(n, k, i, 100) for n, k, i in synaptic),
        results=tuple(stats.ResultAtT(T, tuple(stats.LayerRate(n, r) for n, r in zip(spiking_names, rates,
                                                                                      strict=True)), (), totals(T))
                      for T, rates in rates_by_T))


PLAIN = (["body.0", "body.3", "body.7"],
         [("stem", "conv", "image"), ("body.2.op", "conv", "spikes"), ("body.6.op", "linear", "spikes"),
          ("head", "linear", "spikes")])


def test_layers_are_named_by_position_and_by_what_feeds_them():
    report = synthetic_report(*PLAIN, [(1, [0.1, 0.2, 0.3])])
    assert stats.layer_names(report) == {"stem": "conv1", "body.2.op": "conv2", "body.6.op": "fc1",
                                         "head": "readout", "body.0": "conv1 spikes", "body.3": "conv2 spikes",
                                         "body.7": "fc1 spikes"}
    assert len(set(stats.layer_names(report).values())) == 7  # one name per layer, one layer per name
    assert stats.layer_inputs(report) == {"stem": "image", "body.2.op": "conv1 spikes", "body.6.op": "conv2 spikes",
                                          "head": "fc1 spikes"}
    # with shortcuts (more synaptic layers than a plain stack has) spiking layers are not paired by position
    residual = synthetic_report(["body.0", "body.1.lif1", "body.1.lif2"],
                                [("stem.0", "conv", "image"), ("body.1.conv1.op", "conv", "spikes"),
                                 ("body.1.conv2.op", "conv", "spikes"), ("body.1.shortcut.op", "conv", "spikes"),
                                 ("head", "linear", "spikes")], [(1, [0.1, 0.2, 0.3])])
    names = stats.layer_names(residual)
    assert [names[n] for n in ("body.0", "body.1.lif1", "body.1.lif2")] == ["lif1", "lif2", "lif3"]
    assert names["body.1.shortcut.op"] == "conv4" and set(stats.layer_inputs(residual).values()) == {"image", "spikes"}


def test_plot_tells_nearly_equal_T_apart_and_names_layers_readably(tmp_path, monkeypatch):
    from snndeploy.ui import plots

    seen = []

    def keep(fig, path):
        fig.canvas.draw()
        seen.append(fig)
        return path

    monkeypatch.setattr(plots, "save_png", keep)
    stats.plot(synthetic_report(*PLAIN, [(1, [0.12, 0.09, 0.07]), (5, [0.123, 0.095, 0.071]),
                                         (10, [0.123, 0.095, 0.0712])]), tmp_path / "stats.png")
    ax_rate = seen[0].axes[0]
    lines = ax_rate.get_lines()
    assert [line.get_label() for line in lines] == ["T=1", "T=5", "T=10"]
    # T=5 and T=10 almost coincide: each T its own marker and dashes, and its own x beside the layer
    assert len({(line.get_marker(), line.get_linestyle()) for line in lines}) == 3
    assert len({round(line.get_xdata()[0], 6) for line in lines}) == 3
    labels = ax_rate.get_xticklabels()
    assert [t.get_text() for t in labels] == ["conv1 spikes\n(body.0)", "conv2 spikes\n(body.3)",
                                                "fc1 spikes\n(body.7)"]
    renderer = seen[0].canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert not any(a.overlaps(b) for a, b in zip(boxes, boxes[1:], strict=False))  # readable side by side
    plots.plt.close(seen[0])
