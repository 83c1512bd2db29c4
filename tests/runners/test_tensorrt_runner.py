"""Contract tests of the TensorRT runner on the CPU, against the stub TensorRT and CUDA bindings in tests/stubs:
what it passes to IRuntime, the execution context and the CUDA stream (input shapes, addresses, copies back,
outputs that are copies), and its one-line errors. A run on a GPU with real TensorRT must confirm them."""

import types

import numpy as np
import pytest
import stubs

from snndeploy.artifacts import metadata, sidecar
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.hashing import sha256_bytes
from snndeploy.engine.build import BuildConfig, plan_shapes
from snndeploy.export.exporter import ExportConfig, export
from snndeploy.runners.base import BackendUnavailable
from snndeploy.runners.tensorrt import TensorRTRunner


@pytest.fixture(scope="module")
def graph(tiny_run, tmp_path_factory):
    (e,) = export(tiny_run.path, ExportConfig(T=(2,), noise="input", out=str(tmp_path_factory.mktemp("graph"))))
    return e.path


@pytest.fixture
def stub(monkeypatch):
    trt, cudart = stubs.install(monkeypatch)
    yield types.SimpleNamespace(trt=trt, cudart=cudart)
    stubs.uninstall()


def make_engine(stub, graph, folder, *, batch=(1, 4, 16), plan=None, dla_core=None, **extra):
    """A stub plan and its sidecar, as `snndeploy build` writes them."""
    _, facts = metadata.load(graph)
    shapes = plan_shapes(facts, BuildConfig(batch=batch))
    plan = stub.trt.make_plan(graph, shapes, dla_core=dla_core) if plan is None else plan
    engine = folder / "m.plan"
    engine.write_bytes(plan)
    info = {"tensorrt": stub.trt.__version__, "gpu": "Stub GPU", "compute_capability": "8.7", "shapes": shapes,
            "onnx_sha256": "0" * 64, "plan_sha256": sha256_bytes(plan), "max_batch": batch[2], "dla_core": dla_core,
            **extra}
    sidecar.write(engine, facts, info)
    return engine


def expected(x, noise):
    value = x.reshape(len(x), -1).mean(1)[:, None] * np.arange(1, 11)
    return value + sum(n.reshape(len(n), -1).mean(1)[:, None] for n in noise.values())


def test_runs_through_the_tensorrt_api(stub, graph, tmp_path):
    runner = TensorRTRunner(make_engine(stub, graph, tmp_path))
    rng = np.random.default_rng(0)
    with runner:
        x = rng.standard_normal((5, 1, 28, 28)).astype(np.float32)
        noise = runner.draw_noise(5, rng)
        logits = runner.infer(x, noise)
        (stream,) = stub.cudart.STREAMS
    np.testing.assert_allclose(logits, expected(x, noise), rtol=1e-5)
    assert logits.dtype == np.float32 and runner.max_batch == 16 and runner.min_batch == 1
    # every input's shape is set, then execute_async_v3 runs on the runner's own stream
    assert sorted(stub.trt.calls("set_input_shape")) == sorted((n, (5, *v.shape[1:])) for n, v in
                                                               {"images": x, **noise}.items())
    assert stub.trt.calls("execute_async_v3") == [(stream,)]
    addressed = {name for name, _ in stub.trt.calls("set_tensor_address")}
    assert addressed == {"images", "logits", *noise}
    copies = stub.cudart.calls("cudaMemcpyAsync")
    assert [c[3] for c in copies].count(stub.cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost) == 1
    assert all(c[4] == stream for c in copies)
    assert not stub.cudart.ALLOCATIONS and not stub.cudart.STREAMS  # deactivate freed everything


def test_outputs_are_copies_not_a_reused_buffer(stub, graph, tmp_path):
    rng = np.random.default_rng(0)
    with TensorRTRunner(make_engine(stub, graph, tmp_path)) as runner:
        first_x = rng.standard_normal((4, 1, 28, 28)).astype(np.float32)
        first = runner.infer(first_x, runner.draw_noise(4, rng))
        kept = first.copy()
        for batch in (2, 8, 4):  # smaller, larger (device buffers grow), same again
            later = runner.infer(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32),
                                 runner.draw_noise(batch, rng))
            assert not np.shares_memory(first, later)
        assert np.array_equal(first, kept)


