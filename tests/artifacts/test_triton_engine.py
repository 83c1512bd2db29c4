"""TensorRT engines into a Triton repository: the sidecar's fields are checked before they name a file or reach
config.pbtxt, the plan must be the one its sidecar describes, and a failed write leaves the repository as it was."""

import errno
import json
import os
import re

import pytest

from snndeploy.artifacts import sidecar, triton
from snndeploy.artifacts.triton_engine import write_engine
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.facts import VERSION, ArtifactFacts
from snndeploy.core.hashing import sha256_bytes
from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.core.spec import DataSpec

mc = pytest.importorskip("tritonclient.grpc.model_config_pb2", reason="tritonclient not installed")
text_format = pytest.importorskip("google.protobuf.text_format")

SPEC = DataSpec("sample", 1, 28, 28, tuple("0123456789"), (0.1307,), (0.3081,))
FACTS = ArtifactFacts("small-cnn", SPEC, NeuronConfig(), T=5, stage=3, noise="frozen")
MODEL = "small-cnn_T5_trt"


def make_engine(folder, cc="8.7", plan=b"plan bytes", lo=1, hi=32, facts=FACTS, **override):
    """A plan and a sidecar as `snndeploy build` writes them, with ``override`` replacing engine keys (written as
    plain JSON, so that any value, NaN included, reaches the reader)."""
    engine = folder / f"e{len(list(folder.glob('*.plan')))}.plan"
    engine.write_bytes(plan)
    shapes = {"images": {"min": [lo, 1, 28, 28], "opt": [lo, 1, 28, 28], "max": [hi, 1, 28, 28]}}
    info = {"tensorrt": "10.3.0", "gpu": "NVIDIA Jetson AGX Orin", "compute_capability": cc, "shapes": shapes,
            "onnx_sha256": "0" * 64, "plan_sha256": sha256_bytes(plan), "max_batch": hi, **override}
    obj = {"format": sidecar.FORMAT, "version": VERSION, "facts": facts.to_dict(), **info}
    sidecar.path_for(engine).write_text(json.dumps(obj))
    return engine


def tree(root):
    """Every path under ``root`` with the bytes of its files: the repository's whole state."""
    if not root.exists():
        return None
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else None for p in sorted(root.rglob("*"))}


def parse(path):
    return text_format.Parse(path.read_text(), mc.ModelConfig())


@pytest.mark.parametrize("key, value, why", [
    ("compute_capability", '8.7" }\nplatform: "onnxruntime_onnx', "compute capability like"),
    ("compute_capability", "8.7\n", "compute capability like"),
    ("compute_capability", "../8.7", "compute capability like"),
    ("compute_capability", "87", "compute capability like"),
    ("compute_capability", "\u0668.\u0667", "compute capability like"),  # Arabic-Indic digits are digits to \d
    ("compute_capability", 8.7, "compute capability like"),
    ("tensorrt", '10.3.0"', "TensorRT version like"),
    ("tensorrt", "10.3.0\nplatform: x", "TensorRT version like"),
    ("tensorrt", 10.3, "TensorRT version like"),
    ("gpu", "Orin\nplatform: x", "GPU name on one line"),
    ("gpu", "", "GPU name on one line"),
    ("gpu", ["Orin"], "GPU name on one line"),
    ("plan_sha256", "y", "64 lowercase hex digits"),
    ("onnx_sha256", None, "64 lowercase hex digits"),
    ("build_s", float("nan"), "is not valid JSON: NaN is not JSON"),  # refused by the JSON reader itself
    ("workspace_bytes", "1 GiB", "a number of bytes"),
    ("trtexec", {"cmd": 1}, "a string or null"),
    ("max_batch", 64, "'max_batch' is 64, the profile's largest batch is 32"),
    ("shapes", {"images": {"min": [1, 1, 28, 28], "opt": [1, 1, 28, 28], "max": ["32", 1, 28, 28]}},
     "the max shape of 'images' must be"),
    ("shapes", {"images": {"min": [1, 1, 28, 28], "opt": [1, 1, 28, 28], "max": [32, 3, 28, 28]}},
     r"must be \[batch, 1, 28, 28\]"),
    ("shapes", {"images": {"min": [8, 1, 28, 28], "opt": [1, 1, 28, 28], "max": [32, 1, 28, 28]}},
     "min <= opt <= max"),
    ("shapes", {"images": {"min": [1, 1, 28, 28], "opt": [1, 1, 28, 28], "max": [32, 1, 28, 28]}, "noise": {}},
     "'shapes' must map every input"),
])
def test_bad_sidecar_field_is_one_line_and_writes_nothing(tmp_path, key, value, why):
    repo = tmp_path / "repo"
    write_engine(repo, make_engine(tmp_path, "9.0"))
    before = tree(repo)
    with pytest.raises(SnnDeployError, match=why) as info:
        write_engine(repo, make_engine(tmp_path, **{key: value}))
    assert len(str(info.value).splitlines()) == 1
    assert tree(repo) == before


def test_a_quote_in_the_compute_capability_never_reaches_config_pbtxt(tmp_path):
    # the reproduction: this value was written into config.pbtxt as a second `platform` field
    with pytest.raises(SnnDeployError, match="'compute_capability' must be a compute capability like"):
        write_engine(tmp_path / "repo", make_engine(tmp_path, '8.7" }\nplatform: "onnxruntime_onnx'))
    assert not (tmp_path / "repo").exists()
    with pytest.raises(SnnDeployError, match="compute capability must be major.minor digits"):
        triton.model_config("m", "tensorrt_plan", FACTS, cc_files={'8.7" }': "model_sm87.plan"})
    with pytest.raises(SnnDeployError, match="must be a plain file name"):
        triton.model_config("m", "tensorrt_plan", FACTS, cc_files={"8.7": "../model_sm87.plan"})


