"""The bundled sample images and the Triton client, run against a stand-in for the server."""

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from snndeploy.export.exporter import ExportConfig, export

SAMPLES = Path(__file__).parents[1] / "samples"


def load_client():
    spec = importlib.util.spec_from_file_location("triton_client", SAMPLES / "triton_client.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ten_sample_images():
    images = sorted((SAMPLES / "images").glob("*.png"))
    assert len(images) == 10
    x = load_client().load_images(images, 1, 28, 28)
    assert x.shape == (10, 1, 28, 28) and x.dtype == np.uint8


def test_client_against_a_local_stand_in(tiny_run, tmp_path, monkeypatch, capsys):
    text_format = pytest.importorskip("google.protobuf.text_format")
    json_format = pytest.importorskip("google.protobuf.json_format")
    mc = pytest.importorskip("tritonclient.grpc.model_config_pb2", reason="tritonclient not installed")
    import onnxruntime as ort

    (e,) = export(tiny_run.path, ExportConfig(T=(5,), format="triton", out=str(tmp_path / "repo")))
    folder = e.path.parents[1]

    class Client:  # answers like tritonclient.http.InferenceServerClient, from the repository on disk
        def __init__(self, url):
            self.session = ort.InferenceSession(str(e.path), providers=["CPUExecutionProvider"])

        def get_model_config(self, name):
            cfg = text_format.Parse((tmp_path / "repo" / name / "config.pbtxt").read_text(), mc.ModelConfig())
            return json_format.MessageToDict(cfg, preserving_proto_field_name=True)

        def infer(self, name, inputs, outputs):
            logits = self.session.run(["logits"], {"images": inputs[0].data})[0]
            return types.SimpleNamespace(as_numpy=lambda key: logits)

    class InferInput:
        def __init__(self, name, shape, dtype):
            self.name = name

        def set_data_from_numpy(self, data):
            self.data = data

    http = types.SimpleNamespace(InferenceServerClient=Client, InferInput=InferInput,
                                 InferRequestedOutput=lambda name: name)
    monkeypatch.setitem(sys.modules, "tritonclient.http", http)
    monkeypatch.setattr(sys, "argv", ["triton_client.py", "--model", folder.name])
    load_client().main()
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 10
    right = sum(line.split()[0].startswith(f"digit{line.split()[1]}_") for line in lines)
    assert right >= 8  # the tiny test model is about 95% accurate
