"""Engine building: argument handling, profiles, precision rules and sidecars, tested without TensorRT;
the real build runs only where TensorRT and a GPU are present."""

import dataclasses
import importlib.util
import json
import re
import shlex
from pathlib import Path

import pytest

from snndeploy.artifacts import sidecar
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.facts import ArtifactFacts
from snndeploy.core.install import tensorrt_hint
from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.core.spec import DataSpec
from snndeploy.engine.build import (
    BuildConfig,
    build_engine,
    check_dla,
    check_precision,
    parse_batch,
    plan_shapes,
    trtexec_command,
)

HAVE_TRT = importlib.util.find_spec("tensorrt") is not None
SPEC = DataSpec("sample", 1, 28, 28, tuple("0123456789"), (0.1307,), (0.3081,))
FACTS = ArtifactFacts("small-cnn", SPEC, NeuronConfig(), T=5, stage=3, noise="input",
                      noise_inputs={"noise.0.0": (32, 28, 28)})


def test_config_and_batch_parsing():
    assert parse_batch("1,8,64") == (1, 8, 64) and parse_batch(None) is None
    for bad in ("1,8", "a,b,c"):
        with pytest.raises(SnnDeployError, match="MIN,OPT,MAX"):
            parse_batch(bad)
    with pytest.raises(SnnDeployError, match="1 <= MIN <= OPT <= MAX"):
        BuildConfig(batch=(8, 4, 64))
    with pytest.raises(SnnDeployError, match="precision must be one of"):
        BuildConfig(precision="int4")
    with pytest.raises(SnnDeployError, match="workspace"):
        BuildConfig(workspace_gb=0)


def test_profile_shapes_cover_every_input():
    shapes = plan_shapes(FACTS, BuildConfig(batch=(1, 8, 64)))
    assert shapes["images"] == {"min": [1, 1, 28, 28], "opt": [8, 1, 28, 28], "max": [64, 1, 28, 28]}
    assert shapes["noise.0.0"]["max"] == [64, 32, 28, 28]
    fixed = dataclasses.replace(FACTS, batch=4)
    assert plan_shapes(fixed, BuildConfig())["images"]["min"] == [4, 1, 28, 28]
    with pytest.raises(SnnDeployError, match="fixed batch of 4"):
        plan_shapes(fixed, BuildConfig(batch=(1, 4, 8)))
    banked = dataclasses.replace(FACTS, noise="graph", noise_inputs={}, max_batch=16)  # a bank for 16 samples
    assert plan_shapes(banked, BuildConfig())["images"]["max"] == [16, 1, 28, 28]
    with pytest.raises(SnnDeployError, match="noise bank serves batches up to 16"):
        plan_shapes(banked, BuildConfig(batch=(1, 8, 32)))


def test_precision_must_come_from_the_graph(tmp_path):
    check_precision(FACTS, "fp32", tmp_path / "m.onnx")
    check_precision(dataclasses.replace(FACTS, precision="fp16"), "fp16", tmp_path / "m.onnx")
    with pytest.raises(SnnDeployError, match="m.onnx is an fp16 graph; for a fp32 engine export without --fp16"):
        check_precision(dataclasses.replace(FACTS, precision="fp16"), "fp32", tmp_path / "m.onnx")
    with pytest.raises(SnnDeployError, match="export with --fp16"):
        check_precision(FACTS, "fp16", tmp_path / "m.onnx")
    with pytest.raises(SnnDeployError, match="snndeploy quantize"):
        check_precision(FACTS, "int8", tmp_path / "m.onnx")


def test_workspace_is_whole_mib_and_dla_core_is_checked():
    assert BuildConfig(workspace_gb=2).workspace_bytes == 2 << 30
    assert BuildConfig(workspace_gb=0.3).workspace_bytes == 307 << 20  # what trtexec's --memPoolSize can say
    assert BuildConfig(workspace_gb=1e-6).workspace_bytes == 1 << 20
    assert BuildConfig(dla_core=1).dla_core == 1
    with pytest.raises(SnnDeployError, match="--dla-core must be a DLA core number >= 0"):
        BuildConfig(dla_core=-1)


