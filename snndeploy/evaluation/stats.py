"""What SNN papers report and deployment tools do not: per-layer firing rates at several T, synaptic operations
(accumulates of the spiking network against the multiply-accumulates of the same network as an ANN) and the
energy estimate they give, for a checkpoint on its own test data.

The counting rules are ``RULES``; every report carries them with its energy constants.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import SnnDeployError
from ..core.neuron_config import STAGE_MODE, check_stage

DEFAULT_TS = (1, 5, 10)
# Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014: 45 nm CMOS, 32-bit float
# add 0.9 pJ, multiply 3.7 pJ, so a multiply-accumulate 4.6 pJ (the figures SNN papers use).
E_AC_PJ = 0.9
E_MAC_PJ = 4.6
ENERGY_SOURCE = "Horowitz, ISSCC 2014: 45 nm CMOS, 32-bit float add 0.9 pJ, multiply-add 4.6 pJ"
RULES = (
    "firing rate: fraction of a spiking layer's neurons that spike per time step, averaged over images and steps; "
    "'all' is every spike over every neuron-step of the network",
    "a conv or linear layer fed by spikes does accumulates (ACs), one per outgoing connection of each input spike: "
    "ACs = the layer's MACs per step x its input's rate, summed over the T steps (average-pooled spikes count at "
    "the pooled map's mean)",
    "the first layer is fed the image (real values, not spikes): MACs, counted once, because the image is the same "
    "at every step and snndeploy computes that layer once for all T (its exported graphs too); papers that count "
    "it at every step report T times these MACs",
    "the ANN is the same network run once densely: every layer's MACs once, no ACs",
    "energy = ACs x e_ac + MACs x e_mac per image; neuron updates and memory traffic are not counted",
)


@dataclass(frozen=True)
class EnergyModel:
    """Energy per operation in picojoules: an accumulate (a spike reaching a synapse) and a multiply-accumulate."""

    e_ac_pj: float = E_AC_PJ
    e_mac_pj: float = E_MAC_PJ

    def __post_init__(self) -> None:
        for name, value in (("e_ac", self.e_ac_pj), ("e_mac", self.e_mac_pj)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value <= 0:
                raise SnnDeployError(f"{name} (pJ per operation) must be a positive finite number, got {value!r}")

    def energy_uj(self, acs: float, macs: float) -> float:
        """Microjoules of ``acs`` accumulates and ``macs`` multiply-accumulates."""
        return (acs * self.e_ac_pj + macs * self.e_mac_pj) * 1e-6

    def to_dict(self) -> dict[str, Any]:
        return {"e_ac_pj": self.e_ac_pj, "e_mac_pj": self.e_mac_pj, "source": ENERGY_SOURCE}


def check_Ts(Ts: Iterable[int] | None) -> list[int]:
    """The T values to report, in the order given without repeats (DEFAULT_TS when none); each >= 1."""
    out = list(dict.fromkeys(Ts or DEFAULT_TS))
    for T in out:
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise SnnDeployError(f"T must be a positive integer, got {T!r}")
    return out


@dataclass(frozen=True)
class Counts:
    """Per-step sums over every image of one run at T_max, from which every shorter T is read (a run over T
    steps is causal: its first k steps are a k-step run).

    ``spikes[layer][t]``: spikes of a spiking layer at step t; ``inputs[layer][t]``: the sum of a synaptic
    layer's input at step t (None for first-layer convs fed the image); sizes are per image."""

    T_max: int
    images: int
    spikes: dict[str, list[float]]
    neurons: dict[str, int]
    inputs: dict[str, list[float] | None]
    input_size: dict[str, int]
    macs: dict[str, int]  # per image and step, evaluation.macs.layer_macs
    kinds: dict[str, str]  # synaptic layer -> "conv" or "linear"


