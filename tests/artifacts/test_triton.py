"""Triton model repositories: config.pbtxt parses with Triton's own protobuf and matches the graph; every graph
option gets its own model; class names are checked before labels.txt; a model folder is written as a whole;
tritonclient stays optional."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import onnx
import pytest

from snndeploy.artifacts import metadata as onnx_meta
from snndeploy.artifacts import sidecar, triton
from snndeploy.artifacts.naming import graph_name
from snndeploy.artifacts.triton_engine import write_engine
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.facts import ArtifactFacts
from snndeploy.core.hashing import sha256
from snndeploy.core.install import hint
from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.core.spec import DataSpec
from snndeploy.export.exporter import ExportConfig, export

# A non-default value for every ExportConfig option that changes the graph; the others change no graph.
GRAPH_OPTIONS = {"T": (3,), "stage": 2, "alpha": 3.0, "beta": 0.25, "noise": "graph", "inline": True, "opset": 18,
                 "batch": "4", "fp16": True, "seed": 1}
NOT_GRAPH = {"trt", "format", "max_batch", "out", "overwrite"}


@pytest.fixture(scope="module")
def pb():
    mc = pytest.importorskip("tritonclient.grpc.model_config_pb2", reason="tritonclient not installed")
    return mc, pytest.importorskip("google.protobuf.text_format")


def parse(pb, path):
    mc, text_format = pb
    return text_format.Parse(path.read_text(), mc.ModelConfig())


def dims(value_info):
    return [d.dim_value if d.dim_value else -1 for d in value_info.type.tensor_type.shape.dim]


@pytest.mark.parametrize("kw, name", [({}, "small-cnn_T5"), ({"noise": "input"}, "small-cnn_T5_noise-input"),
                                      ({"batch": "4"}, "small-cnn_T5_batch4")])
def test_config_matches_onnx_graph(pb, tiny_run, tmp_path, kw, name):
    mc, _ = pb
    (e,) = export(tiny_run.path, ExportConfig(T=(5,), format="triton", out=str(tmp_path), **kw))
    folder = e.path.parents[1]
    cfg = parse(pb, folder / "config.pbtxt")
    graph = onnx.load(e.path)
    assert cfg.name == folder.name == name == graph_name(onnx_meta.read(graph))
    assert cfg.platform == "onnxruntime_onnx"
    static = "batch" in kw
    assert cfg.max_batch_size == (0 if static else 64) and cfg.HasField("dynamic_batching") is not static
    by_name = {i.name: i for i in graph.graph.input}
    assert [i.name for i in cfg.input] == list(by_name)
    for i in cfg.input:
        want = dims(by_name[i.name]) if static else dims(by_name[i.name])[1:]
        assert list(i.dims) == want and i.data_type == mc.TYPE_FP32
    (out,) = cfg.output
    assert out.name == "logits" and list(out.dims) == (dims(graph.graph.output[0]) if static else [10])
    assert out.label_filename == "labels.txt"
    assert (folder / "labels.txt").read_text().split() == [str(i) for i in range(10)]
    facts = json.loads(cfg.parameters["snndeploy"].string_value)
    assert facts == onnx_meta.read(graph).to_dict() and cfg.parameters["mean"].string_value == "0.1307"


def test_every_graph_option_is_listed():
    assert set(GRAPH_OPTIONS) | NOT_GRAPH == {f.name for f in dataclasses.fields(ExportConfig)}


def test_graph_options_never_share_a_model_or_a_file(pb, tiny_run, tmp_path):
    # the default export and one export per changed option: all different graphs, so all different names
    runs = [("default", {})] + [(key, {key: value}) for key, value in GRAPH_OPTIONS.items()]
    folders, files = {}, {}
    for label, kw in runs:
        (e,) = export(tiny_run.path, ExportConfig(format="triton", out=str(tmp_path / "repo"), **kw))
        folders[label] = e.path.parents[1].name
        (o,) = export(tiny_run.path, ExportConfig(out=str(tmp_path / "onnx"), **kw))
        files[label] = o.path.name
        assert o.path.name == f"{folders[label]}.onnx"  # one naming rule for both
    assert len(set(folders.values())) == len(runs), folders
    assert sorted(p.name for p in (tmp_path / "repo").iterdir()) == sorted(folders.values())
    assert len(set(files.values())) == len(runs), files


def write_plan(tmp_path, facts, cc, lo=1, hi=32):
    plan = tmp_path / f"e{cc}.plan"
    plan.write_bytes(b"plan bytes " + cc.encode())
    shapes = {"images": {"min": [lo, 1, 28, 28], "opt": [lo, 1, 28, 28], "max": [hi, 1, 28, 28]}}
    sidecar.write(plan, facts, {"tensorrt": "10.3.0", "gpu": "test", "compute_capability": cc,
                                "shapes": shapes, "onnx_sha256": "0" * 64, "plan_sha256": sha256(plan),
                                "max_batch": hi})
    return plan


def test_engine_models_per_compute_capability(pb, tiny_run, tmp_path):
    (e,) = export(tiny_run.path, ExportConfig(T=(5,), out=str(tmp_path / "onnx")))
    facts = onnx_meta.read(onnx.load(e.path))
    for cc in ("8.7", "9.0"):
        folder = write_engine(tmp_path / "repo", write_plan(tmp_path, facts, cc))
    cfg = parse(pb, folder / "config.pbtxt")
    assert cfg.name == folder.name == "small-cnn_T5_trt"
    assert cfg.platform == "tensorrt_plan" and cfg.max_batch_size == 32
    assert dict(cfg.cc_model_filenames) == {"8.7": "model_sm87.plan", "9.0": "model_sm90.plan"}
    assert (folder / "1" / "model_sm87.plan").read_bytes() == b"plan bytes 8.7"


def test_engine_keeps_plans_of_a_config_in_any_layout(pb, tiny_run, tmp_path):
    # a config.pbtxt as a person or another tool lays it out: fields over several lines, comments
    (e,) = export(tiny_run.path, ExportConfig(T=(5,), out=str(tmp_path / "onnx")))
    facts = onnx_meta.read(onnx.load(e.path))
    folder = write_engine(tmp_path / "repo", write_plan(tmp_path, facts, "8.7"))
    (folder / "config.pbtxt").write_text('# edited by hand\nname: "small-cnn_T5_trt"\nplatform: "tensorrt_plan"\n'
                                         'cc_model_filenames [\n  {\n    key: "8.7"\n    value: "model_sm87.plan"\n'
                                         '  }\n]\n')
    write_engine(tmp_path / "repo", write_plan(tmp_path, facts, "9.0"))
    cfg = parse(pb, folder / "config.pbtxt")
    assert dict(cfg.cc_model_filenames) == {"8.7": "model_sm87.plan", "9.0": "model_sm90.plan"}
    (folder / "config.pbtxt").write_text("cc_model_filenames { key: 8.7 }\n")
    with pytest.raises(SnnDeployError, match="is not a Triton model config"):
        write_engine(tmp_path / "repo", write_plan(tmp_path, facts, "9.0"))


def test_a_graph_and_its_engine_share_a_repository(pb, tiny_run, tmp_path):
    (e,) = export(tiny_run.path, ExportConfig(T=(5,), format="triton", out=str(tmp_path / "repo")))
    facts = onnx_meta.read(onnx.load(e.path))
    folder = write_engine(tmp_path / "repo", write_plan(tmp_path, facts, "8.7"))
    assert folder != e.path.parents[1]
    assert parse(pb, e.path.parents[1] / "config.pbtxt").platform == "onnxruntime_onnx"
    assert parse(pb, folder / "config.pbtxt").platform == "tensorrt_plan"
    assert sorted(p.name for p in (e.path.parents[1] / "1").iterdir()) == ["model.onnx"]


@pytest.fixture
def graph_facts(tiny_run, tmp_path):
    (e,) = export(tiny_run.path, ExportConfig(T=(5,), out=str(tmp_path / "onnx")))
    return onnx_meta.read(onnx.load(e.path))


def test_engine_max_batch_fits_every_plan_profile(pb, graph_facts, tmp_path):
    repo = tmp_path / "repo"
    with pytest.raises(SnnDeployError, match=r"--max-batch 64 is outside e8.7.plan's profile \(batch 1 to 32\)"):
        write_engine(repo, write_plan(tmp_path, graph_facts, "8.7"), 64)
    assert not repo.exists()
    folder = write_engine(repo, write_plan(tmp_path, graph_facts, "8.7"), 16)
    assert parse(pb, folder / "config.pbtxt").max_batch_size == 16
    # Triton's dynamic batcher sends any batch from 1 up: a profile that starts higher cannot serve it
    with pytest.raises(SnnDeployError, match="profile starts at batch 2, but Triton sends batches from 1 up"):
        write_engine(repo, write_plan(tmp_path, graph_facts, "9.0", lo=2))
    # a second GPU's plan with a larger profile keeps the limit the first plan takes
    write_engine(repo, write_plan(tmp_path, graph_facts, "9.0", hi=64))
    assert parse(pb, folder / "config.pbtxt").max_batch_size == 16
    with pytest.raises(SnnDeployError, match="--max-batch 32 exceeds the max_batch_size 16 that the plans for "
                                             "compute capability 8.7"):
        write_engine(repo, write_plan(tmp_path, graph_facts, "9.0", hi=64), 32)


def test_fixed_batch_engine_takes_no_max_batch(pb, graph_facts, tmp_path):
    fixed = dataclasses.replace(graph_facts, batch=4)
    with pytest.raises(SnnDeployError, match="takes batch 4 only; --max-batch applies to engines built from a "
                                             "--batch dynamic export"):
        write_engine(tmp_path / "repo", write_plan(tmp_path, fixed, "8.7", lo=4, hi=4), 8)
    folder = write_engine(tmp_path / "repo", write_plan(tmp_path, fixed, "8.7", lo=4, hi=4))
    assert parse(pb, folder / "config.pbtxt").max_batch_size == 0


def test_engine_folder_holds_only_this_graphs_plans(pb, graph_facts, tmp_path):
    repo = tmp_path / "repo"
    folder = write_engine(repo, write_plan(tmp_path, graph_facts, "8.7"))
    # plans of other weights under the same name would serve different networks on different GPUs
    retrained = dataclasses.replace(graph_facts, weights_sha256="f" * 64)
    with pytest.raises(SnnDeployError, match="holds engines of another graph"):
        write_engine(repo, write_plan(tmp_path, retrained, "9.0"))
    # a folder holding another kind of model is refused, not turned into a TensorRT model around its files
    onnx_model = folder / "config.pbtxt"
    onnx_model.write_text(onnx_model.read_text().replace('platform: "tensorrt_plan"', 'platform: "onnxruntime_onnx"'))
    (folder / "1" / "model.onnx").write_bytes(b"onnx")
    with pytest.raises(SnnDeployError, match="is a 'onnxruntime_onnx' model, not TensorRT engines"):
        write_engine(repo, write_plan(tmp_path, graph_facts, "9.0"))
    assert parse(pb, onnx_model).platform == "onnxruntime_onnx"
    # a listed plan whose file is gone is dropped rather than kept for Triton to fail on
    (folder / "1" / "model.onnx").unlink()
    write_engine(tmp_path / "repo2", write_plan(tmp_path, graph_facts, "8.7"))
    second = tmp_path / "repo2" / folder.name
    write_engine(tmp_path / "repo2", write_plan(tmp_path, graph_facts, "9.0"))
    (second / "1" / "model_sm87.plan").unlink()
    write_engine(tmp_path / "repo2", write_plan(tmp_path, graph_facts, "9.0"), overwrite=True)
    assert dict(parse(pb, second / "config.pbtxt").cc_model_filenames) == {"9.0": "model_sm90.plan"}


def test_engine_errors(tmp_path):
    plan = tmp_path / "e.plan"
    with pytest.raises(SnnDeployError, match="engine not found"):
        write_engine(tmp_path / "repo", plan)
    plan.write_bytes(b"x")
    with pytest.raises(SnnDeployError, match="no sidecar"):
        write_engine(tmp_path / "repo", plan)
    (tmp_path / "e.plan.json").write_text("{}")
    with pytest.raises(SnnDeployError, match="not an snndeploy engine sidecar"):
        write_engine(tmp_path / "repo", plan)


def test_unwritable_repository(pb, tiny_run, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SnnDeployError, match="cannot write"):
        export(tiny_run.path, ExportConfig(format="triton", out=str(tmp_path / "file" / "repo")))


# Without tritonclient: the package imports, ONNX export works, a Triton export is a one-line error naming the
# extra to install, and it writes nothing.
WITHOUT_TRITONCLIENT = """
import sys
sys.modules["tritonclient"] = None  # import tritonclient now raises ImportError
from pathlib import Path
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.hashing import sha256
from snndeploy.export.exporter import ExportConfig, export
import snndeploy.artifacts.triton
ckpt, out = sys.argv[1], Path(sys.argv[2])
export(ckpt, ExportConfig(out=str(out / "onnx")))
try:
    export(ckpt, ExportConfig(format="triton", out=str(out / "repo")))
