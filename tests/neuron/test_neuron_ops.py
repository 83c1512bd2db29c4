"""The neuron ops against hand-computed values, and the one step over several time steps (docs/design.md)."""

import math

import pytest
import torch

from snndeploy.core.errors import SnnDeployError
from snndeploy.core.neuron_config import NeuronConfig, check_alpha, residual_radius
from snndeploy.neuron import Charge, Fire, Noise, PotentialNorm, Reset, ResidualNoise, draw, keeps_potential
from snndeploy.neuron.ops import surrogate_grad

G01 = NeuronConfig()  # Gaussian noise on [0, 1], lam 0.5, v_th 1, hard reset to 0, alpha 4


def test_gaussian_noise_spans_range_per_sample():
    torch.manual_seed(0)
    z = torch.randn(8, 4, 5, 5)
    n = Noise.torch(G01, z)
    flat = n.flatten(1)
    # The sample-wise extreme of |z| lands exactly on a range end; everything lies inside it.
    assert torch.all(flat.min(1).values >= -1e-6) and torch.all(flat.max(1).values <= 1 + 1e-6)
    touches = (flat.min(1).values.abs() < 1e-6) | ((flat.max(1).values - 1).abs() < 1e-6)
    assert touches.all()
    big = Noise.torch(G01, torch.randn(4, 100_000))
    assert abs(float(big.mean()) - 0.5) < 0.01


def test_gaussian_noise_hand_values():
    z = torch.tensor([[2.0, -1.0, 0.0, 1.0]])
    n = Noise.torch(G01, z)  # z / (2*2) + 0.5
    assert torch.allclose(n, torch.tensor([[1.0, 0.25, 0.5, 0.75]]))
    n2 = Noise.torch(NeuronConfig(noise_lo=-1.0, noise_hi=3.0), z)  # z / 4 * 4 + 1
    assert torch.allclose(n2, torch.tensor([[3.0, 0.0, 1.0, 2.0]]))


def test_uniform_noise_range_and_mean():
    torch.manual_seed(1)
    cfg = NeuronConfig(noise="uniform", noise_lo=0.2, noise_hi=0.6, alpha=5.0)
    n = Noise.torch(cfg, draw(torch.empty(2, 200_000), "uniform"))
    assert float(n.min()) >= 0.2 and float(n.max()) < 0.6
    assert abs(float(n.mean()) - 0.4) < 0.005


def test_potential_norm_within_beta_plus_minus_inverse_alpha():
    torch.manual_seed(2)
    a = torch.rand(6, 3, 4, 4) * 5 - 1
    for alpha in (2.0, 4.0, 10.0):
        out = PotentialNorm.torch(NeuronConfig(lam=1.0, alpha=alpha), a).flatten(1)
        assert torch.all(out >= 0.5 - 1 / alpha - 1e-6) and torch.all(out <= 0.5 + 1 / alpha + 1e-6)
        assert torch.allclose(out.mean(1), torch.full((6,), 0.5), atol=1e-5)
        # The extreme neuron sits at the edge of the band (up to eps).
        assert torch.allclose((out - 0.5).abs().max(1).values, torch.full((6,), 1 / alpha), atol=1e-5)


def test_potential_norm_hand_values():
    a = torch.tensor([[1.0, 3.0]])  # mu 2, sigma 1 -> ahat [-1, 1] -> ahat/(4*1) + 0.5
    out = PotentialNorm.torch(NeuronConfig(lam=0.5, eps=1e-30), a * 2)
    assert torch.allclose(out, torch.tensor([[0.25, 0.75]]))


def test_alpha_inf_residual_spans_the_whole_noise_range():
    assert residual_radius(math.inf, 0.0, 1.0) == 0.5
    z = torch.randn(3, 10)
    # beta + N'(r = 0.5) is exactly stage 2's noise for the same draws: stage 3 at alpha = inf is stage 2.
    assert torch.allclose(0.5 + ResidualNoise.torch(NeuronConfig(alpha=math.inf), z), Noise.torch(G01, z))
    assert not keeps_potential("stage3", NeuronConfig(alpha=math.inf)) and keeps_potential("stage3", G01)


def test_alpha_two_leaves_no_residual_and_lower_alpha_is_rejected():
    assert residual_radius(2.0, 0.0, 1.0) == 0.0
    assert residual_radius(4.0, 0.0, 1.0) == pytest.approx(0.25)
    with pytest.raises(SnnDeployError, match="alpha must be >= 2"):
        check_alpha(1.5, 0.0, 1.0)
    check_alpha(1.0, 0.0, 2.0)  # the bound is 2/(hi-lo)
    with pytest.raises(SnnDeployError):
        NeuronConfig(alpha=1.9)


def test_residual_noise_is_zero_mean_and_spans_r():
    torch.manual_seed(3)
    z = torch.randn(4, 50_000)
    n = ResidualNoise.torch(NeuronConfig(alpha=4.0), z)
    assert torch.allclose(n.abs().max(1).values, torch.full((4,), 0.25))
    assert abs(float(n.mean())) < 0.005
    u = ResidualNoise.torch(NeuronConfig(alpha=4.0, noise="uniform"), torch.rand(4, 50_000))
    assert float(u.min()) >= -0.25 and float(u.max()) <= 0.25 and abs(float(u.mean())) < 0.005


def test_surrogate_values_and_gradient():
    h = torch.tensor([1.0, 0.0, 2.0])
    g = surrogate_grad(h, 1.0, 3.0)
    expected = [3 / 2, 3 / (2 * (1 + (math.pi / 2 * 3) ** 2)), 3 / (2 * (1 + (math.pi / 2 * 3) ** 2))]
    assert torch.allclose(g, torch.tensor(expected))
    x = torch.tensor([0.5, 1.0, 1.5], requires_grad=True)
    s = Fire.torch(NeuronConfig(), x)
    assert s.tolist() == [0.0, 0.0, 1.0]  # strict >: H = v_th does not fire
    s.sum().backward()
    assert torch.allclose(x.grad, surrogate_grad(x.detach(), 1.0, 3.0))


def test_hard_and_soft_reset_and_charge():
    h = torch.tensor([0.3, 1.7, 1.0])
    s = Fire.torch(G01, h)
    assert torch.equal(Reset.torch(G01, h, s), torch.tensor([0.3, 0.0, 1.0]))
    assert torch.equal(Reset.torch(NeuronConfig(v_reset=-0.2), h, s), torch.tensor([0.3, -0.2, 1.0]))
    assert torch.allclose(Reset.torch(NeuronConfig(v_reset=None), h, s), torch.tensor([0.3, 0.7, 1.0]))
    assert torch.allclose(Charge.torch(G01, torch.tensor([0.6]), torch.tensor([0.4])), torch.tensor([0.7]))
    assert torch.allclose(Charge.torch(NeuronConfig(lam=1.0), torch.tensor([0.6]), torch.tensor([0.4])),
                          torch.tensor([1.0]))


def test_config_roundtrip_and_unknown_keys():
    cfg = NeuronConfig(alpha=math.inf, noise="uniform")
    back = NeuronConfig.from_dict(cfg.to_dict())
    assert back == cfg and cfg.beta_value == 0.5
    with pytest.raises(SnnDeployError, match="unknown neuron option"):
        NeuronConfig.from_dict({"alfa": 4})
    with pytest.raises(SnnDeployError, match="noise range"):
        NeuronConfig(noise_lo=1.0, noise_hi=0.0)
    with pytest.raises(SnnDeployError, match="unknown noise"):
        NeuronConfig(noise="pink")