def test_trtexec_command_builds_the_same_engine():
    shapes = plan_shapes(FACTS, BuildConfig(batch=(1, 8, 64)))
    cfg = BuildConfig(batch=(1, 8, 64), workspace_gb=1.5, timing_cache="cache dir/t.cache")
    args = shlex.split(trtexec_command(Path("m.onnx"), Path("out/m.plan"), shapes, cfg))
    assert args == ["trtexec", "--onnx=m.onnx", "--saveEngine=out/m.plan",
                    "--minShapes=images:1x1x28x28,noise.0.0:1x32x28x28",
                    "--optShapes=images:8x1x28x28,noise.0.0:8x32x28x28",
                    "--maxShapes=images:64x1x28x28,noise.0.0:64x32x28x28",
                    "--memPoolSize=workspace:1536", "--stronglyTyped", "--noTF32", "--avgTiming=1",
                    "--profilingVerbosity=detailed", "--timingCacheFile=cache dir/t.cache",
                    "--skipInference"]
    dla = shlex.split(trtexec_command(Path("m.onnx"), Path("m.plan"), shapes, BuildConfig(dla_core=1)))
    assert dla[-3:] == ["--useDLACore=1", "--allowGPUFallback", "--skipInference"]
    assert not any(a.startswith("--timingCacheFile") for a in dla)
    # a name with ':' is quoted (trtexec splits on the last ':'); a static model takes no shapes at all
    odd = {"in:0": {"min": [1, 2], "opt": [1, 2], "max": [4, 2]}}
    assert "--minShapes='in:0':1x2" in shlex.split(trtexec_command(Path("m.onnx"), Path("m.plan"), odd, cfg))
    fixed = shlex.split(trtexec_command(Path("m.onnx"), Path("m.plan"), shapes, cfg, dynamic=False))
    assert not any("Shapes=" in a for a in fixed)


def test_dla_needs_a_low_precision_graph_and_a_tensorrt_that_builds_for_it():
    fp16 = dataclasses.replace(FACTS, precision="fp16")
    for ok in ("11.4.1", "11.5.0"):
        check_dla(fp16, 0, ok)
    # 10.0 to 10.7 build DLA engines weakly typed only (their trtexec sets kFP16 for DLA); 10.8 to 11.4.0 have no DLA
    for no in ("10.0.1", "10.3.0.26", "10.7.0", "10.8.0", "10.16.1.11", "11.0.0", "11.3.0", "11.4.0"):
        with pytest.raises(SnnDeployError, match=f"TensorRT {re.escape(no)} cannot build a strongly typed network "
                                                 "for DLA.*JetPack 6"):
            check_dla(fp16, 0, no)
    with pytest.raises(SnnDeployError, match="DLA runs fp16 and int8 networks only, this graph is fp32"):
        check_dla(FACTS, 0)


def test_dla_needs_static_shapes():
    fp16 = dataclasses.replace(FACTS, precision="fp16")
    check_dla(fp16, 0, shapes=plan_shapes(fp16, BuildConfig(batch=(8, 8, 8))))
    check_dla(dataclasses.replace(fp16, batch=4), 0, shapes=plan_shapes(dataclasses.replace(fp16, batch=4),
                                                                           BuildConfig()))
    for batch in (None, (1, 8, 8), (8, 8, 16)):
        with pytest.raises(SnnDeployError, match="DLA needs static shapes"):
            check_dla(fp16, 0, shapes=plan_shapes(fp16, BuildConfig(batch=batch)))


def test_default_profile_is_tuned_for_the_largest_batch():
    # Triton's dynamic batcher and bench run batches up to 64: TensorRT tunes kernels for OPT
    assert plan_shapes(FACTS, BuildConfig())["images"] == {"min": [1, 1, 28, 28], "opt": [64, 1, 28, 28],
                                                           "max": [64, 1, 28, 28]}
    banked = dataclasses.replace(FACTS, noise="graph", noise_inputs={}, max_batch=16)
    assert plan_shapes(banked, BuildConfig())["images"]["opt"] == [16, 1, 28, 28]
    assert plan_shapes(FACTS, BuildConfig(batch=(1, 1, 64)))["images"]["opt"] == [1, 1, 28, 28]


def test_sidecar_roundtrip_and_compatibility(engine_with_sidecar):
    facts, info = sidecar.read(engine_with_sidecar)
    assert facts.T == 5 and facts.precision == "fp32" and info["shapes"]["images"]["max"] == [64, 1, 28, 28]
    sidecar.check_compatible(info, "10.3.0", "8.7")
    # TensorRT refuses plans of any other release, a patch or build number apart included
    for other in ("10.3.1", "10.3.0.26", "10.4.0", "11.0.0"):
        with pytest.raises(SnnDeployError, match=f"built with TensorRT 10.3.0, this machine has {re.escape(other)}; "
                                                 "engines load only on the exact TensorRT version"):
            sidecar.check_compatible(info, other, "8.7")
    with pytest.raises(SnnDeployError, match="built for Orin .* this GPU has compute capability 9.0"):
        sidecar.check_compatible(info, "10.3.0", "9.0")