except SnnDeployError as e:
    print("error:", e)
print("wrote:", sorted(p.name for p in out.rglob("*")))
"""


def test_tritonclient_is_optional(tiny_run, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", WITHOUT_TRITONCLIENT, str(tiny_run.path), str(tmp_path)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"error: tritonclient.grpc.model_config_pb2 is not installed: {hint('triton')}" in r.stdout
    assert "wrote: ['onnx', 'small-cnn_T5.onnx']" in r.stdout


# Model folders are written as a whole: assembled beside the old one, then swapped in.
SPEC = DataSpec("sample", 1, 28, 28, tuple("0123456789"), (0.1307,), (0.3081,))
FACTS = ArtifactFacts("small-cnn", SPEC, NeuronConfig(), T=5, stage=3, noise="frozen")


def tree(root):
    """Every path under ``root`` with the bytes of its files: the repository's whole state."""
    if not root.exists():
        return None
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else None for p in sorted(root.rglob("*"))}


def with_class_names(names):
    """FACTS with class names the DataSpec would refuse: the writer must not trust its input."""
    spec = DataSpec("sample", 1, 28, 28, ("a",), (0.1307,), (0.3081,))
    object.__setattr__(spec, "class_names", tuple(names))
    return dataclasses.replace(FACTS, data=spec)


