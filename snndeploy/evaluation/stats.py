"""What SNN papers report and deployment tools do not: per-layer firing rates at several T, synaptic operations
(accumulates of the spiking network against the multiply-accumulates of the same network as an ANN) and the
energy estimate they give, for a checkpoint on its own test data.

The counting rules are ``RULES``; every report carries them with its energy constants.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import SnnDeployError

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
    macs: dict[str, int]  # per image and step, bench.macs.layer_macs
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
    from ..training.accuracy import STAGES
    from ..ui.progress import Bar
    from .macs import layer_macs

    if stage not in (2, 3):
        raise SnnDeployError(f"stage must be 2 or 3, got {stage}")
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
        with torch.no_grad(), model.using(STAGES[stage], training=False), Bar(show_progress) as bar:
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


def at_T(c: Counts, T: int, energy: EnergyModel) -> dict[str, Any]:
    """One T's rates, operations and energies per image from the counts of a run of at least T steps."""
    if not 1 <= T <= c.T_max:
        raise SnnDeployError(f"T = {T} is outside the counted run (1..{c.T_max})")
    spiking = [{"name": n, "firing_rate": sum(s[:T]) / (T * c.neurons[n] * c.images)} for n, s in c.spikes.items()]
    all_spikes = sum(sum(s[:T]) for s in c.spikes.values())
    all_neurons = sum(c.neurons.values()) * T * c.images
    synaptic = []
    for name, macs in c.macs.items():
        sums = c.inputs.get(name)
        if sums is None:  # the first layer: real-valued input, the same image every step, computed once
            synaptic.append({"name": name, "input_rate": None, "acs": 0.0, "macs": macs, "ann_macs": macs})
            continue
        rates = [s / (c.input_size[name] * c.images) for s in sums[:T]]
        synaptic.append({"name": name, "input_rate": sum(rates) / T, "acs": macs * sum(rates), "macs": 0,
                         "ann_macs": macs})
    acs = sum(r["acs"] for r in synaptic)
    snn_macs = sum(r["macs"] for r in synaptic)
    ann_macs = sum(r["ann_macs"] for r in synaptic)
    snn_uj, ann_uj = energy.energy_uj(acs, snn_macs), energy.energy_uj(0, ann_macs)
    totals = {"firing_rate": all_spikes / all_neurons if all_neurons else 0.0, "acs": acs, "macs": snn_macs,
              "ann_macs": ann_macs, "snn_energy_uj": snn_uj, "ann_energy_uj": ann_uj,
              "energy_ratio": snn_uj / ann_uj if ann_uj else math.inf}
    return {"T": T, "spiking": spiking, "synaptic": synaptic, "totals": totals}


def report(c: Counts, Ts: list[int], energy: EnergyModel) -> dict[str, Any]:
    """Every T's rates, operations and energies, with the rules and constants they follow."""
    return {"rules": list(RULES), "energy_model": energy.to_dict(), "images": c.images,
            "spiking_layers": [{"name": n, "neurons": c.neurons[n]} for n in c.spikes],
            "synaptic_layers": [{"name": n, "kind": c.kinds[n], "input": "image" if c.inputs.get(n) is None
                                 else "spikes", "macs_per_step": m} for n, m in c.macs.items()],
            "results": [at_T(c, T, energy) for T in Ts]}


def checkpoint_stats(path: str | Path, Ts: Iterable[int] | None = None, *, stage: int = 3,
                     data_dir: str | None = None, limit_test: int | None = None, batch_size: int = 256,
                     device: str = "cpu", seed: int = 0, energy: EnergyModel | None = None,
                     show_progress: bool = False) -> dict[str, Any]:
    """Firing rates, synaptic operations and energies of a checkpoint at every T of ``Ts`` (default 1, 5, 10),
    stage 2 or 3 at the checkpoint's own alpha, on its test data: one run at the largest T gives every T.
    Graphs and engines are refused (their spikes are not outputs of the graph)."""
    from ..runners import kind_of

    Ts = check_Ts(Ts)
    energy = energy or EnergyModel()
    if stage not in (2, 3):
        raise SnnDeployError(f"stage must be 2 or 3, got {stage}")
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
    return {**out, **report(counts, Ts, energy)}