def count(model: Any, split: Any, spec: Any, T_max: int, *, stage: int = 3, batch_size: int = 256,
          device: Any = "cpu", seed: int = 0, show_progress: bool = False) -> Counts:
    """Run ``model`` (a SpikingNet) over ``split`` for T_max steps in ``stage``, counting spikes per layer and
    step (forward hooks on the spiking layers) and the input of every conv and linear layer per step."""
    # PyTorch only here: the rest of the module (arithmetic, tables, plots) runs without it
    import torch
    from torch import nn

    from ..data.datasets import batches_of, iterate_batches
    from ..models import LIFNode
    from ..ui.progress import Bar
    from .macs import layer_macs

    check_stage(stage)
    names = {m: n for n, m in model.named_modules()}
    first = {n for n, _ in model.stem.named_modules(prefix="stem")}
    macs = layer_macs(model)
    spikes: dict[str, torch.Tensor] = {}
    inputs: dict[str, torch.Tensor | None] = {}
    neurons: dict[str, int] = {}
    input_size: dict[str, int] = {}

    def on_spikes(m: nn.Module, args: Any, out: torch.Tensor) -> None:
        name = names[m]  # out: [T, B, ...] spikes (0 or 1)
        neurons[name] = out[0, 0].numel()
        per_step = out.detach().reshape(out.shape[0], -1).sum(1, dtype=torch.float64).cpu()
        spikes[name] = spikes[name] + per_step if name in spikes else per_step

    def on_input(m: nn.Module, args: Any, out: torch.Tensor) -> None:
        name = names[m]
        if name in first:
            inputs[name] = None
            return
        # [T*B, ...] inside a TimeFold (T-major), or [T, B, F] at the readout
        x = args[0].detach().reshape(T_max, -1)
        input_size[name] = x.shape[1] // batch[0]
        per_step = x.sum(1, dtype=torch.float64).cpu()
        old = inputs.get(name)
        inputs[name] = per_step if old is None else old + per_step

    hooks = [m.register_forward_hook(on_spikes) for m in model.modules() if isinstance(m, LIFNode)]
    hooks += [m.register_forward_hook(on_input) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    batch = [0]
    images = 0
    torch.manual_seed(seed)
    model.renew_noise()
    try:
        with torch.no_grad(), model.using(STAGE_MODE[stage], training=False), Bar(show_progress) as bar:
            task = bar.start(f"stats T={T_max}", batches_of(split, batch_size))
            for x, _ in iterate_batches(split, spec, batch_size, shuffle=False, device=device):
                batch[0] = len(x)
                model(x, T_max)
                images += len(x)
                bar.advance(task, f"{images} images")
    finally:
        for h in hooks:
            h.remove()
    if images == 0:
        raise SnnDeployError("no test images to run")
    return Counts(T_max=T_max, images=images, spikes={k: v.tolist() for k, v in spikes.items()}, neurons=neurons,
                  inputs={k: None if v is None else v.tolist() for k, v in inputs.items()}, input_size=input_size,
                  macs=macs, kinds={names[m]: "conv" if isinstance(m, nn.Conv2d) else "linear"
                                    for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))})


# --- the report: one record type per table `snndeploy stats` prints (its JSON and plot read the same records) ---

@dataclass(frozen=True)
class SpikingLayer:
    """A spiking layer by module name, with its neurons per image."""

    name: str
    neurons: int


@dataclass(frozen=True)
class SynapticLayer:
    """A conv or linear layer by module name: ``kind`` "conv" or "linear", ``input`` "image" (the first layer) or
    "spikes", and its multiply-accumulates per image and step."""

    name: str
    kind: str
    input: str
    macs_per_step: int


@dataclass(frozen=True)
class LayerRate:
    """A row of the firing-rate table: the fraction of a spiking layer's neurons that spike per step, at one T."""

    name: str
    firing_rate: float


@dataclass(frozen=True)
class LayerOps:
    """A row of the operations table: a synaptic layer at one T, per image: its input's rate (None for the image),
    the SNN's accumulates and multiply-accumulates, and the ANN's multiply-accumulates."""

    name: str
    input_rate: float | None
    acs: float
    macs: int
    ann_macs: int


@dataclass(frozen=True)
class Totals:
    """A row of the totals table: the whole network at one T, per image (energies in microjoules)."""

    firing_rate: float
    acs: float
    macs: int
    ann_macs: int
    snn_energy_uj: float
    ann_energy_uj: float
    energy_ratio: float


@dataclass(frozen=True)
class ResultAtT:
    """Everything counted at one T: a rate per spiking layer, operations per synaptic layer, and the totals."""

    T: int
    spiking: tuple[LayerRate, ...]
    synaptic: tuple[LayerOps, ...]
    totals: Totals

    def to_dict(self) -> dict[str, Any]:
        return {"T": self.T, "spiking": [asdict(r) for r in self.spiking],
                "synaptic": [asdict(r) for r in self.synaptic], "totals": asdict(self.totals)}


@dataclass(frozen=True)
class Report:
    """A stats report: the rules and energy constants it follows, the images counted, the layers, and the results
    at every T in the order asked; ``source`` says what was counted (``checkpoint_stats``: the checkpoint, its
    facts and weights' sha256, stage, alpha, seed, data) and leads the JSON form."""

    rules: tuple[str, ...]
    energy_model: EnergyModel
    images: int
    spiking_layers: tuple[SpikingLayer, ...]
    synaptic_layers: tuple[SynapticLayer, ...]
    results: tuple[ResultAtT, ...]
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def Ts(self) -> list[int]:
        """The T values counted, in the order asked."""
        return [r.T for r in self.results]

    def at(self, T: int) -> ResultAtT:
        """The results at ``T``; a one-line error where the report did not count it."""
        for r in self.results:
            if r.T == T:
                return r
        raise SnnDeployError(f"the stats report has no T = {T} (it counted T = {self.Ts})")

    def to_dict(self) -> dict[str, Any]:
        """The report as `snndeploy stats --json` writes it."""
        return {**self.source, "rules": list(self.rules), "energy_model": self.energy_model.to_dict(),
                "images": self.images, "spiking_layers": [asdict(s) for s in self.spiking_layers],
                "synaptic_layers": [asdict(s) for s in self.synaptic_layers],
                "results": [r.to_dict() for r in self.results]}