def test_plan_must_match_its_sidecar(tmp_path):
    repo = tmp_path / "repo"
    folder = write_engine(repo, make_engine(tmp_path, "9.0", plan=b"plan 9.0"))
    before = tree(repo)
    engine = make_engine(tmp_path, "8.7", plan=b"plan 8.7")
    engine.write_bytes(b"rebuilt plan")  # the sidecar still describes the old one
    with pytest.raises(SnnDeployError, match=r"the plan .*e1.plan does not match its sidecar e1.plan.json "
                                             r"\(rebuilt or replaced\?\)"):
        write_engine(repo, engine)
    assert tree(repo) == before
    engine.write_bytes(b"plan 8.7")
    write_engine(repo, engine)
    assert (folder / "1" / "model_sm87.plan").read_bytes() == b"plan 8.7"


def test_failed_engine_write_keeps_the_plans_already_there(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    folder = write_engine(repo, make_engine(tmp_path, "9.0", plan=b"plan 9.0"))
    write_engine(repo, make_engine(tmp_path, "8.7", plan=b"plan 8.7 old"))
    before = tree(repo)
    real, calls = triton.atomic.write_bytes, []

    def full_disk_after_the_plan(target, data):
        calls.append(target.name)
        if len(calls) == 3:  # config and labels written, then the plan: the disk fills up
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(target, data)

    monkeypatch.setattr(triton.atomic, "write_bytes", full_disk_after_the_plan)
    with pytest.raises(SnnDeployError, match=f"cannot write .*{MODEL}: No space left on device"):
        write_engine(repo, make_engine(tmp_path, "8.7", plan=b"plan 8.7 new"), overwrite=True)
    assert calls == ["config.pbtxt", "labels.txt", "model_sm87.plan"]
    assert tree(repo) == before
    monkeypatch.undo()
    write_engine(repo, make_engine(tmp_path, "8.7", plan=b"plan 8.7 new"), overwrite=True)
    assert (folder / "1" / "model_sm87.plan").read_bytes() == b"plan 8.7 new"
    assert (folder / "1" / "model_sm90.plan").read_bytes() == b"plan 9.0"
    assert dict(parse(folder / "config.pbtxt").cc_model_filenames) == {"9.0": "model_sm90.plan",
                                                                      "8.7": "model_sm87.plan"}
    assert sorted(p.name for p in repo.iterdir()) == [MODEL]


def test_kept_plan_entries_must_be_plain(tmp_path):
    repo = tmp_path / "repo"
    folder = write_engine(repo, make_engine(tmp_path, "9.0"))
    cfg = parse(folder / "config.pbtxt")
    cfg.cc_model_filenames["8.6"] = "../../outside.plan"
    (folder / "config.pbtxt").write_text(text_format.MessageToString(cfg))
    before = tree(repo)
    with pytest.raises(SnnDeployError, match="lists plan '../../outside.plan' for compute capability '8.6', which is "
                                             "not a plan file of its version folder"):
        write_engine(repo, make_engine(tmp_path, "8.7"))
    assert tree(repo) == before


def test_a_rebuilt_plan_for_the_same_gpu_replaces_the_old_one_only_with_overwrite(tmp_path):
    """The one rule for existing outputs: a plan of the same graph and GPU is refused in one line naming it,
    --overwrite and -o; another GPU's plan is added beside it without replacing anything."""
    repo = tmp_path / "repo"
    folder = write_engine(repo, make_engine(tmp_path, "8.7", plan=b"old plan"))
    write_engine(repo, make_engine(tmp_path, "9.0", plan=b"another GPU's plan"))
    before = tree(repo)
    rebuilt = make_engine(tmp_path, "8.7", plan=b"rebuilt plan")
    old = folder / "1" / "model_sm87.plan"
    with pytest.raises(SnnDeployError, match=f"^{re.escape(str(old))} already exists: --overwrite replaces it, or "
                                             "give -o another path$"):
        write_engine(repo, rebuilt)
    assert tree(repo) == before
    write_engine(repo, rebuilt, overwrite=True)
    assert old.read_bytes() == b"rebuilt plan"
    assert (folder / "1" / "model_sm90.plan").read_bytes() == b"another GPU's plan"


def test_overwrite_replaces_only_a_plan_the_config_record_lists(tmp_path):
    """A plan file no snndeploy config of this graph lists (dropped in by hand, or listed by a config without
    snndeploy's record) is never replaced, --overwrite or not."""
    repo = tmp_path / "repo"
    folder = write_engine(repo, make_engine(tmp_path, "9.0"))
    (folder / "1" / "model_sm87.plan").write_bytes(b"someone's plan")
    before = tree(repo)
    for overwrite, message in ((False, "already exists: --overwrite replaces it"),
                               (True, "model_sm87.plan was not written by snndeploy and is never replaced: give -o")):
        with pytest.raises(SnnDeployError, match=message):
            write_engine(repo, make_engine(tmp_path, "8.7"), overwrite=overwrite)
        assert tree(repo) == before
    (folder / "config.pbtxt").write_text('name: "small-cnn_T5_trt"\nplatform: "tensorrt_plan"\n'
                                         'cc_model_filenames { key: "8.7" value: "model_sm87.plan" }\n')
    with pytest.raises(SnnDeployError, match="model_sm87.plan was not written by snndeploy and is never replaced"):
        write_engine(repo, make_engine(tmp_path, "8.7"), overwrite=True)
    assert (folder / "1" / "model_sm87.plan").read_bytes() == b"someone's plan"