@pytest.mark.parametrize("names, why", [
    (["cat", "dog\nbird", "fish"], "class name 1 'dog\\\\nbird' holds a line break"),
    (["cat", "dog\r", "fish"], "class name 1 'dog\\\\r' holds a line break"),
    (["cat", "a\u2028b"], "class name 1 .* holds a line break"),
    (["cat", "tab\there"], "holds a line break or another control character"),
    (["cat", ""], "class name 1 must be a non-empty string"),
    (["cat", "   "], "class name 1 must be a non-empty string"),
    (["cat", 3], "class name 1 must be a non-empty string, got 3"),
    (["cat", "dog", "cat"], "class name 'cat' appears twice"),
    ([], "needs its class names"),
])
def test_class_names_are_checked_before_labels_txt(pb, tmp_path, names, why):
    repo = tmp_path / "repo"
    triton.write_model(repo, FACTS, "onnxruntime_onnx", {"model.onnx": b"graph"})
    before = tree(repo)
    with pytest.raises(SnnDeployError, match=why) as info:
        triton.write_model(repo, with_class_names(names), "onnxruntime_onnx", {"model.onnx": b"other"})
    assert len(str(info.value).splitlines()) == 1
    assert tree(repo) == before
    folder = triton.write_model(tmp_path / "ok", with_class_names(["a cat", "chien", "猫"]), "onnxruntime_onnx",
                                {"model.onnx": b"graph"})
    assert (folder / "labels.txt").read_text(encoding="utf-8").split("\n") == ["a cat", "chien", "猫", ""]


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), RuntimeError("killed")])
@pytest.mark.parametrize("fail_at", [1, 2, 3])
def test_failure_between_file_writes_leaves_the_repository_as_it_was(pb, tmp_path, monkeypatch, failure, fail_at):
    repo = tmp_path / "repo"
    folder = triton.write_model(repo, FACTS, "onnxruntime_onnx", {"model.onnx": b"old graph"})
    (folder / "notes").mkdir()
    (folder / "notes" / "model.onnx").write_bytes(b"a folder someone added")
    before = tree(repo)
    real, calls = triton.atomic.write_bytes, []

    def fail_on_call(target, data):
        calls.append(target.name)
        if len(calls) == fail_at:
            raise failure
        return real(target, data)

    monkeypatch.setattr(triton.atomic, "write_bytes", fail_on_call)
    expect = SnnDeployError if isinstance(failure, OSError) else RuntimeError
    with pytest.raises(expect):
        triton.write_model(repo, FACTS, "onnxruntime_onnx", {"model.onnx": b"new graph"})
    assert tree(repo) == before  # no half model folder, no temporary folder
    # a repository that did not exist is not left behind either
    calls.clear()
    with pytest.raises(expect):
        triton.write_model(tmp_path / "new" / "repo", FACTS, "onnxruntime_onnx", {"model.onnx": b"new graph"})
    assert not (tmp_path / "new").exists()
    monkeypatch.undo()
    triton.write_model(repo, FACTS, "onnxruntime_onnx", {"model.onnx": b"new graph"})
    assert (folder / "1" / "model.onnx").read_bytes() == b"new graph"
    assert (folder / "notes" / "model.onnx").read_bytes() == b"a folder someone added"  # kept, as before
    assert sorted(p.name for p in repo.iterdir()) == [folder.name]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