def test_batch_limits_are_the_engine_profile(stub, graph, tmp_path):
    with TensorRTRunner(make_engine(stub, graph, tmp_path, batch=(2, 4, 8))) as runner:
        x = np.zeros((9, 1, 28, 28), np.float32)
        with pytest.raises(SnnDeployError, match="batch 9 exceeds m.plan's maximum of 8"):
            runner.infer(x, runner.draw_noise(9, np.random.default_rng(0)))
        with pytest.raises(SnnDeployError, match="batch 1 is below m.plan's minimum of 2"):
            runner.infer(x[:1], runner.draw_noise(1, np.random.default_rng(0)))
        assert runner.infer_batches(x, np.random.default_rng(0)).shape == (9, 10)  # chunks of 8, the last padded


def test_engine_loads_only_on_its_exact_tensorrt_version(stub, graph, tmp_path):
    engine = make_engine(stub, graph, tmp_path)
    stub.trt.__version__ = "10.3.1"
    with pytest.raises(SnnDeployError, match="built with TensorRT 10.3.0, this machine has 10.3.1; engines load "
                                             "only on the exact TensorRT version"):
        TensorRTRunner(engine).activate()
    assert not stub.trt.calls("deserialize_cuda_engine")


@pytest.mark.parametrize("failure, why", [
    ("garbage", r"Serialization assertion magicTagRead == kMAGIC_TAG failed\."),
    ("raise", "stub: deserialization raised"),
])
def test_deserialization_failures_are_one_line(stub, graph, tmp_path, failure, why):
    engine = make_engine(stub, graph, tmp_path, plan=b"not a plan" if failure == "garbage" else None)
    if failure == "raise":
        stub.trt.STATE["deserialize"] = "raise"
    runner = TensorRTRunner(engine)
    with pytest.raises(SnnDeployError, match=f"TensorRT 10.3.0 could not load m.plan .*{why}.*; rebuild it here") \
            as err:
        runner.activate()
    assert "\n" not in str(err.value) and not runner.is_active
    assert not stub.cudart.ALLOCATIONS and not stub.cudart.STREAMS


def test_plan_and_sidecar_must_agree(stub, graph, tmp_path):
    engine = make_engine(stub, graph, tmp_path)
    engine.write_bytes(engine.read_bytes() + b" ")
    with pytest.raises(SnnDeployError, match=r"m.plan does not match its sidecar m.plan.json \(rebuilt or"):
        TensorRTRunner(engine).activate()
    _, facts = metadata.load(graph)
    other = stub.trt.make_plan(graph, plan_shapes(facts, BuildConfig(batch=(1, 4, 32))))
    with pytest.raises(SnnDeployError, match=r"the plan's profile for '.*' is min/opt/max .*32.*, its sidecar says"):
        TensorRTRunner(make_engine(stub, graph, tmp_path, plan=other)).activate()


def test_no_gpu_or_no_dla_core_is_backend_unavailable(stub, graph, tmp_path):
    engine = make_engine(stub, graph, tmp_path)
    stub.cudart.STATE["device"] = None
    with pytest.raises(BackendUnavailable, match="no NVIDIA GPU visible"):
        TensorRTRunner(engine).activate()
    stub.cudart.STATE["device"] = ("Stub GPU", 8, 7)
    dla = make_engine(stub, graph, tmp_path, dla_core=1)
    with pytest.raises(BackendUnavailable, match="built for DLA core 1, this device has 0 DLA core"):
        TensorRTRunner(dla).activate()
    stub.trt.STATE["dla_cores"] = 2
    with TensorRTRunner(dla) as runner:
        assert runner.dla_core == 1
    assert stub.trt.calls("deserialize_cuda_engine")[-1][1] == 1  # the runtime's DLA core was set first


def test_other_gpu_architecture_is_refused(stub, graph, tmp_path):
    engine = make_engine(stub, graph, tmp_path)
    stub.cudart.STATE["device"] = ("Other GPU", 9, 0)
    with pytest.raises(SnnDeployError, match=r"built for Stub GPU \(compute capability 8.7\), this GPU has compute "
                                             "capability 9.0"):
        TensorRTRunner(engine).activate()