def at_T(c: Counts, T: int, energy: EnergyModel) -> ResultAtT:
    """One T's rates, operations and energies per image from the counts of a run of at least T steps."""
    if not 1 <= T <= c.T_max:
        raise SnnDeployError(f"T = {T} is outside the counted run (1..{c.T_max})")
    spiking = tuple(LayerRate(n, sum(s[:T]) / (T * c.neurons[n] * c.images)) for n, s in c.spikes.items())
    all_spikes = sum(sum(s[:T]) for s in c.spikes.values())
    all_neurons = sum(c.neurons.values()) * T * c.images
    synaptic = []
    for name, macs in c.macs.items():
        sums = c.inputs.get(name)
        if sums is None:  # the first layer: real-valued input, the same image every step, computed once
            synaptic.append(LayerOps(name, input_rate=None, acs=0.0, macs=macs, ann_macs=macs))
            continue
        rates = [s / (c.input_size[name] * c.images) for s in sums[:T]]
        synaptic.append(LayerOps(name, input_rate=sum(rates) / T, acs=macs * sum(rates), macs=0, ann_macs=macs))
    acs = sum(r.acs for r in synaptic)
    snn_macs = sum(r.macs for r in synaptic)
    ann_macs = sum(r.ann_macs for r in synaptic)
    snn_uj, ann_uj = energy.energy_uj(acs, snn_macs), energy.energy_uj(0, ann_macs)
    totals = Totals(firing_rate=all_spikes / all_neurons if all_neurons else 0.0, acs=acs, macs=snn_macs,
                    ann_macs=ann_macs, snn_energy_uj=snn_uj, ann_energy_uj=ann_uj,
                    energy_ratio=snn_uj / ann_uj if ann_uj else math.inf)
    return ResultAtT(T, spiking, tuple(synaptic), totals)


def report(c: Counts, Ts: list[int], energy: EnergyModel, source: dict[str, Any] | None = None) -> Report:
    """Every T's rates, operations and energies, with the rules and constants they follow; ``source``: what was
    counted."""
    return Report(rules=RULES, energy_model=energy, images=c.images,
                  spiking_layers=tuple(SpikingLayer(n, c.neurons[n]) for n in c.spikes),
                  synaptic_layers=tuple(SynapticLayer(n, c.kinds[n], "image" if c.inputs.get(n) is None else "spikes",
                                                      m) for n, m in c.macs.items()),
                  results=tuple(at_T(c, T, energy) for T in Ts), source=dict(source or {}))


def checkpoint_stats(path: str | Path, Ts: Iterable[int] | None = None, *, stage: int = 3,
                     data_dir: str | None = None, limit_test: int | None = None, batch_size: int = 256,
                     device: str = "cpu", seed: int = 0, energy: EnergyModel | None = None,
                     show_progress: bool = False) -> Report:
    """Firing rates, synaptic operations and energies of a checkpoint at every T of ``Ts`` (default 1, 5, 10),
    stage 2 or 3 at the checkpoint's own alpha, on its test data: one run at the largest T gives every T.
    Graphs and engines are refused (their spikes are not outputs of the graph)."""
    from ..runners import kind_of

    Ts = check_Ts(Ts)
    energy = energy or EnergyModel()
    check_stage(stage)
    kind = kind_of(path)
    if not kind.network:  # the kinds table's network kind: a checkpoint
        raise SnnDeployError(f"stats needs a checkpoint (run folder, its model.json or a .safetensors file), not "
                             f"{kind.what}; run it on the checkpoint the graph was exported from")
    from ..core.device import pick_device
    from ..training import checkpoint
    from .evaluate import test_split_for

    dev = pick_device(device)
    ck = checkpoint.load(path, dev)
    split, spec = test_split_for(ck.facts, data_dir, limit_test)
    counts = count(ck.model, split, spec, max(Ts), stage=stage, batch_size=batch_size, device=dev, seed=seed,
                   show_progress=show_progress)
    out = {"artifact": str(path), "kind": "checkpoint", "weights_sha256": ck.extra["weights"]["sha256"],
           "facts": ck.facts.to_dict(), "stage": stage, "alpha": ck.neuron.alpha if stage == 3 else None,
           "seed": seed, "data": spec.name}
    return report(counts, Ts, energy, out)


