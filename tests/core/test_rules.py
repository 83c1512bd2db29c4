"""Rules defined once in core and used everywhere: the raw draw of each noise kind (NumPy and PyTorch forms),
the T / stage / noise checks, the method and stage -> mode maps, and the seed bound."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from snndeploy.core import validate
from snndeploy.core.config import METHODS, TrainConfig
from snndeploy.core.draws import RAW, numpy_draws, torch_draws
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.neuron_config import (
    EVAL_MODE,
    NOISE_TYPES,
    STAGE_MODE,
    TRAIN_MODE,
    NeuronConfig,
    check_noise,
    check_noise_mode,
    check_stage,
    check_T,
)
from snndeploy.export.graph import draw_frozen
from snndeploy.neuron import MODES, draw
from snndeploy.runners.base import raw_draws


@pytest.mark.parametrize("kind", NOISE_TYPES)
def test_every_caller_draws_the_one_raw_draw_of_its_kind(kind):
    """The runners' NumPy draws, training's in-place draws and an export's frozen draws are the kind's one
    definition: gaussian N(0, 1), uniform U[0, 1)."""
    rng = np.random.default_rng(7)
    assert np.array_equal(raw_draws(kind, np.random.default_rng(7), (3, 4)), numpy_draws(kind, rng, (3, 4)))
    big = numpy_draws(kind, np.random.default_rng(0), (20_000,))
    assert big.dtype == np.float32
    if kind == "gaussian":
        assert abs(big.mean()) < 0.05 and abs(big.std() - 1) < 0.05 and big.min() < 0
    else:
        assert big.min() >= 0 and big.max() < 1 and abs(big.mean() - 0.5) < 0.02
    torch.manual_seed(3)
    expected = torch_draws(kind, torch.empty(2, 5))
    torch.manual_seed(3)
    assert torch.equal(draw(torch.zeros(2, 5), kind), expected)
    frozen = draw_frozen(torch.Generator().manual_seed(4), (5,), kind)
    assert frozen.shape == (1, 5)
    assert torch.equal(frozen, torch_draws(kind, torch.empty(1, 5), torch.Generator().manual_seed(4)))
    same = (torch.randn if kind == "gaussian" else torch.rand)((1, 5), generator=torch.Generator().manual_seed(4))
    assert torch.equal(frozen, same)  # what exports drew before the draw was shared: the same frozen noise


def test_the_runners_draw_without_pytorch():
    code = ("import sys, numpy as np, snndeploy.runners.base as b\n"
            "b.raw_draws('uniform', np.random.default_rng(0), (2,))\n"
            "assert 'torch' not in sys.modules, 'torch imported'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_noise_kinds_and_modes_come_from_one_table():
    assert NOISE_TYPES == tuple(RAW) == ("gaussian", "uniform")
    assert METHODS == tuple(TRAIN_MODE) == tuple(EVAL_MODE)
    assert set(TRAIN_MODE.values()) | set(EVAL_MODE.values()) | set(STAGE_MODE.values()) <= set(MODES)
    assert EVAL_MODE["noise"] == STAGE_MODE[3] and TRAIN_MODE["noise"] == STAGE_MODE[1]


@pytest.mark.parametrize("check, value, message", [
    (check_T, 0, "^T must be >= 1, got 0$"),
    (check_T, 2.0, "^T must be an integer, got 2.0$"),
    (check_T, True, "^T must be an integer, got True$"),
    (check_T, 2**31, "^T must be <= 2147483647"),
    (check_stage, 1, "^stage must be 2 or 3, got 1$"),
    (check_stage, True, "^stage must be 2 or 3, got True$"),
    (check_stage, "3", "^stage must be 2 or 3, got '3'$"),
    (check_noise, "pink", "^unknown noise type 'pink'; choose one of: gaussian, uniform$"),
    (check_noise_mode, "none", "^--noise must be one of: graph, input, frozen; got 'none'$"),
])
def test_checks_refuse_in_one_line(check, value, message):
    with pytest.raises(SnnDeployError, match=message):
        check(value)


def test_checks_pass_good_values():
    assert check_T(np.int64(5)) == 5 and type(check_T(np.int64(5))) is int
    assert check_stage(2) == 2 and check_noise("uniform") == "uniform" and check_noise_mode("input") == "input"


def test_callers_use_the_shared_checks():
    from snndeploy.bench.deploy import BenchConfig
    from snndeploy.bench.train_study.config import TrainCostConfig
    from snndeploy.export.exporter import ExportConfig

    for make in (lambda: TrainConfig(method="bptt", T=0), lambda: TrainCostConfig(T=0),
                 lambda: ExportConfig(T=(4, 0)), lambda: BenchConfig(Ts=(0,))):
        with pytest.raises(SnnDeployError, match="T must be >= 1, got 0$"):
            make()
    with pytest.raises(SnnDeployError, match="^--stage must be 2 or 3, got 1$"):
        ExportConfig(stage=1)
    with pytest.raises(SnnDeployError, match="^unknown noise type 'pink'"):
        TrainConfig(noise="pink")  # refused when made, not when training starts
    with pytest.raises(SnnDeployError, match="^unknown noise type 'pink'"):
        NeuronConfig(noise="pink")


def test_one_seed_bound_for_every_consumer():
    """2**63 - 1 is the largest seed NumPy, PyTorch and ONNX Runtime (a signed 64-bit int) all take, with room
    for the seeds derived from it (seed + epoch, seed + repeat) below torch's 2**64 - 1."""
    top = validate.SEED_MAX
    assert top == 2**63 - 1
    np.random.default_rng([top, 0])
    torch.Generator().manual_seed(top + 10_000)
    assert validate.seed(top) == top
    for bad in (-1, top + 1, True, 1.0):
        with pytest.raises(SnnDeployError, match=f"^seed must be an integer from 0 to {top}, got"):
            validate.seed(bad)