def test_sidecar_errors(tmp_path):
    plan = tmp_path / "m.plan"
    plan.write_bytes(b"plan")
    with pytest.raises(SnnDeployError, match="has no sidecar"):
        sidecar.read(plan)
    sidecar.path_for(plan).write_text("{not json")
    with pytest.raises(SnnDeployError, match="not valid JSON"):
        sidecar.read(plan)
    sidecar.path_for(plan).write_text(json.dumps({"format": "other"}))
    with pytest.raises(SnnDeployError, match="not an snndeploy engine sidecar"):
        sidecar.read(plan)
    info = {"tensorrt": "10.3.0", "gpu": "Orin", "compute_capability": "8.7", "onnx_sha256": "0", "plan_sha256": "0"}
    with pytest.raises(SnnDeployError, match="lacks shapes"):
        sidecar.write(plan, FACTS, info)
    with pytest.raises(SnnDeployError, match="no key\\(s\\) precision"):
        sidecar.write(plan, FACTS, {**info, "shapes": {}, "precision": "fp32"})
    sidecar.write(plan, FACTS, {**info, "shapes": {}})
    with pytest.raises(SnnDeployError, match="'shapes' must map every input"):
        sidecar.read(plan)


@pytest.mark.skipif(HAVE_TRT, reason="TensorRT is installed here")
def test_build_names_what_is_missing(tiny_run, tmp_path):
    from snndeploy.export.exporter import ExportConfig, export

    (e,) = export(tiny_run.path, ExportConfig(out=str(tmp_path)))
    with pytest.raises(SnnDeployError, match="TensorRT is not installed: " + re.escape(str(tensorrt_hint()))):
        build_engine(e.path, BuildConfig())
    assert not list(tmp_path.glob("*.plan"))


@pytest.mark.gpu
@pytest.mark.skipif(not HAVE_TRT, reason="needs TensorRT and an NVIDIA GPU (pip install 'snndeploy[gpu]')")
def test_real_build_and_run(tiny_run, tmp_path):
    import numpy as np

    from snndeploy.export.exporter import ExportConfig, export
    from snndeploy.runners.onnxruntime import OnnxRuntimeRunner
    from snndeploy.runners.tensorrt import TensorRTRunner

    (e,) = export(tiny_run.path, ExportConfig(T=(5,), noise="input", out=str(tmp_path)))
    engine, info = build_engine(e.path, BuildConfig(batch=(1, 8, 16)))
    trt_runner, ort_runner = TensorRTRunner(engine).activate(), OnnxRuntimeRunner(e.path).activate()
    x = np.random.default_rng(0).standard_normal((8, 1, 28, 28)).astype(np.float32)
    noise = ort_runner.draw_noise(8, np.random.default_rng(0))
    assert (trt_runner.infer(x, noise).argmax(1) == ort_runner.infer(x, noise).argmax(1)).mean() >= 0.99


@pytest.mark.skipif(HAVE_TRT, reason="TensorRT is installed here")
def test_build_refuses_in_one_line_before_tensorrt(tiny_run, tmp_path):
    """What TensorRT would build into something else is refused on any machine, TensorRT or not: the refusal
    comes before the import (here TensorRT is missing, so any later check would say so instead)."""
    from cli_helpers import invoke

    from snndeploy.export.exporter import ExportConfig, export

    (banked,) = export(tiny_run.path, ExportConfig(T=(2,), noise="graph", out=str(tmp_path)))
    (fp16,) = export(tiny_run.path, ExportConfig(T=(2,), fp16=True, out=str(tmp_path)))
    for args, message in [((banked.path,), "draws noise with RandomUniform"),
                          ((fp16.path, "--precision", "fp16", "--dla-core", 0), "DLA needs static shapes")]:
        r = invoke("build", *args)
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert r.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), r.output
        assert message in lines[0] and "TensorRT is not installed" not in lines[0], lines[0]
    # accepted frozen noise goes on to the build: here, to the missing TensorRT
    r = invoke("build", banked.path, "--frozen-noise")
    assert r.exit_code == 2 and "TensorRT is not installed" in r.stderr, r.output
    assert not list(tmp_path.glob("*.plan"))


def test_a_fifo_for_the_timing_cache_is_one_line_before_tensorrt(tmp_path):
    """Polygraphy opens the timing cache by path: a FIFO there would block the build (issue 20, item 4)."""
    import os

    from conftest import make_checkpoint

    from snndeploy.export.exporter import ExportConfig, export

    make_checkpoint(tmp_path / "ck", "small-cnn")
    (e,) = export(tmp_path / "ck", ExportConfig(T=(1,), out=str(tmp_path / "onnx")))
    os.mkfifo(tmp_path / "cache")
    with pytest.raises(SnnDeployError, match=r"^timing cache .*cache is not a regular file$"):
        build_engine(e.path, BuildConfig(timing_cache=str(tmp_path / "cache")))