# the columns `bench --stats` adds to a row (snndeploy.bench.output.STATS_COLUMNS shows them)
BENCH_COLUMNS = ("firing_rate", "acs", "macs", "snn_energy_uj", "ann_energy_uj", "energy_ratio")


def bench_columns(stats: Report, T: int) -> dict[str, float]:
    """The columns a benchmark row at T takes from a ``checkpoint_stats`` report that counted T: overall firing
    rate, ACs and MACs per image, SNN and ANN energy (uJ per image) and their ratio."""
    totals = stats.at(T).totals
    return {k: getattr(totals, k) for k in BENCH_COLUMNS}


def layer_names(stats: Report) -> dict[str, str]:
    """Short names by position for a report's layers, by module name, one name per layer: the synaptic layers
    conv1, conv2, ..., fc1, ... and readout (the last linear layer); in a plain stack (a spiking layer after each
    synaptic layer but the readout, in order) each spiking layer is the spikes of the layer that feeds it
    ("conv1 spikes", as the operations table names a layer's input), elsewhere (shortcuts) lif1, lif2, ..."""
    synaptic, spiking = stats.synaptic_layers, stats.spiking_layers
    names: dict[str, str] = {}
    counts = {"conv": 0, "linear": 0}
    for i, layer in enumerate(synaptic):
        if i == len(synaptic) - 1 and layer.kind == "linear":
            names[layer.name] = "readout"
            continue
        counts[layer.kind] += 1
        names[layer.name] = f"{'conv' if layer.kind == 'conv' else 'fc'}{counts[layer.kind]}"
    plain = len(synaptic) == len(spiking) + 1
    for i, spikes in enumerate(spiking):
        names[spikes.name] = f"{names[synaptic[i].name]} spikes" if plain else f"lif{i + 1}"
    return names


def layer_inputs(stats: Report) -> dict[str, str]:
    """What feeds each synaptic layer, by module name: "image", the spiking layer's name in a plain stack
    ("conv1 spikes", see layer_names), "spikes" elsewhere."""
    names = layer_names(stats)
    synaptic, spiking = stats.synaptic_layers, stats.spiking_layers
    plain = len(synaptic) == len(spiking) + 1
    return {s.name: "image" if s.input == "image" else
            names[spiking[i - 1].name] if plain and i > 0 else "spikes"
            for i, s in enumerate(synaptic)}


def plot(stats: Report, path: str | Path, title: str = "") -> Path:
    """Firing rate per spiking layer, one line per T (each its own marker and dashes, side by side: rates at
    several T are often nearly equal), beside SNN and ANN energy against T, as a PNG."""
    from ..ui import plots

    fig, (ax_rate, ax_energy) = plots.plt.subplots(1, 2, figsize=(10, 3.8))
    names = layer_names(stats)
    layers = [s.name for s in stats.spiking_layers]
    n = len(stats.results)
    for i, row in enumerate(stats.results):
        ax_rate.plot([x + 0.08 * (i - (n - 1) / 2) for x in range(len(layers))],
                     [100 * s.firing_rate for s in row.spiking], marker="os^Dv<>"[i % 7],
                     linestyle=("-", "--", ":", "-.")[i % 4], label=f"T={row.T}")
    ax_rate.set_xticks(range(len(layers)), [f"{names[layer]}\n({layer})" for layer in layers],
                       rotation=30 if len(layers) > 6 else 0, ha="right" if len(layers) > 6 else "center",
                       fontsize=8)
    ax_rate.set_xlabel("spiking layer (module)")
    ax_rate.set_ylabel("firing rate (% of neurons per step)")
    ax_rate.set_ylim(bottom=0)
    ax_rate.grid(alpha=0.3)
    ax_rate.legend()
    rows = sorted(stats.results, key=lambda r: r.T)
    Ts = [r.T for r in rows]
    ax_energy.plot(Ts, [r.totals.snn_energy_uj for r in rows], marker="o", label="SNN (ACs + first-layer MACs)")
    ax_energy.plot(Ts, [r.totals.ann_energy_uj for r in rows], "k--", label="ANN (one dense pass)")
    ax_energy.set_xticks(Ts)
    ax_energy.set_ylim(bottom=0)
    e = stats.energy_model
    fig.suptitle(title)
    return plots.finish(fig, ax_energy, path, xlabel="T (time steps)", ylabel="energy per image (uJ)",
                        title=f"e_ac = {e.e_ac_pj:g} pJ, e_mac = {e.e_mac_pj:g} pJ")