def test_an_existing_folder_is_exchanged_in_one_step(pb, tmp_path, monkeypatch):
    real, swaps = triton._exchange, []
    monkeypatch.setattr(triton, "_exchange", lambda a, b: swaps.append(real(a, b)) or swaps[-1])
    folder = triton.write_model(tmp_path, FACTS, "onnxruntime_onnx", {"model.onnx": b"old graph"})
    assert swaps == []  # a new folder is simply renamed into place
    triton.write_model(tmp_path, FACTS, "onnxruntime_onnx", {"model.onnx": b"new graph"})
    assert swaps == [True] and (folder / "1" / "model.onnx").read_bytes() == b"new graph"
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder.name]


def test_swap_without_an_atomic_exchange(pb, tmp_path, monkeypatch):
    # where renameat2 is missing, the old folder is moved aside, the new one in, and the old one back on failure
    repo = tmp_path / "repo"
    folder = triton.write_model(repo, FACTS, "onnxruntime_onnx", {"model.onnx": b"old graph"})
    monkeypatch.setattr(triton, "_exchange", lambda a, b: False)
    triton.write_model(repo, FACTS, "onnxruntime_onnx", {"model.onnx": b"graph 2"})
    assert (folder / "1" / "model.onnx").read_bytes() == b"graph 2"
    assert sorted(p.name for p in repo.iterdir()) == [folder.name]
    before = tree(repo)
    real = os.rename

    def fail_moving_in(src, dst):
        if str(dst) == str(folder) and triton.atomic.TEMP_SUFFIX in str(src) and not str(src).endswith(".old"):
            # the new folder, not the old one moving back
            raise OSError(5, "Input/output error")
        return real(src, dst)

    monkeypatch.setattr(triton.os, "rename", fail_moving_in)
    with pytest.raises(SnnDeployError, match="cannot write .*: Input/output error"):
        triton.write_model(repo, FACTS, "onnxruntime_onnx", {"model.onnx": b"graph 3"})
    assert tree(repo) == before


