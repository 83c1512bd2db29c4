"""Contract tests of `snndeploy build` on the CPU: the real (pure-Python) Polygraphy loaders drive a stub TensorRT
(tests/stubs) that records what it is asked to build: the sidecar's profiles, the workspace, the timing cache, a
strongly typed network, the DLA settings. They check the calls, not TensorRT: a GPU run must confirm them."""

import json
import shlex
import sys
import types

import pytest
import stubs

from snndeploy.artifacts import sidecar
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.hashing import sha256
from snndeploy.engine.build import BuildConfig, build_engine
from snndeploy.export.exporter import ExportConfig, export
from snndeploy.runners.tensorrt import TensorRTRunner

pytest.importorskip("polygraphy", reason="Polygraphy (in snndeploy[gpu]) drives the build")
LOW_PRECISION = {"FP16", "BF16", "INT8", "FP8", "PREFER_PRECISION_CONSTRAINTS", "OBEY_PRECISION_CONSTRAINTS"}


@pytest.fixture(scope="module")
def graphs(tiny_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("graphs")
    (noise_input,) = export(tiny_run.path, ExportConfig(T=(2,), noise="input", out=str(out)))
    (fp16,) = export(tiny_run.path, ExportConfig(T=(2,), fp16=True, out=str(out)))
    (fixed,) = export(tiny_run.path, ExportConfig(T=(2,), batch="4", out=str(out)))
    (fp16_fixed,) = export(tiny_run.path, ExportConfig(T=(2,), fp16=True, batch="4", out=str(out)))
    (banked,) = export(tiny_run.path, ExportConfig(T=(2,), noise="graph", max_batch=16, out=str(out)))
    return types.SimpleNamespace(noise_input=noise_input.path, fp16=fp16.path, fixed=fixed.path,
                                 fp16_fixed=fp16_fixed.path, banked=banked.path)


@pytest.fixture
def stub(monkeypatch):
    trt, cudart = stubs.install(monkeypatch)
    yield types.SimpleNamespace(trt=trt, cudart=cudart)
    stubs.uninstall()


def built_plan(stub):
    (args,) = stub.trt.calls("build_serialized_network")
    return args[0]


def test_build_passes_the_sidecar_profile_workspace_and_strong_typing(stub, graphs, tmp_path):
    cfg = BuildConfig(batch=(1, 8, 32), workspace_gb=0.5, out=str(tmp_path / "m.plan"))
    engine, info = build_engine(graphs.noise_input, cfg)
    facts, side = sidecar.read(engine)
    plan = built_plan(stub)
    assert stub.trt.calls("parse_from_file") == [(str(graphs.noise_input),)]
    assert plan["strongly_typed"] is True
    assert not LOW_PRECISION & set(plan["flags"])  # a strongly typed network takes its precision from the graph
    assert plan["pools"] == {"WORKSPACE": 512 << 20} and side["workspace_bytes"] == 512 << 20
    assert plan["device"] == "GPU" and plan["dla_core"] == -1 and side["dla_core"] is None
    # every input of the graph, noise included, gets the sidecar's min/opt/max
    assert set(plan["inputs"]) == {"images", *facts.noise_inputs} == set(side["shapes"])
    for name, s in side["shapes"].items():
        assert plan["inputs"][name]["profile"] == [s["min"], s["opt"], s["max"]]
    assert side["shapes"]["images"]["max"] == [32, 1, 28, 28] and side["max_batch"] == 32
    assert (side["tensorrt"], side["gpu"], side["compute_capability"]) == ("10.3.0", "Stub GPU", "8.7")
    assert engine.read_bytes().startswith(b"STUBPLAN") and info["trtexec"] == side["trtexec"]
    args = shlex.split(side["trtexec"])
    assert args[:3] == ["trtexec", f"--onnx={graphs.noise_input}", f"--saveEngine={engine}"]
    assert "--memPoolSize=workspace:512" in args and "--stronglyTyped" in args


def test_timing_cache_is_read_and_written(stub, graphs, tmp_path):
    cache = tmp_path / "timing.cache"
    build_engine(graphs.noise_input, BuildConfig(timing_cache=str(cache), out=str(tmp_path / "a.plan")))
    saved = cache.read_bytes()
    assert saved.startswith(b"stub timing cache:")
    stub.trt.CALLS.clear()
    _, info = build_engine(graphs.noise_input, BuildConfig(timing_cache=str(cache), out=str(tmp_path / "b.plan")))
    assert built_plan(stub)["timing_cache"] == saved.hex()  # the second build starts from the first one's cache
    assert f"--timingCacheFile={cache}" in shlex.split(info["trtexec"]) and info["timing_cache"] == str(cache)


def test_dla_build_sets_core_and_gpu_fallback(stub, graphs, tmp_path):
    stub.trt.STATE["dla_cores"] = 2
    stub.trt.__version__ = "11.4.1"  # the first release that builds strongly typed networks for DLA
    cfg = BuildConfig(precision="fp16", dla_core=1, out=str(tmp_path / "d.plan"))
    engine, info = build_engine(graphs.fp16_fixed, cfg)
    plan = built_plan(stub)
    assert plan["device"] == "DLA" and plan["dla_core"] == 1 and "GPU_FALLBACK" in plan["flags"]
    assert not LOW_PRECISION & set(plan["flags"]) and plan["strongly_typed"] is True
    assert plan["inputs"]["images"]["profile"] == [[4, 1, 28, 28]] * 3  # static: DLA takes no other shapes
    assert sidecar.read(engine)[1]["dla_core"] == 1
    assert shlex.split(info["trtexec"])[-3:] == ["--useDLACore=1", "--allowGPUFallback", "--skipInference"]
    # a dynamic-batch graph with a fixed profile is static too
    stub.trt.CALLS.clear()
    build_engine(graphs.fp16, BuildConfig(precision="fp16", batch=(8, 8, 8), dla_core=1, out=str(tmp_path / "e.plan")))
    assert built_plan(stub)["inputs"]["images"]["profile"] == [[8, 1, 28, 28]] * 3


def test_dla_refusals_write_nothing(stub, graphs, tmp_path):
    stub.trt.__version__ = "11.4.1"
    with pytest.raises(SnnDeployError, match="this device has 0 DLA core"):
        build_engine(graphs.fp16_fixed, BuildConfig(precision="fp16", dla_core=0, out=str(tmp_path / "x.plan")))
    stub.trt.STATE["dla_cores"] = 2
    with pytest.raises(SnnDeployError, match="this device has 2 DLA core"):
        build_engine(graphs.fp16_fixed, BuildConfig(precision="fp16", dla_core=2, out=str(tmp_path / "x.plan")))
    with pytest.raises(SnnDeployError, match="DLA runs fp16 and int8 networks only"):
        build_engine(graphs.noise_input, BuildConfig(dla_core=0, out=str(tmp_path / "x.plan")))
    for version in ("10.3.0", "10.8.0"):  # 10.x builds DLA engines weakly typed only; 10.8 to 11.4.0 not at all
        stub.trt.__version__ = version
        with pytest.raises(SnnDeployError, match=f"TensorRT {version} cannot build a strongly typed network for DLA"
                                                 ".*on JetPack 6 .*trtexec .*--useDLACore=N"):
            build_engine(graphs.fp16_fixed, BuildConfig(precision="fp16", dla_core=0, out=str(tmp_path / "x.plan")))
    assert not list(tmp_path.iterdir())


def test_dla_with_a_dynamic_batch_is_refused_before_tensorrt(stub, graphs, tmp_path, monkeypatch):
    # DLA needs min = opt = max (NVIDIA's DLA restrictions); the default profile 1..64 would put every layer on the
    # GPU under a DLA label. Refused before TensorRT is imported: the same error on a machine without TensorRT.
    stub.trt.__version__ = "11.4.1"
    stub.trt.STATE["dla_cores"] = 2
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # importing TensorRT fails from here on
    for batch in (None, (1, 4, 8), (4, 4, 8)):
        with pytest.raises(SnnDeployError, match="DLA needs static shapes .*--batch N,N,N"):
            build_engine(graphs.fp16, BuildConfig(precision="fp16", batch=batch, dla_core=0,
                                                  out=str(tmp_path / "x.plan")))
    assert not stub.trt.calls("build_serialized_network") and not list(tmp_path.iterdir())


def test_trtexec_line_mirrors_the_polygraphy_build(stub, graphs, tmp_path):
    # Polygraphy's CreateConfig clears TF32 and asks for detailed profiling; trtexec keeps TF32 unless --noTF32
    _, info = build_engine(graphs.noise_input, BuildConfig(out=str(tmp_path / "t.plan")))
    plan, args = built_plan(stub), shlex.split(info["trtexec"])
    assert "TF32" not in plan["flags"] and "--noTF32" in args
    assert plan["profiling_verbosity"] == "DETAILED" and "--profilingVerbosity=detailed" in args
    assert "--avgTiming=1" in args  # the builder's own default, where trtexec would time each tactic 8 times


def test_random_ops_are_refused_unless_frozen_noise_is_accepted(stub, graphs, tmp_path, monkeypatch):
    # TensorRT fixes RandomUniform's draws when it builds the engine: a --noise graph engine would run one noise
    # window under a "graph" label
    with pytest.raises(SnnDeployError, match=r"draws noise with RandomUniform .*TensorRT fixes .*--frozen-noise") as e:
        build_engine(graphs.banked, BuildConfig(out=str(tmp_path / "g.plan")))
    assert "\n" not in str(e.value) and not stub.trt.calls("build_serialized_network")
    engine, _ = build_engine(graphs.banked, BuildConfig(frozen_noise=True, out=str(tmp_path / "g.plan")))
    facts, side = sidecar.read(engine)
    assert facts.noise == "frozen" and facts.max_batch == 16 and side["shapes"]["images"]["max"] == [16, 1, 28, 28]
    with TensorRTRunner(engine) as runner:
        assert runner.facts.noise == "frozen"
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # the refusal comes before TensorRT is imported
    with pytest.raises(SnnDeployError, match="draws noise with RandomUniform"):
        build_engine(graphs.banked, BuildConfig(out=str(tmp_path / "h.plan")))


def test_tensorrt_before_10_is_refused_with_the_jetpack_5_route(stub, graphs, tmp_path):
    stub.trt.__version__ = "8.5.2.2"
    with pytest.raises(SnnDeployError, match=r"TensorRT 8.5.2.2 cannot build strongly typed networks .*on JetPack 5 "
                                             r"\(TensorRT 8.5\) export with --inline --trt 8.5 .*trtexec"):
        build_engine(graphs.noise_input, BuildConfig(out=str(tmp_path / "j.plan")))
    assert not stub.trt.calls("build_serialized_network") and not list(tmp_path.iterdir())


def test_fixed_batch_graph_and_errors_in_one_line(stub, graphs, tmp_path, monkeypatch):
    engine, info = build_engine(graphs.fixed, BuildConfig(out=str(tmp_path / "f.plan")))
    assert built_plan(stub)["inputs"]["images"]["profile"] == [[4, 1, 28, 28]] * 3
    assert not any("Shapes=" in a for a in shlex.split(info["trtexec"]))
    stub.cudart.STATE["device"] = None
    with pytest.raises(SnnDeployError, match="no NVIDIA GPU visible"):
        build_engine(graphs.fixed, BuildConfig(out=str(tmp_path / "g.plan")))
    stub.cudart.STATE["device"] = ("Stub GPU", 8, 7)
    monkeypatch.setattr(stub.trt.Builder, "build_serialized_network", lambda self, network, config: None)
    with pytest.raises(SnnDeployError, match=r"TensorRT could not build .*\.onnx: ") as err:
        build_engine(graphs.fixed, BuildConfig(out=str(tmp_path / "g.plan")))
    assert "\n" not in str(err.value) and not (tmp_path / "g.plan").exists()


def test_built_engine_runs_through_the_runner(stub, graphs, tmp_path):
    """The runner's data path into and out of the built engine: images and every noise input uploaded, run,
    downloaded after the run; the stub plan computes logits[b, k] = (k + 1) * mean(images[b]) + sum over the
    noise inputs of mean(noise[b]) (tests/stubs/tensorrt.py), which the test recomputes here."""
    import numpy as np

    from snndeploy.runners.tensorrt import TensorRTRunner

    def expected(x, noise):
        value = x.reshape(len(x), -1).astype(np.float64).mean(1)[:, None] * np.arange(1, 11)
        return value + sum(v.reshape(len(x), -1).astype(np.float64).mean(1)[:, None] for v in noise.values())

    engine, _ = build_engine(graphs.noise_input, BuildConfig(batch=(1, 2, 8), out=str(tmp_path / "r.plan")))
    rng = np.random.default_rng(0)
    with TensorRTRunner(engine) as runner:
        assert runner.max_batch == 8 and runner.min_batch == 1
        for batch in (3, 8, 2):  # a larger batch grows the device buffers, a smaller one reuses them
            x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
            noise = runner.draw_noise(batch, rng)
            assert noise and set(noise) == set(runner.noise_inputs())
            logits = runner.infer(x, noise)
            assert logits.shape == (batch, 10) and logits.dtype == np.float32
            np.testing.assert_allclose(logits, expected(x, noise), rtol=1e-5, atol=1e-5)


def test_one_tensorrt_logger_per_process(stub, graphs, tmp_path):
    # TensorRT treats the logger as a process singleton (ILogger reference up to 8.0; Polygraphy's loaders share
    # one): the build's builder and every runner's runtime get the same logger, and each runner's one-line errors
    # are its own
    engine, _ = build_engine(graphs.noise_input, BuildConfig(batch=(1, 2, 8), out=str(tmp_path / "r.plan")))
    with TensorRTRunner(engine), TensorRTRunner(engine):
        pass
    loggers = [args[0] for args in stub.trt.calls("Builder") + stub.trt.calls("Runtime")]
    assert len(loggers) == 3 and all(logger is loggers[0] for logger in loggers)
    loggers[0].log(stub.trt.ILogger.ERROR, "an error of an earlier runner")
    bad = tmp_path / "bad.plan"
    bad.write_bytes(b"not a plan")
    side = json.loads(sidecar.path_for(engine).read_text())
    sidecar.path_for(bad).write_text(json.dumps({**side, "plan_sha256": sha256(bad)}))
    with pytest.raises(SnnDeployError, match="could not load bad.plan") as err:
        TensorRTRunner(bad).activate()
    assert "earlier runner" not in str(err.value) and "Serialization" in str(err.value)


def test_bench_shows_what_tensorrt_cannot_build_as_a_status_row(stub, tiny_run, tmp_path):
    """A --noise graph graph on the tensorrt backend: the build's refusal (TensorRT would freeze its noise) is the
    row's status, and bench goes on with the other rows instead of stopping."""
    from snndeploy.bench.deploy import BenchConfig, run_bench

    (graph,) = export(tiny_run.path, ExportConfig(T=(2,), noise="graph", out=str(tmp_path / "g")))
    rows = run_bench([str(graph.path)], BenchConfig(backends=("tensorrt", "onnxruntime"), batches=(1,), Ts=(2,),
                                                    device="cuda", iters=1, limit_test=8, work=str(tmp_path / "w")))
    trt = [r for r in rows if r.backend == "tensorrt"]
    assert trt and all("fixes when it builds the engine" in r.status for r in trt), [r.status for r in rows]
    assert len(rows) > len(trt)  # the ONNX Runtime rows are still there
