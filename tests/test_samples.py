"""The bundled sample images and the Triton client: against a stand-in for the server (the same predictions and
confidences as `snndeploy infer`), without tritonclient, and with no server listening."""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import invoke

from snndeploy.core.install import hint
from snndeploy.core.spec import DataSpec
from snndeploy.data.inputs import load_inputs
from snndeploy.export.exporter import ExportConfig, export

SAMPLES = Path(__file__).parents[1] / "samples"
CLIENT = SAMPLES / "triton_client.py"
MISSING = f"error: tritonclient is not installed: {hint('triton')}"


def load_client():
    spec = importlib.util.spec_from_file_location("triton_client", CLIENT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    """A local port where nothing listens (bound for a moment, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_available() -> bool:
    try:
        import tritonclient.http  # noqa: F401
    except (ImportError, RuntimeError):  # RuntimeError: tritonclient installed without its http extra
        return False
    return True


class ServerError(Exception):
    """Stands in for tritonclient.http.InferenceServerException."""


def stand_in(repo: Path) -> types.SimpleNamespace:
    """A module that answers like tritonclient.http, serving ``repo`` from disk with ONNX Runtime; its client
    opens a real connection to the URL, so a port where nothing listens fails as the real one does."""
    text_format = pytest.importorskip("google.protobuf.text_format")
    json_format = pytest.importorskip("google.protobuf.json_format")
    mc = pytest.importorskip("tritonclient.grpc.model_config_pb2", reason="tritonclient not installed")
    import onnxruntime as ort

    class Client:
        def __init__(self, url):
            self.url = url

        def get_model_config(self, name):  # the real client, too, first connects here
            host, port = self.url.rsplit(":", 1)
            socket.create_connection((host, int(port)), timeout=5).close()  # ConnectionRefusedError if none
            path = repo / name / "config.pbtxt"
            if not path.is_file():
                raise ServerError(f"Request for unknown model: '{name}' is not found")
            cfg = text_format.Parse(path.read_text(), mc.ModelConfig())
            return json_format.MessageToDict(cfg, preserving_proto_field_name=True)

        def infer(self, name, inputs, outputs):
            (model,) = (repo / name / "1").glob("*.onnx")
            session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
            logits = session.run(outputs, {i.name: i.data for i in inputs})[0]
            return types.SimpleNamespace(as_numpy=lambda key: logits)

    class InferInput:
        def __init__(self, name, shape, dtype):
            self.name, self.shape = name, shape

        def set_data_from_numpy(self, data):
            assert list(data.shape) == self.shape and data.dtype == np.float32
            self.data = data

    return types.SimpleNamespace(InferenceServerClient=Client, InferInput=InferInput,
                                 InferRequestedOutput=lambda name: name, InferenceServerException=ServerError)


@pytest.fixture
def listening():
    """A local port with a listening socket (the stand-in client connects to it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield f"127.0.0.1:{s.getsockname()[1]}"


def run_client(monkeypatch, capsys, http, *args):
    """main(args) with ``http`` as tritonclient.http: (exit status, stdout lines, stderr)."""
    monkeypatch.setitem(sys.modules, "tritonclient.http", http)
    if sys.modules.get("tritonclient") is not None:  # `import tritonclient.http` reads the package's attribute
        monkeypatch.setattr(sys.modules["tritonclient"], "http", http, raising=False)
    rc = load_client().main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out.strip().splitlines(), err


def test_ten_sample_images():
    images = sorted((SAMPLES / "images").glob("*.png"))
    assert len(images) == 10
    spec = DataSpec("sample", 1, 28, 28, tuple("0123456789"), (0.1307,), (0.3081,))
    names, x = load_inputs([SAMPLES / "images"], spec)
    assert x.shape == (10, 1, 28, 28) and x.dtype == np.float32 and len(names) == 10


@pytest.mark.parametrize("noise", ["frozen", "input"])
def test_client_prints_what_infer_reports(tiny_run, tmp_path, monkeypatch, capsys, listening, noise):
    """Same model, same images: the sample's classes and confidences are `snndeploy infer`'s (a --noise input
    model fed the same seeded draws)."""
    (e,) = export(tiny_run.path, ExportConfig(T=(5,), noise=noise, format="triton", out=str(tmp_path / "repo")))
    model = e.path.parents[1].name
    rc, lines, err = run_client(monkeypatch, capsys, stand_in(tmp_path / "repo"), "--model", model, "--url",
                                listening, "--seed", 3)
    assert rc == 0 and err == "" and len(lines) == 10
    r = invoke("infer", e.path, SAMPLES / "images", "--seed", 3, "--json", "-")
    assert r.exit_code == 0, r.output
    preds = json.loads(r.output)["predictions"]
    expected = [f"{Path(p['input']).name} {p['class']} {p['confidence']:.3f}" for p in preds]
    assert [" ".join(line.split()) for line in lines] == expected
    right = sum(line.split()[0].startswith(f"digit{line.split()[1]}_") for line in lines)
    assert right >= 8  # the tiny test model is about 95% accurate


def test_unknown_model_and_foreign_model(tiny_run, tmp_path, monkeypatch, capsys, listening):
    (e,) = export(tiny_run.path, ExportConfig(T=(2,), format="triton", out=str(tmp_path / "repo")))
    http = stand_in(tmp_path / "repo")
    rc, lines, err = run_client(monkeypatch, capsys, http, "--model", "nope", "--url", listening)
    assert (rc, lines, err) == (2, [], f"error: {listening}: Request for unknown model: 'nope' is not found\n")
    config = e.path.parents[1] / "config.pbtxt"
    config.write_text(config.read_text().replace('key: "snndeploy"', 'key: "other"'))
    rc, lines, err = run_client(monkeypatch, capsys, http, "--model", e.path.parents[1].name, "--url", listening)
    assert rc == 2 and err.count("\n") == 1 and "has no snndeploy facts in its config" in err


def test_nothing_listening_stand_in(tmp_path, monkeypatch, capsys):
    port = free_port()
    rc, lines, err = run_client(monkeypatch, capsys, stand_in(tmp_path), "--url", f"127.0.0.1:{port}")
    assert rc == 2 and lines == [] and err.count("\n") == 1
    assert err.startswith(f"error: cannot reach a Triton server at 127.0.0.1:{port}: ") and "refused" in err


@pytest.mark.skipif(not http_available(), reason="tritonclient[http] not installed")
def test_nothing_listening_real_client(capsys):
    port = free_port()
    assert load_client().main(["--url", f"127.0.0.1:{port}"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"error: cannot reach a Triton server at 127.0.0.1:{port}: ") and "refused" in err


@pytest.mark.parametrize("url", ["http://localhost:8000", "localhost:port", "", ":8000"])
def test_bad_url_and_seed(monkeypatch, capsys, url):
    rc, _, err = run_client(monkeypatch, capsys, types.SimpleNamespace(), "--url", url)
    assert rc == 2 and err == f"error: --url must be host:port without a scheme (like localhost:8000), got {url!r}\n"
    rc, _, err = run_client(monkeypatch, capsys, types.SimpleNamespace(), "--seed", -1)
    assert rc == 2 and err.startswith("error: --seed must be an integer from 0 to")


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit) as exit_:
        load_client().main(["--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal's width
    for shown in ("(default: samples/images)", "(default: small-cnn_T5)", "(default: localhost:8000)",
                  "infer --seed`) (default: 0)"):
        assert shown in text, text


def test_without_tritonclient(tmp_path, monkeypatch, capsys):
    """--help needs no tritonclient; a run without it is one line, exit 2 (in a fresh interpreter whose
    sitecustomize blocks the import, and in this one with the module hidden)."""
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'tritonclient':\n"
        "            raise ImportError('blocked by the test')\n"
        "sys.meta_path.insert(0, Block())\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    run = [sys.executable, str(CLIENT)]
    helped = subprocess.run([*run, "--help"], capture_output=True, text=True, env=env, timeout=120)
    assert helped.returncode == 0 and "--model" in helped.stdout and helped.stderr == ""
    failed = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert (failed.returncode, failed.stdout, failed.stderr) == (2, "", MISSING + "\n")
    monkeypatch.setitem(sys.modules, "tritonclient", None)
    monkeypatch.setitem(sys.modules, "tritonclient.http", None)
    assert load_client().main([]) == 2
    assert capsys.readouterr().err == MISSING + "\n"