def bench_columns(stats: dict[str, Any], T: int) -> dict[str, float]:
    """The columns a benchmark row at T takes from a ``checkpoint_stats`` report that counted T: overall firing
    rate, ACs and MACs per image, SNN and ANN energy (uJ per image) and their ratio."""
    for row in stats["results"]:
        if row["T"] == T:
            t = row["totals"]
            return {"firing_rate": t["firing_rate"], "acs": t["acs"], "macs": t["macs"],
                    "snn_energy_uj": t["snn_energy_uj"], "ann_energy_uj": t["ann_energy_uj"],
                    "energy_ratio": t["energy_ratio"]}
    raise SnnDeployError(f"the stats report has no T = {T} (it counted T = {[r['T'] for r in stats['results']]})")


def layer_names(stats: dict[str, Any]) -> dict[str, str]:
    """Short names by position for a report's layers, by module name: the synaptic layers conv1, conv2, ...,
    fc1, ... and readout (the last linear layer); in a plain stack (a spiking layer after each synaptic layer but
    the readout, in order) each spiking layer takes the name of the layer that feeds it, elsewhere (shortcuts)
    lif1, lif2, ..."""
    synaptic, spiking = stats["synaptic_layers"], stats["spiking_layers"]
    names: dict[str, str] = {}
    counts = {"conv": 0, "linear": 0}
    for i, layer in enumerate(synaptic):
        if i == len(synaptic) - 1 and layer["kind"] == "linear":
            names[layer["name"]] = "readout"
            continue
        counts[layer["kind"]] += 1
        names[layer["name"]] = f"{'conv' if layer['kind'] == 'conv' else 'fc'}{counts[layer['kind']]}"
    plain = len(synaptic) == len(spiking) + 1
    for i, layer in enumerate(spiking):
        names[layer["name"]] = names[synaptic[i]["name"]] if plain else f"lif{i + 1}"
    return names


def layer_inputs(stats: dict[str, Any]) -> dict[str, str]:
    """What feeds each synaptic layer, by module name: "image", "<name> spikes" in a plain stack (see
    layer_names), "spikes" elsewhere."""
    names = layer_names(stats)
    synaptic, spiking = stats["synaptic_layers"], stats["spiking_layers"]
    plain = len(synaptic) == len(spiking) + 1
    return {s["name"]: "image" if s["input"] == "image" else
            f"{names[spiking[i - 1]['name']]} spikes" if plain and i > 0 else "spikes"
            for i, s in enumerate(synaptic)}


def plot(stats: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """Firing rate per spiking layer, one line per T (each its own marker and dashes, side by side: rates at
    several T are often nearly equal), beside SNN and ANN energy against T, as a PNG."""
    from ..ui import plots

    fig, (ax_rate, ax_energy) = plots.plt.subplots(1, 2, figsize=(10, 3.8))
    names = layer_names(stats)
    layers = [s["name"] for s in stats["spiking_layers"]]
    n = len(stats["results"])
    for i, row in enumerate(stats["results"]):
        ax_rate.plot([x + 0.08 * (i - (n - 1) / 2) for x in range(len(layers))],
                     [100 * s["firing_rate"] for s in row["spiking"]], marker="os^Dv<>"[i % 7],
                     linestyle=("-", "--", ":", "-.")[i % 4], label=f"T={row['T']}")
    ax_rate.set_xticks(range(len(layers)), [f"{names[layer]}\n({layer})" for layer in layers],
                       rotation=30 if len(layers) > 6 else 0, ha="right" if len(layers) > 6 else "center",
                       fontsize=8)
    ax_rate.set_xlabel("spikes out of layer (module)")
    ax_rate.set_ylabel("firing rate (% of neurons per step)")
    ax_rate.set_ylim(bottom=0)
    ax_rate.grid(alpha=0.3)
    ax_rate.legend()
    rows = sorted(stats["results"], key=lambda r: r["T"])
    Ts = [r["T"] for r in rows]
    ax_energy.plot(Ts, [r["totals"]["snn_energy_uj"] for r in rows], marker="o", label="SNN (ACs + first-layer MACs)")
    ax_energy.plot(Ts, [r["totals"]["ann_energy_uj"] for r in rows], "k--", label="ANN (one dense pass)")
    ax_energy.set_xticks(Ts)
    ax_energy.set_ylim(bottom=0)
    e = stats["energy_model"]
    fig.suptitle(title)
    return plots.finish(fig, ax_energy, path, xlabel="T (time steps)", ylabel="energy per image (uJ)",
                        title=f"e_ac = {e['e_ac_pj']:g} pJ, e_mac = {e['e_mac_pj']:g} pJ")
