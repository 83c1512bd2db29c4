"""An output that already exists is refused in one line naming it, --overwrite and -o; --overwrite replaces only
what snndeploy wrote there (an ONNX file with its facts, a Triton model folder's own files, an engine with its
sidecar), never a foreign file (docs/commands.md, "Existing outputs")."""

import pytest
from cli_helpers import bad, invoke
from conftest import make_checkpoint

from snndeploy.artifacts.naming import graph_name
from snndeploy.core.errors import SnnDeployError
from snndeploy.engine.build import BuildConfig, build_engine
from snndeploy.export.exporter import ExportConfig, export
from snndeploy.export.quantize import quantize_onnx


def test_export_refuses_an_existing_graph_and_overwrite_replaces_only_its_own(tiny_run, tmp_path):
    other = make_checkpoint(tmp_path / "other", "small-cnn").path  # another model of the same name and options
    (first,) = export(tiny_run.path, ExportConfig(out=str(tmp_path)))
    before = first.path.read_bytes()
    with pytest.raises(SnnDeployError) as caught:
        export(other, ExportConfig(out=str(tmp_path)))
    assert str(caught.value) == f"{first.path} already exists: --overwrite replaces it, or give -o another path"
    assert first.path.read_bytes() == before
    (again,) = export(other, ExportConfig(out=str(tmp_path), overwrite=True))
    assert again.path == first.path and again.path.read_bytes() != before
    first.path.write_bytes(b"someone's file under the same name")
    with pytest.raises(SnnDeployError, match="was not written by snndeploy and is never replaced: give -o"):
        export(tiny_run.path, ExportConfig(out=str(tmp_path), overwrite=True))
    assert first.path.read_bytes() == b"someone's file under the same name"


@pytest.mark.parametrize("fmt,suffix", [("triton", ""), ("triton-python", "_py")])
def test_triton_formats_follow_the_same_rule(tiny_run, tmp_path, fmt, suffix):
    (first,) = export(tiny_run.path, ExportConfig(out=str(tmp_path), format=fmt))
    folder = first.path.parent.parent
    (folder / "notes.txt").write_text("mine")
    config = (folder / "config.pbtxt").read_bytes()
    with pytest.raises(SnnDeployError, match="already exists: --overwrite replaces it, or give -o another path"):
        export(tiny_run.path, ExportConfig(out=str(tmp_path), format=fmt, max_batch=8))
    assert (folder / "config.pbtxt").read_bytes() == config
    export(tiny_run.path, ExportConfig(out=str(tmp_path), format=fmt, max_batch=8, overwrite=True))
    assert (folder / "config.pbtxt").read_bytes() != config and (folder / "notes.txt").read_text() == "mine"


def test_the_export_command_refuses_and_overwrites(tiny_run, tmp_path):
    out = tmp_path / "exports"
    assert invoke("export", tiny_run.path.parent, "-o", out).exit_code == 0
    (graph,) = out.glob("*.onnx")
    before = graph.read_bytes()
    other = make_checkpoint(tmp_path / "other", "small-cnn").path.parent
    err = bad("export", other, "-o", out)
    assert "already exists: --overwrite replaces it, or give -o another path" in " ".join(err.split())
    assert len(err.strip().splitlines()) == 1 and graph.read_bytes() == before
    r = invoke("export", other, "-o", out, "--overwrite")
    assert r.exit_code == 0, r.output
    assert graph.read_bytes() != before


def test_quantize_and_build_refuse_an_existing_output_before_any_work(tiny_run, tmp_path):
    (fp32,) = export(tiny_run.path, ExportConfig(out=str(tmp_path), inline=True))
    import dataclasses

    from snndeploy.artifacts import metadata

    facts = metadata.load(fp32.path)[1]
    target = fp32.path.with_name(graph_name(dataclasses.replace(facts, precision="int8")) + ".onnx")
    target.write_bytes(b"someone's")
    with pytest.raises(SnnDeployError, match="already exists: --overwrite replaces it"):
        quantize_onnx(fp32.path)  # refused before ModelOpt is imported or data loaded
    with pytest.raises(SnnDeployError, match="was not written by snndeploy and is never replaced"):
        quantize_onnx(fp32.path, overwrite=True)
    plan = tmp_path / "model.plan"
    plan.write_bytes(b"someone's engine")
    with pytest.raises(SnnDeployError, match="model.plan already exists: --overwrite replaces it"):
        build_engine(fp32.path, BuildConfig(out=str(plan)))  # before TensorRT is imported
    with pytest.raises(SnnDeployError, match="was not written by snndeploy and is never replaced"):
        build_engine(fp32.path, BuildConfig(out=str(plan), overwrite=True))
    assert target.read_bytes() == b"someone's" and plan.read_bytes() == b"someone's engine"