def test_model_folder_that_is_a_file_or_a_link_is_refused(pb, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    name = triton.model_name(FACTS)
    (repo / name).write_text("x")
    with pytest.raises(SnnDeployError, match="is not a model folder"):
        triton.write_model(repo, FACTS, "onnxruntime_onnx", {"model.onnx": b"graph"})
    (repo / name).unlink()
    (tmp_path / "elsewhere").mkdir()
    (repo / name).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(SnnDeployError, match="is not a model folder"):
        triton.write_model(repo, FACTS, "onnxruntime_onnx", {"model.onnx": b"graph"})
    assert not list((tmp_path / "elsewhere").iterdir())


def test_nothing_is_formatted_into_config_pbtxt(pb, tmp_path):
    # names and values reach config.pbtxt only through Triton's protobuf: quotes and newlines stay in their string
    facts = dataclasses.replace(FACTS)
    object.__setattr__(facts, "model", 'm" }\nplatform: "x')
    folder = triton.write_model(tmp_path, facts, "onnxruntime_onnx", {"model.onnx": b"graph"})
    cfg = parse(pb, folder / "config.pbtxt")
    assert cfg.platform == "onnxruntime_onnx" and cfg.name == folder.name == "m____platform___x_T5"
    assert json.loads(cfg.parameters["snndeploy"].string_value)["model"] == 'm" }\nplatform: "x'


def test_foreign_version_folders_are_refused_not_served(pb, tmp_path):
    """Triton's default version policy serves the highest version: a kept 2/ of another model would be served
    instead of this export. Such a folder is refused in one line and left as it was."""
    repo = tmp_path / "repo"
    folder = triton.write_model(repo, FACTS, "onnxruntime_onnx", {"model.onnx": b"old graph"})
    for version in ("2", "10"):
        (folder / version).mkdir()
        (folder / version / "model.onnx").write_bytes(b"another model")
    before = tree(repo)
    with pytest.raises(SnnDeployError, match=r"holds version folder\(s\) 2/, 10/ that snndeploy did not write; Triton "
                                             "would serve the highest version, not this export"):
        triton.write_model(repo, FACTS, "onnxruntime_onnx", {"model.onnx": b"new graph"})
    assert tree(repo) == before
    # its own version folder is replaced, as before
    for version in ("2", "10"):
        shutil.rmtree(folder / version)
    triton.write_model(repo, FACTS, "onnxruntime_onnx", {"model.onnx": b"new graph"})
    assert (folder / "1" / "model.onnx").read_bytes() == b"new graph"


def test_staging_is_a_recognisable_temp_folder_removed_when_its_writer_died(pb, tmp_path, monkeypatch):
    """A killed export leaves its staging folder: named by snndeploy's temp pattern with the writer's pid, so the
    next write removes it; a foreign '.x.tmp' file or folder is never touched."""
    repo = tmp_path / "repo"
    repo.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    leftover = repo / f".{triton.model_name(FACTS)}.{dead}-abc123{triton.atomic.TEMP_SUFFIX}"
    (leftover / "1").mkdir(parents=True)
    (leftover / "1" / "model.onnx").write_bytes(b"half a model")
    foreign_dir, foreign_file = repo / ".x.tmp", repo / ".notes.tmp"
    foreign_dir.mkdir()
    foreign_file.write_text("mine")
    real, staged = triton._fsync_tree, []
    monkeypatch.setattr(triton, "_fsync_tree", lambda root: staged.append(root) or real(root))
    folder = triton.write_model(repo, FACTS, "onnxruntime_onnx", {"model.onnx": b"graph"})
    assert not leftover.exists()
    assert foreign_dir.is_dir() and foreign_file.read_text() == "mine"
    (root,) = staged
    assert root.parent.parent == repo and triton.atomic._TEMP.fullmatch(root.parent.name)
    assert str(os.getpid()) in root.parent.name
    assert sorted(p.name for p in repo.iterdir()) == sorted([folder.name, ".x.tmp", ".notes.tmp"])
    # the model folder is readable by a server running as another user (the temp folder itself is private)
    assert (folder.stat().st_mode & 0o777) == (0o777 & ~current_umask())


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_planted_link_or_fifo_in_place_of_a_written_file_is_refused(pb, tmp_path):
    repo = tmp_path / "repo"
    folder = triton.write_model(repo, FACTS, "onnxruntime_onnx", {"model.onnx": b"graph"})
    target = tmp_path / "precious"
    target.write_text("keep")
    (folder / "labels.txt").unlink()
    (folder / "labels.txt").symlink_to(target)
    before = tree(repo)
    with pytest.raises(SnnDeployError, match="labels.txt is not a regular file .* and would be replaced"):
        triton.write_model(repo, FACTS, "onnxruntime_onnx", {"model.onnx": b"graph 2"})
    assert tree(repo) == before and target.read_text() == "keep"
