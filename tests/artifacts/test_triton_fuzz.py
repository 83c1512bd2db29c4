"""Fuzzing the Triton writers: engine sidecars with wrong types, quotes, newlines, braces and NaN, and class-name
lists, give either a model whose config.pbtxt parses back (Triton's protobuf) into exactly the values written, or a
one-line SnnDeployError that leaves the repository as it was; never another exception, never an injected field."""

import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

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
PLAN = b"plan bytes"
SHAPES = {"images": {"min": [1, 1, 28, 28], "opt": [4, 1, 28, 28], "max": [32, 1, 28, 28]}}
GOOD = {"tensorrt": "10.3.0.26", "gpu": "NVIDIA H200", "compute_capability": "9.0", "shapes": SHAPES,
        "onnx_sha256": "0" * 64, "plan_sha256": sha256_bytes(PLAN), "max_batch": 32, "onnx": "m.onnx",
        "build_s": 1.5, "workspace_bytes": 1 << 30, "timing_cache": None, "dla_core": None, "trtexec": "trtexec"}
# the fields a config.pbtxt of ours may hold; anything else parsed back was injected
FIELDS = {"name", "platform", "max_batch_size", "input", "output", "dynamic_batching", "cc_model_filenames",
          "parameters", "default_model_filename"}
PARAMETERS = {"mean", "std", "T", "stage", "snndeploy"}
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# strings aimed at the text format (quotes, braces, newlines, a second field) and at file names
NASTY = st.sampled_from(['8.7"', "8.7\n", '8.7" }\nplatform: "onnxruntime_onnx', "{", "}", "8.7 }", " 8.7", "87",
                         "8.", ".7", "10.0", "12.1", "1.21", "NaN", "nan", "\u0668.\u0667", "8.7\x00", "../8.7", "8/7",
                         "10.3.0", "10.3.0\n", '10.3.0"', "10.0.0b6", "8.6.1.post1", "Orin", "Orin\r\nx", "\u2028",
                         "", "0" * 64, "F" * 64, "a" * 64 + "\n", "#", "'", "\\"])
JSON = st.recursive(st.none() | st.booleans() | st.integers(-2, 2**63) | st.floats(allow_nan=True) | NASTY
                    | st.text(max_size=12), lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)
PROFILE = st.fixed_dictionaries({"min": st.lists(st.integers(-1, 40), min_size=4, max_size=5),
                                 "opt": st.just([4, 1, 28, 28]), "max": st.just([32, 1, 28, 28])})
# every key, and the ones that name a file or reach a message more often
KEYS = sorted(GOOD) + ["unknown"] + ["compute_capability"] * 4 + ["tensorrt", "gpu", "plan_sha256", "shapes"]


# well-formed values, some of them wrong for this plan (another plan's hash, a batch the profile does not end at)
VALID = {"compute_capability": ["8.6", "8.7", "9.0", "10.0", "12.1"], "tensorrt": ["10.0.0b6", "8.6.1.post1"],
         "gpu": ["Orin (nvgpu)", "NVIDIA GeForce RTX 4090"], "plan_sha256": ["0" * 64, sha256_bytes(b"other plan")],
         "max_batch": [16, 32], "build_s": [0, 2.5], "dla_core": [0, 1], "timing_cache": ["cache.bin"]}


@st.composite
def sidecars(draw):
    """A good engine sidecar with up to three keys changed (to a valid-looking value, a nasty string or any JSON
    value), dropped, or joined by a key it does not have."""
    info = dict(GOOD)
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(KEYS))
        action = draw(st.sampled_from(["nasty", "json", "drop", "valid"]))
        if action == "drop":
            info.pop(key, None)
        elif key == "shapes":
            info[key] = draw(st.one_of(JSON, st.fixed_dictionaries({"images": PROFILE})))
        elif action == "valid" and key in VALID:
            info[key] = draw(st.sampled_from(VALID[key]))
        else:
            info[key] = draw(NASTY if action in ("nasty", "valid") else JSON)
    return info


def one_line(exc):
    assert isinstance(exc, SnnDeployError), f"{type(exc).__name__}: {exc}"
    assert len(str(exc).splitlines()) == 1 and str(exc).strip(), repr(str(exc))
    event("refused")


def parse_back(folder):
    """The folder's config.pbtxt parsed with Triton's protobuf; it must print back to the very same text."""
    text = (folder / "config.pbtxt").read_text(encoding="utf-8")
    cfg = text_format.Parse(text, mc.ModelConfig())
    assert text_format.MessageToString(cfg) == text
    assert {f.name for f, _ in cfg.ListFields()} <= FIELDS
    assert set(cfg.parameters) == PARAMETERS
    return cfg


