"""Issue 19's wrong-answer defects of the runners, shown on the CPU: ONNX Runtime's random nodes get their own
seeds (its CUDA generator is process-wide), PyTorch runs fp32 on CUDA without TF32, and a network's rows say which
noise it draws ("bank" windows or "fresh" draws)."""

import numpy as np
import onnx
import pytest
import torch

from snndeploy.bench.deploy import BenchConfig, plan_runners
from snndeploy.core.config import NOISE_DRAWS
from snndeploy.export.exporter import ExportConfig, export
from snndeploy.runners.onnxruntime import RANDOM_OPS, SEED_RANGE, OnnxRuntimeRunner
from snndeploy.runners.torch_runner import FP32_PARITY, TorchRunner


@pytest.fixture(scope="module")
def graph_noise(tiny_run, tmp_path_factory):
    """A --noise graph export: its NoiseWindow calls each draw a bank offset with a RandomUniform."""
    out = tmp_path_factory.mktemp("graphnoise")
    return export(tiny_run.path, ExportConfig(T=(2,), noise="graph", out=str(out)))[0].path


def images(n):
    return np.random.default_rng(3).standard_normal((n, 1, 28, 28)).astype(np.float32)


def random_seeds(model):
    """The seed attribute (None where absent) of every random node of the model and of its local functions."""
    nodes = [*model.graph.node, *(n for f in model.functions for n in f.node)]
    return [next((a.f for a in n.attribute if a.name == "seed"), None) for n in nodes if n.op_type in RANDOM_OPS]


def test_every_random_node_is_seeded_from_the_runners_seed(graph_noise, monkeypatch):
    """ONNX Runtime's CUDA random kernels without a seed attribute share one process-wide generator that a new
    session does not reset: stand in for it by moving the process-wide seed before every session is built.
    Two fresh sessions with the same runner seed must still agree, and another seed must differ."""
    import onnxruntime as ort

    built, real_session = [], ort.InferenceSession

    def session(model, *args, **kwargs):
        built.append(onnx.load_from_string(model))
        ort.set_seed(7919 * len(built))  # wherever earlier work left the process-wide generator
        return real_session(model, *args, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", session)
    x = images(1)
    out = {}
    for key, seed in (("a", 7), ("b", 7), ("other", 8)):
        with OnnxRuntimeRunner(graph_noise, seed=seed) as runner:
            out[key] = runner.infer(x)
    seeds = [random_seeds(m) for m in built]
    assert len(seeds[0]) >= 2  # one RandomUniform per NoiseWindow call
    for s in seeds:
        assert all(v is not None and v == int(v) and 0 <= v < SEED_RANGE for v in s)  # every node, exact seeds
        assert len(set(s)) == len(s)  # distinct per node: no two layers read their banks at the same offset
    assert seeds[0] == seeds[1] and seeds[0] != seeds[2]  # from the runner's seed alone
    assert np.array_equal(out["a"], out["b"])
    assert not np.allclose(out["a"], out["other"], atol=1e-3)


def test_an_unseeded_runner_leaves_the_graph_as_it_is(graph_noise):
    runner = OnnxRuntimeRunner(graph_noise)
    assert runner.session_model() is runner.model
    assert OnnxRuntimeRunner(graph_noise, seed=3).session_model() is not runner.model  # a copy: the file is kept


@pytest.fixture
def tf32_on():
    """cuDNN's default (TF32 convolutions) and TF32 matmuls on, restored afterwards."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def test_pytorch_fp32_on_cuda_turns_tf32_off_while_active(tiny_run, tf32_on):
    runner = TorchRunner(tiny_run.path, T=2)
    runner.device = torch.device("cuda")  # activation alone: nothing runs on the (absent) GPU
    assert runner.precision == "fp32"
    runner.activate()
    assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
    runner.deactivate()
    assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32  # the caller's settings back


def test_pytorch_on_the_cpu_leaves_the_tf32_flags_alone(tiny_run, tf32_on):
    with TorchRunner(tiny_run.path, T=2):
        assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32


def test_parity_tolerance_holds_between_the_cpu_runners_and_catches_a_flipped_class(tiny_run, tmp_path):
    """FP32_PARITY, the tolerance of GPU-vs-CPU parity checks, holds between the CPU runners fed the same draws,
    and fails logits that differ by more."""
    (e,) = export(tiny_run.path, ExportConfig(T=(2,), noise="input", out=str(tmp_path)))
    x = images(4)
    with TorchRunner(tiny_run.path, T=2, compiled=False) as torch_runner, OnnxRuntimeRunner(e.path) as graph:
        noise = graph.draw_noise(len(x), np.random.default_rng(0))
        ref, got = torch_runner.infer(x, noise), graph.infer(x, noise)
    assert FP32_PARITY.problem(ref, got) is None
    off = got.copy()
    off[0] += 10 * FP32_PARITY.atol
    assert FP32_PARITY.problem(ref, off) == ("75.0% of images within 0.0001 (need 99.5%), 100.0% with the same "
                                             "class (need 99.9%)")


def test_a_networks_rows_name_the_noise_it_draws(tiny_run, tmp_path):
    """On the CPU the network reads windows of its noise banks; through CUDA graphs it draws afresh: the rows
    must tell them apart (both were labelled "fresh")."""
    assert set(NOISE_DRAWS) == {"bank", "fresh"}
    assert TorchRunner.draws_on("cpu") == "bank"
    assert TorchRunner.draws_on("cuda") == TorchRunner.draws_on("cuda:1") == "fresh"
    assert TorchRunner.draws_on("cuda", cuda_graphs=False) == "bank"
    runner = TorchRunner(tiny_run.path, T=2)
    assert runner.draws == "bank" and all(n.draws == "bank" for n in runner.model.lif_nodes())
    for device, label in (("cpu", "bank"), ("cuda", "fresh")):
        cfg = BenchConfig(backends=("pytorch",), Ts=(2,), device=device, work=str(tmp_path))
        (plan,) = plan_runners(str(tiny_run.path), cfg)
        assert plan.noise == label, device
