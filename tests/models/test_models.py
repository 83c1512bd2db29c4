"""Shapes of every architecture, the four neuron modes, and the stage-2/3 equivalences."""

import math

import pytest
import torch

from snndeploy.core.errors import SnnDeployError
from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.models import MODELS, build_model
from snndeploy.neuron import unit

SHAPES = {"small-cnn": (1, 28, 28), "paper-cnn": (1, 28, 28), "vgg16": (3, 32, 32), "resnet18": (3, 32, 32)}


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("T", [1, 5])
def test_output_shapes(name, T):
    model = build_model(name, SHAPES[name], 10).eval()
    x = torch.randn(2, *SHAPES[name])
    modes = ["stage2", "stage3", "lif", "ann"] + (["stage1"] if T == 1 else [])
    with torch.no_grad():
        for mode in modes:
            assert model.set_mode(mode)(x, T).shape == (2, 10)


def test_stage1_refuses_more_than_one_step():
    model = build_model("small-cnn", (1, 28, 28), 10).set_mode("stage1")
    with pytest.raises(SnnDeployError, match="T = 1"):
        model(torch.zeros(1, 1, 28, 28), 3)


def test_first_layer_runs_once_for_all_steps():
    model = build_model("small-cnn", (1, 28, 28), 10).set_mode("stage3")
    calls = []
    model.stem.register_forward_hook(lambda m, i, o: calls.append(o.shape))
    model(torch.zeros(3, 1, 28, 28), 7)
    assert calls == [torch.Size([3, 32, 28, 28])]


def replay(seed):
    """A draw function that gives the same numbers for the same (node, t)."""
    def draw(node, t, like, kind):
        g = torch.Generator().manual_seed(seed * 1000 + id(node) % 997 * 31 + t)
        z = torch.randn(like.shape, generator=g) if kind == "gaussian" else torch.rand(like.shape, generator=g)
        return unit(node.cfg, z)
    return draw


def run(model, x, T, mode, cfg, seed=0):
    model.set_neuron(cfg).set_mode(mode)
    for node in model.lif_nodes():
        node.draw_fn = replay(seed)
    with torch.no_grad():
        return model(x, T)


@pytest.mark.parametrize("kind", ["gaussian", "uniform"])
def test_alpha_inf_equals_stage2(kind):
    torch.manual_seed(0)
    model = build_model("small-cnn", (1, 28, 28), 10).eval()
    x = torch.rand(4, 1, 28, 28) * 3
    cfg = NeuronConfig(noise=kind)
    inf = run(model, x, 5, "stage3", NeuronConfig(noise=kind, alpha=math.inf))
    assert torch.allclose(inf, run(model, x, 5, "stage2", cfg), atol=1e-6)
    assert not torch.allclose(run(model, x, 5, "stage3", cfg), inf)


def test_alpha_two_uses_no_residual_draws():
    model = build_model("small-cnn", (1, 28, 28), 10).eval().set_mode("stage3")
    model.set_neuron(NeuronConfig(alpha=2.0))
    steps = []
    for node in model.lif_nodes():
        node.draw_fn = lambda node, t, like, kind: (steps.append(t), torch.randn_like(like))[1]
    with torch.no_grad():
        model(torch.rand(2, 1, 28, 28), 4)
    assert set(steps) == {0}  # only t = 1 (index 0) draws noise; later steps are pure potential


def test_stage_T1_is_stage1_for_all_stages():
    model = build_model("small-cnn", (1, 28, 28), 10).eval()
    x = torch.rand(3, 1, 28, 28)
    cfg = NeuronConfig()
    ref = run(model, x, 1, "stage1", cfg)
    for mode in ("stage2", "stage3"):
        assert torch.equal(run(model, x, 1, mode, cfg), ref)


def test_using_restores_modes_and_parameters_even_on_error():
    model = build_model("small-cnn", (1, 28, 28), 10).train()
    with pytest.raises(RuntimeError, match="boom"), model.using("stage3", alpha=2.0, training=False):
        assert all(n.mode == "stage3" and n.cfg.alpha == 2.0 for n in model.lif_nodes()) and not model.training
        raise RuntimeError("boom")
    assert all(n.mode == "stage1" and n.cfg.alpha == 4.0 for n in model.lif_nodes()) and model.training
    with pytest.raises(SnnDeployError, match="alpha must be"), model.using("stage3", alpha=1.0):
        pass
    assert all(n.mode == "stage1" and n.cfg.alpha == 4.0 for n in model.lif_nodes())


def test_unknown_model_and_mode():
    with pytest.raises(SnnDeployError, match="unknown model"):
        build_model("alexnet", (1, 28, 28), 10)
    with pytest.raises(SnnDeployError, match="unknown mode"):
        build_model("small-cnn", (1, 28, 28), 10).set_mode("stage4")
    with pytest.raises(SnnDeployError, match="VGG-16 needs"):
        build_model("vgg16", (1, 28, 28), 10)
