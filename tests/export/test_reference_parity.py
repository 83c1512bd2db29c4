"""A second, independent executor for the exported graphs: ONNX's own reference implementation
(onnx.reference.ReferenceEvaluator, plain numpy, op by op from the ONNX specification) runs every export variant
on images of the bundled sample and must agree with ONNX Runtime. A graph that only ONNX Runtime runs right (an
op used outside its specification, a local function or a dynamic Slice read one runtime's way) fails here.

Both executors get the same inputs: the images and, for ``--noise input``, the same raw draws. A ``--noise
graph`` graph draws its window offsets inside (RandomUniform): ONNX Runtime's draws of the very run compared are
read back as extra graph outputs and handed to the reference evaluator's RandomUniform, so that graph is
compared exactly too.

Tolerances: every variant agrees on the top-1 class of every image. fp32 logits agree to float rounding
(1e-5; spikes are 0/1, so only the readout's sums can round differently; measured: bit-identical). fp16 graphs
(fp16 weights and potentials, fp32 inputs and logits): ONNX Runtime's CPU kernels and numpy round half-precision
sums differently, so a potential within rounding of the threshold can spike in one executor only; each such flip
moves its image's logits by readout weights over T (measured: at most 0.036, 43% of the logits more than
2e-3 apart). So: at most 0.1 apart, 0.02 on average.
"""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun

from snndeploy.data.datasets import load_dataset, normalize_array
from snndeploy.export.exporter import ExportConfig, export
from snndeploy.runners.onnxruntime import OnnxRuntimeRunner

pytestmark = pytest.mark.slow  # the reference evaluator is plain numpy: seconds per graph, about a minute in all

T = 2
IMAGES = 6
FP32_ATOL, FP16_FLIP, FP16_MEAN = 1e-5, 0.1, 0.02

# name: export options (the default export: local functions, frozen noise, stage 3, fp32)
VARIANTS = {  # --noise graph: inlined, so that its draws can be read back (see the last test)
    "default": {},
    "inline": {"inline": True},
    "fp16": {"fp16": True},
    "noise-input": {"noise": "input"},
    "noise-input-inline": {"noise": "input", "inline": True},
    "frozen-fixed-batch": {"noise": "frozen", "batch": str(IMAGES)},
    "noise-graph": {"noise": "graph", "inline": True},
    "stage2": {"stage": 2, "noise": "input"},
    "stage3-alpha-inf": {"stage": 3, "alpha": float("inf"), "noise": "input"},
}


@pytest.fixture(scope="module")
def images():
    data = load_dataset("sample", limit_test=IMAGES)
    return normalize_array(data.test.images, data.spec)


def random_outputs(model: onnx.ModelProto) -> list[str]:
    """The outputs of the graph's RandomUniform nodes (the window offsets of --noise graph)."""
    return [n.output[0] for n in model.graph.node if n.op_type == "RandomUniform"]


def run_onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """ONNX Runtime's logits, and its RandomUniform draws of the same run (exposed as extra outputs)."""
    exposed = onnx.ModelProto()
    exposed.CopyFrom(model)
    drawn = random_outputs(model)
    for name in drawn:
        exposed.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(exposed.SerializeToString(), options, providers=["CPUExecutionProvider"])
    logits, *draws = session.run([model.graph.output[0].name, *drawn], feeds)
    return logits, dict(zip(drawn, draws, strict=True))


def fed_random_uniform(draws: dict[str, np.ndarray], used: list[str]) -> type[OpRun]:
    """A RandomUniform for the reference evaluator that returns ONNX Runtime's draws for that node."""

    class RandomUniform(OpRun):
        op_domain = ""

        def _run(self, dtype: int | None = None, high: float = 1.0, low: float = 0.0, seed: float | None = None,
                 shape: list[int] | None = None) -> tuple[np.ndarray]:
            name = self.onnx_node.output[0]
            value = draws[name]
            assert list(value.shape) == list(shape) and (low <= value).all() and (value < high).all()
            used.append(name)
            return (value,)

    return RandomUniform


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_reference_evaluator_agrees_with_onnxruntime(tiny_run, images, tmp_path, variant):
    cfg = ExportConfig(T=(T,), out=str(tmp_path), **VARIANTS[variant])
    (exported,) = export(tiny_run.path, cfg)
    model = onnx.load(exported.path)
    with OnnxRuntimeRunner(exported.path) as runner:  # the draws a --noise input graph takes, as runners feed them
        noise = runner.draw_noise(len(images), np.random.default_rng(0)) or {}
        assert (runner.facts.noise, runner.facts.stage, runner.precision) == \
               (cfg.noise, cfg.stage, "fp16" if cfg.fp16 else "fp32")
    feeds = {"images": images, **noise}
    assert {i.name for i in model.graph.input} == set(feeds)
    expected, draws = run_onnxruntime(model, feeds)
    assert bool(draws) == (cfg.noise == "graph")

    used: list[str] = []
    reference = ReferenceEvaluator(model, new_ops=[fed_random_uniform(draws, used)] if draws else None)
    (got,) = reference.run([model.graph.output[0].name], feeds)
    assert sorted(used) == sorted(draws)  # every draw of the graph came from ONNX Runtime's run

    assert got.shape == expected.shape == (IMAGES, 10) and np.isfinite(got).all()
    assert got.argmax(1).tolist() == expected.argmax(1).tolist()
    diff = np.abs(got.astype(np.float32) - expected)
    if cfg.fp16:
        assert diff.max() <= FP16_FLIP and diff.mean() <= FP16_MEAN, (diff.max(), diff.mean())
    else:
        np.testing.assert_allclose(got, expected, rtol=0, atol=FP32_ATOL)
    assert len(set(expected.argmax(1).tolist())) > 1  # a trained network: the images are not all one class


def test_graph_noise_draws_reach_the_logits(tiny_run, images, tmp_path):
    """The comparison of --noise graph is not blind to the draws: other offsets give other logits."""
    (exported,) = export(tiny_run.path, ExportConfig(T=(T,), noise="graph", inline=True, out=str(tmp_path)))
    model = onnx.load(exported.path)
    expected, draws = run_onnxruntime(model, {"images": images})
    moved = {k: (v + 0.5) % 1.0 for k, v in draws.items()}
    (got,) = ReferenceEvaluator(model, new_ops=[fed_random_uniform(moved, [])]).run(None, {"images": images})
    assert not np.allclose(got, expected, atol=1e-3)


def test_graph_noise_in_local_functions_runs_in_the_reference_evaluator(tiny_run, images, tmp_path):
    """--noise graph with local functions (NoiseWindow: RandomUniform and a dynamic Slice inside a function)
    runs in the reference evaluator. Its logits are not compared with ONNX Runtime's: neither executor can be
    handed the other's draws inside a function (ONNX Runtime does not expose a function's intermediate values,
    and the reference evaluator does not apply new_ops inside function bodies), and both draw unseeded. The
    same draws through the same ops are compared exactly on the inlined graph above."""
    (exported,) = export(tiny_run.path, ExportConfig(T=(T,), noise="graph", out=str(tmp_path)))
    model = onnx.load(exported.path)
    assert "NoiseWindow" in {f.name for f in model.functions}
    expected, _ = run_onnxruntime(model, {"images": images})
    (got,) = ReferenceEvaluator(model).run(None, {"images": images})
    assert got.shape == expected.shape == (IMAGES, 10) and np.isfinite(got).all()
