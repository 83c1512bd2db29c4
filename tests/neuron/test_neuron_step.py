"""The one neuron step over three time steps, against values worked out by hand (docs/design.md)."""

import math

import pytest
import torch

from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.models.layers import LIFNode
from snndeploy.neuron import TorchOps, step, unit

CURRENT = [0.6, 0.2, 0.1]  # one sample, three neurons, the same input current at every step
# Raw uniform draws per step. With noise U[0, 1) the stage-1/2 noise is the draw itself, and stage 3's
# residual noise is (2 z - 1) r with r = (1 - 0)/2 - 1/alpha = 0.25 at alpha = 4.
DRAWS = [[0.5, 0.3, 0.2], [0.5, 0.9, 0.1], [0.7, 0.05, 0.95]]


class Recording(TorchOps):
    """TorchOps that keeps every pre-spike potential H it fires on."""

    def __init__(self, cfg: NeuronConfig) -> None:
        super().__init__(cfg, lambda t, like: unit(cfg, torch.tensor([DRAWS[t]])))
        self.h: list[torch.Tensor] = []

    def fire(self, h: torch.Tensor) -> torch.Tensor:
        self.h.append(h)
        return super().fire(h)


def run(mode: str, cfg: NeuronConfig, T: int = 3) -> torch.Tensor:
    """Spikes [T, 3] of a LIF layer in ``mode`` fed CURRENT and DRAWS."""
    node = LIFNode(cfg)
    node.mode = mode
    node.draw_fn = lambda n, t, like, kind: unit(cfg, torch.tensor([DRAWS[t]]))
    with torch.no_grad():
        return node(torch.tensor([CURRENT]).expand(T, 1, 3))[:, 0]


def test_stage2_adds_fresh_noise_and_forgets():
    # H(t) = I + N(t): [1.1, 0.5, 0.3], [1.1, 1.1, 0.2], [1.3, 0.25, 1.05]; spike where H > 1
    spikes = run("stage2", NeuronConfig(noise="uniform"))
    assert spikes.tolist() == [[1, 0, 0], [1, 1, 0], [1, 0, 1]]


def test_stage3_normalises_the_decayed_potential():
    # t=1: H = I + N = [1.1, 0.5, 0.3] -> S = [1, 0, 0], V = [0, 0.5, 0.3] (hard reset to 0).
    # t=2: lam V = [0, .25, .15]; standardised and squashed into 0.5 +- 1/4 = [0.25, 0.71875, 0.53125];
    #      plus I plus N' = (2 z - 1)/4 = [0, 0.2, -0.2]: H = [0.85, 1.11875, 0.43125] -> S = [0, 1, 0].
    # t=3: V = [0.85, 0, 0.43125], lam V = [.425, 0, .215625] -> [0.747561, 0.25, 0.502439];
    #      plus I plus N' = [0.1, -0.225, 0.225]: H = [1.447561, 0.225, 0.827439] -> S = [1, 0, 0].
    cfg = NeuronConfig(noise="uniform", alpha=4.0)
    assert run("stage3", cfg).tolist() == [[1, 0, 0], [0, 1, 0], [1, 0, 0]]
    ops, v = Recording(cfg), None
    for t in range(3):
        _, v = step(ops, "stage3", cfg, t, torch.tensor([CURRENT]), v)
    expected = [[1.1, 0.5, 0.3], [0.85, 1.11875, 0.43125], [1.447561, 0.225, 0.827439]]
    assert torch.allclose(torch.cat(ops.h), torch.tensor(expected), atol=1e-5)


def test_stage3_at_alpha_inf_is_stage2():
    assert torch.equal(run("stage3", NeuronConfig(noise="uniform", alpha=math.inf)),
                       run("stage2", NeuronConfig(noise="uniform")))


@pytest.mark.parametrize("soft", [False, True])
def test_plain_lif_recurrence(soft):
    # lam = 0.5, I = [0.6, 1.2, 0.9] at every step, V(0) = 0, no noise.
    # t=1: H = [0.6, 1.2, 0.9] -> S = [0, 1, 0]; hard: V = [0.6, 0, 0.9]; soft: V = [0.6, 0.2, 0.9]
    # t=2: hard H = [0.9, 1.2, 1.35] -> S = [0, 1, 1]; soft H = [0.9, 1.3, 1.35] -> S = [0, 1, 1]
    # t=3: hard V = [0.9, 0, 0] -> H = [1.05, 1.2, 0.9] -> S = [1, 1, 0];
    #      soft V = [0.9, 0.3, 0.35] -> H = [1.05, 1.35, 1.075] -> S = [1, 1, 1]
    node = LIFNode(NeuronConfig(v_reset=None if soft else 0.0))
    node.mode = "lif"
    with torch.no_grad():
        spikes = node(torch.tensor([[0.6, 1.2, 0.9]]).expand(3, 1, 3))[:, 0]
    third = [1, 1, 1] if soft else [1, 1, 0]
    assert spikes.tolist() == [[0, 1, 0], [0, 1, 1], third]