def entries(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else None


@SETTINGS
@given(info=sidecars())
def test_fuzzed_sidecar_gives_a_valid_model_or_one_line(info):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        engine = tmp / "model.plan"
        engine.write_bytes(PLAN)
        obj = {"format": sidecar.FORMAT, "version": VERSION, "facts": FACTS.to_dict(), **info}
        sidecar.path_for(engine).write_text(json.dumps(obj))  # NaN and Infinity as Python's json writes them
        repo = tmp / "repo"
        try:
            folder = write_engine(repo, engine)
        except Exception as exc:  # noqa: BLE001 - the assertion names any other type
            one_line(exc)
            assert entries(repo) is None  # nothing written, not even the repository
            return
        cc = info["compute_capability"]
        assert re.fullmatch(r"[0-9]+\.[0-9]", cc)  # only a real compute capability gets through
        assert re.fullmatch(r"[0-9a-f]{64}", info["plan_sha256"]) and re.fullmatch(r"[0-9][0-9A-Za-z.+-]*",
                                                                                     info["tensorrt"])
        assert isinstance(info["gpu"], str) and info["gpu"].isprintable()
        assert info["plan_sha256"] == sha256_bytes(PLAN)  # a plan its sidecar does not describe is refused
        cfg = parse_back(folder)
        plan = f"model_sm{cc.replace('.', '')}.plan"
        assert cfg.name == folder.name == "small-cnn_T5_trt" and cfg.platform == "tensorrt_plan"
        assert dict(cfg.cc_model_filenames) == {cc: plan}
        assert cfg.max_batch_size == SHAPES["images"]["max"][0]
        assert json.loads(cfg.parameters["snndeploy"].string_value) == FACTS.to_dict()
        assert entries(repo) == sorted([folder.name, f"{folder.name}/1", f"{folder.name}/1/{plan}",
                                        f"{folder.name}/config.pbtxt", f"{folder.name}/labels.txt"])
        assert (folder / "1" / plan).read_bytes() == PLAN
        event("valid model")


ONE_LINE = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=6)
NAMES = st.one_of(
    st.lists(ONE_LINE.filter(str.strip), min_size=1, max_size=6, unique=True),  # fine names, any script or symbol
    st.lists(st.one_of(st.text(max_size=6), st.sampled_from(["cat", "dog", "a\nb", "a\rb", "x\u2028y", "\t", "",
                                                             "  ", "\x00", "\ud800", "é", "猫", "a b", '"', "}",
                                                             "\\n", "\x85"]),
                       st.integers(), st.none(), st.floats(allow_nan=True)), max_size=6))


def with_class_names(names):
    """FACTS with these class names, bypassing the DataSpec's own checks: the writer must not trust its input."""
    spec = DataSpec("sample", 1, 28, 28, ("a",), (0.1307,), (0.3081,))
    object.__setattr__(spec, "class_names", tuple(names))
    facts = ArtifactFacts("small-cnn", SPEC, NeuronConfig(), T=5, stage=3, noise="frozen")
    object.__setattr__(facts, "data", spec)
    return facts


@SETTINGS
@given(names=NAMES)
def test_fuzzed_class_names_give_aligned_labels_or_one_line(names):
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        facts = with_class_names(names)
        try:
            folder = triton.write_model(repo, facts, "onnxruntime_onnx", {"model.onnx": b"graph"})
        except Exception as exc:  # noqa: BLE001 - the assertion names any other type
            one_line(exc)
            assert entries(repo) is None
            return
        # one label per output index, read the way any line reader (Python's included) splits lines
        labels = (folder / "labels.txt").read_bytes().decode("utf-8")
        assert labels.splitlines() == list(names) and labels.endswith("\n")
        assert len(set(names)) == len(names) and all(isinstance(n, str) and n.strip() for n in names)
        cfg = parse_back(folder)
        assert list(cfg.output[0].dims) == [len(names)] and cfg.output[0].label_filename == "labels.txt"
        assert json.loads(cfg.parameters["snndeploy"].string_value)["data"]["class_names"] == list(names)
        event("valid model")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cc=st.one_of(st.sampled_from(["8.6", "9.0"]), NASTY, st.text(max_size=8)),
       file=st.one_of(st.just("model_sm86.plan"), NASTY, st.text(max_size=8)))
def test_fuzzed_plans_of_an_existing_config_are_kept_plain_or_refused(cc, file):
    # a config.pbtxt already in the repository (edited by hand, or by another tool) lists the plans to keep
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        engine = tmp / "model.plan"
        engine.write_bytes(PLAN)
        sidecar.write(engine, FACTS, GOOD)
        repo = tmp / "repo"
        folder = write_engine(repo, engine)
        cfg = text_format.Parse((folder / "config.pbtxt").read_text(), mc.ModelConfig())
        cfg.cc_model_filenames[cc] = file
        (folder / "config.pbtxt").write_text(text_format.MessageToString(cfg))
        if file and "/" not in file and "\0" not in file and file not in (".", ".."):
            try:
                (folder / "1" / file).write_bytes(b"another GPU's plan")
            except OSError:
                pass  # not a name this file system takes
        before = {p: p.read_bytes() if p.is_file() else None for p in sorted(repo.rglob("*"))}
        try:
            write_engine(repo, engine)
        except Exception as exc:  # noqa: BLE001 - the assertion names any other type
            one_line(exc)
            assert {p: p.read_bytes() if p.is_file() else None for p in sorted(repo.rglob("*"))} == before
            return
        after = parse_back(folder)
        for key, name in after.cc_model_filenames.items():
            assert re.fullmatch(r"[0-9]+\.[0-9]", key) and name == Path(name).name and (folder / "1" / name).is_file()
        assert after.cc_model_filenames["9.0"] == "model_sm90.plan"
        event("kept or dropped")
