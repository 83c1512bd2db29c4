"""`snndeploy serve` on a real Triton Inference Server (the `tritonserver` that nvidia-pytriton bundles), started
on free loopback ports, driven by real clients (tritonclient gRPC and HTTP, plain HTTP/JSON, raw sockets), and
stopped: answers equal `snndeploy infer`, dynamic batching, faults, kill -9 and restart."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from snndeploy.core.errors import SnnDeployError
from snndeploy.core.readout import confidence, trained_loss
from snndeploy.data.inputs import load_inputs
from snndeploy.runners import open_runner
from snndeploy.runners.base import seeded_draws
from snndeploy.serve.install import find_server
from snndeploy.serve.server import ServeConfig, TritonServer, free_port, serving

pytestmark = pytest.mark.slow
grpc = pytest.importorskip("tritonclient.grpc", reason="tritonclient[grpc] not installed")
IMAGES = Path(__file__).parents[2] / "samples" / "images"


def server_installed() -> bool:
    try:
        find_server()
    except SnnDeployError:
        return False
    return True


needs_server = pytest.mark.skipif(not server_installed(), reason="no Triton server (pip install --no-deps "
                                  "nvidia-pytriton==0.7.0)")


def ports(**extra) -> ServeConfig:
    return ServeConfig(http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(), **extra)


@pytest.fixture(scope="module")
def artifacts(tiny_run, tmp_path_factory):
    """The tiny checkpoint and two of its T=5 graphs: frozen noise, and noise fed as inputs."""
    from snndeploy.export.exporter import ExportConfig, export

    out = tmp_path_factory.mktemp("graphs")
    (frozen,) = export(tiny_run.path, ExportConfig(out=str(out)))
    (fed,) = export(tiny_run.path, ExportConfig(out=str(out), noise="input"))
    return {"checkpoint": Path(tiny_run.path), "frozen": frozen.path, "input": fed.path}


@pytest.fixture(scope="module")
def served(artifacts, tmp_path_factory):
    """One server for the module: the checkpoint, the frozen graph and the fed-noise graph."""
    if not server_installed():
        pytest.skip("no Triton server installed")
    cfg = ports(max_batch=16)
    work = tmp_path_factory.mktemp("serve")
    paths = [artifacts["frozen"], artifacts["input"], artifacts["checkpoint"]]
    with serving(paths, work, cfg) as (server, models):
        yield server, {m.artifact: m for m in models}, cfg


def client(cfg: ServeConfig):
    return grpc.InferenceServerClient(f"{cfg.host}:{cfg.grpc_port}")


def request(cfg: ServeConfig, model: str, images: np.ndarray, noise: dict[str, np.ndarray] | None = None,
            dtype: str = "FP32"):
    inputs = []
    for name, value in {"images": images, **(noise or {})}.items():
        i = grpc.InferInput(name, list(value.shape), dtype)
        i.set_data_from_numpy(value)
        inputs.append(i)
    return client(cfg).infer(model, inputs)


def sample_images(runner) -> np.ndarray:
    _, x = load_inputs([str(IMAGES)], runner.spec)
    return x


def post(cfg: ServeConfig, route: str, body: bytes) -> tuple[int, dict]:
    req = urllib.request.Request(f"http://{cfg.host}:{cfg.http_port}{route}", data=body,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def infer_cli(artifact: Path, seed: int = 0) -> list[dict]:
    """What `snndeploy infer --json -` answers for the sample images."""
    from cli_helpers import invoke

    r = invoke("infer", str(artifact), str(IMAGES), "--json", "-", "--seed", str(seed))
    assert r.exit_code == 0, r.output
    return json.loads(r.output)["predictions"]


# -- answers ---------------------------------------------------------------------------------------------------
@needs_server
def test_frozen_graph_answers_equal_infer(served, artifacts):
    server, models, cfg = served
    name = models[artifacts["frozen"]].name
    with open_runner(artifacts["frozen"]) as runner:
        x = sample_images(runner)
        want = runner.infer(x)
    got = request(cfg, name, x)
    np.testing.assert_array_equal(got.as_numpy("logits"), want)  # same runner, same graph, frozen noise
    expected = infer_cli(artifacts["frozen"])
    assert got.as_numpy("labels")[:, 0].tolist() == [p["index"] for p in expected]
    np.testing.assert_allclose(got.as_numpy("confidence")[:, 0], [p["confidence"] for p in expected], rtol=1e-6)


@needs_server
@pytest.mark.parametrize("which", ["input", "checkpoint"])
def test_fed_noise_answers_equal_infer_given_the_same_draws(served, artifacts, which):
    """infer feeds image i draws from default_rng([seed, i]); the same draws sent to the server give the same
    answers, for the fed-noise graph and for the checkpoint (which takes its graph's draws)."""
    server, models, cfg = served
    name = models[artifacts[which]].name
    with open_runner(artifacts[which]) as runner:
        x = sample_images(runner)
        shapes = {i.name: tuple(i.shape[1:]) for i in runner.inputs() if i.name != "images"}
    expected = infer_cli(artifacts[which], seed=3)
    draws = seeded_draws(runner.facts.neuron.noise, shapes, 3, range(len(x)))
    got = request(cfg, name, x, draws)
    assert got.as_numpy("labels")[:, 0].tolist() == [p["index"] for p in expected]
    np.testing.assert_allclose(got.as_numpy("confidence")[:, 0], [p["confidence"] for p in expected], atol=1e-5)
    # without the draws the model draws its own: still one answer per image, of the right shape
    own = request(cfg, name, x)
    assert own.as_numpy("logits").shape == (len(x), runner.spec.num_classes)


@needs_server
def test_plain_http_json_client_and_readout(served, artifacts):
    """Any KServe v2 client: plain HTTP/JSON, the artifact's own input name, labels and confidence as readout."""
    server, models, cfg = served
    model = models[artifacts["frozen"]]
    with open_runner(artifacts["frozen"]) as runner:
        x = sample_images(runner)[:2]
        want = runner.infer(x)
        loss = trained_loss(runner.facts)
    body = {"inputs": [{"name": "images", "shape": list(x.shape), "datatype": "FP32", "data": x.ravel().tolist()}]}
    status, answer = post(cfg, f"/v2/models/{model.name}/infer", json.dumps(body).encode())
    assert status == 200, answer
    out = {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in answer["outputs"]}
    np.testing.assert_allclose(out["logits"], want, rtol=1e-6)
    index, conf = confidence(want, loss)
    assert out["labels"][:, 0].tolist() == index.tolist()
    np.testing.assert_allclose(out["confidence"][:, 0], conf, rtol=1e-6)
    meta = json.loads(urllib.request.urlopen(f"{server.url}/v2/models/{model.name}/config", timeout=10).read())
    facts = json.loads(meta["parameters"]["snndeploy"]["string_value"])
    assert facts["T"] == 5 and meta["max_batch_size"] == 16


@needs_server
def test_dynamic_batching_joins_concurrent_requests(served, artifacts):
    server, models, cfg = served
    name = models[artifacts["frozen"]].name
    x = np.zeros((1, 1, 28, 28), np.float32)

    def counts() -> tuple[float, float]:
        text = urllib.request.urlopen(f"http://{cfg.host}:{cfg.metrics_port}/metrics", timeout=10).read().decode()
        found = {}
        for line in text.splitlines():
            for key in ("nv_inference_count", "nv_inference_exec_count"):
                if line.startswith(key + "{") and f'model="{name}"' in line:
                    found[key] = float(line.rsplit(" ", 1)[1])
        return found["nv_inference_count"], found["nv_inference_exec_count"]

    before = counts()
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: request(cfg, name, x).as_numpy("logits"), range(64)))
    after = counts()
    assert all(r.shape == (1, 10) for r in results)
    inferences, executions = after[0] - before[0], after[1] - before[1]
    assert inferences == 64
    assert executions < inferences  # requests were batched together


# -- faults ----------------------------------------------------------------------------------------------------
def good_answer(cfg: ServeConfig, name: str) -> None:
    assert request(cfg, name, np.zeros((1, 1, 28, 28), np.float32)).as_numpy("logits").shape == (1, 10)


@needs_server
@pytest.mark.parametrize("fault", ["dtype", "shape", "nan", "batch", "model", "partial-noise"])
def test_bad_requests_get_an_error_and_the_server_keeps_answering(served, artifacts, fault):
    server, models, cfg = served
    name = models[artifacts["frozen"]].name
    x = np.zeros((1, 1, 28, 28), np.float32)
    with pytest.raises(grpc.InferenceServerException) as err:
        if fault == "dtype":
            request(cfg, name, x.astype(np.float64), dtype="FP64")
        elif fault == "shape":
            request(cfg, name, np.zeros((1, 1, 27, 28), np.float32))
        elif fault == "nan":
            request(cfg, name, np.full((1, 1, 28, 28), np.nan, np.float32))
        elif fault == "batch":
            request(cfg, name, np.zeros((17, 1, 28, 28), np.float32))  # max_batch 16
        elif fault == "model":
            request(cfg, "no-such-model", x)
        else:
            fed = models[artifacts["input"]].name
            with open_runner(artifacts["input"]) as runner:
                first = next(i for i in runner.inputs() if i.name != "images")
            request(cfg, fed, x, {first.name: np.zeros((1, *first.shape[1:]), np.float32)})
    message = str(err.value).lower()
    expected = {"dtype": "fp64", "shape": "shape", "nan": "nan", "batch": "batch", "model": "no-such-model",
                "partial-noise": "noise"}[fault]
    assert expected in message, message
    good_answer(cfg, name)


@needs_server
def test_garbage_and_disconnects_on_the_http_port(served, artifacts):
    server, models, cfg = served
    name = models[artifacts["frozen"]].name
    garbage = np.random.default_rng(0).integers(0, 256, 1 << 20, dtype=np.uint8).tobytes()
    with socket.create_connection((cfg.host, cfg.http_port), timeout=10) as s, \
            contextlib.suppress(ConnectionResetError, BrokenPipeError):  # the server may hang up midway: fine
        s.sendall(garbage)
        s.recv(4096)
    with socket.create_connection((cfg.host, cfg.http_port), timeout=10) as s:  # a request cut off midway
        s.sendall(f"POST /v2/models/{name}/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  f"Content-Length: 100000\r\n\r\n{{\"inputs\": [".encode())
    good_answer(cfg, name)


@needs_server
def test_kill_minus_nine_then_restart_serves_the_same_answers(artifacts, tmp_path):
    cfg = ports()
    with open_runner(artifacts["frozen"]) as runner:
        x = sample_images(runner)
    with serving([artifacts["frozen"]], tmp_path / "a", cfg) as (server, models):
        first = request(cfg, models[0].name, x).as_numpy("logits")
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(30)
    with serving([artifacts["frozen"]], tmp_path / "b", cfg) as (server, models):
        again = request(cfg, models[0].name, x).as_numpy("logits")
    np.testing.assert_array_equal(first, again)


# -- the command -----------------------------------------------------------------------------------------------
def snndeploy(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "snndeploy.cli.main", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


@needs_server
def test_sigterm_drains_requests_in_flight_and_exits_zero(artifacts, tmp_path):
    cfg = ports()
    proc = snndeploy("serve", str(artifacts["frozen"]), "--port", str(cfg.http_port), "--grpc-port",
                     str(cfg.grpc_port), "--metrics-port", str(cfg.metrics_port))
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 240
    while not any(line.startswith("ready:") for line in lines):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "not ready"
        time.sleep(0.2)
    name = Path(artifacts["frozen"]).stem
    x = np.zeros((8, 1, 28, 28), np.float32)
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(request, cfg, name, x) for _ in range(32)]
        time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        answered = [f.result().as_numpy("logits").shape for f in futures if f.exception() is None]
    assert proc.wait(120) == 0, proc.stderr.read()
    reader.join(5)
    assert answered and all(s == (8, 10) for s in answered)
    assert any("SIGTERM" in line for line in lines)


@needs_server
def test_port_in_use_is_one_error_line(artifacts):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        proc = snndeploy("serve", str(artifacts["frozen"]), "--port", str(busy), "--grpc-port", str(free_port()),
                         "--metrics-port", str(free_port()))
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err.strip() == f"error: port {busy} (--port) is in use on 127.0.0.1: stop what holds it or choose " \
                          "another --port"


def test_missing_server_is_one_error_line(artifacts, tmp_path):
    env = {**os.environ, "SNNDEPLOY_TRITONSERVER": str(tmp_path / "no-tritonserver")}
    proc = snndeploy("serve", str(artifacts["frozen"]), env=env)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err.strip() == f"error: SNNDEPLOY_TRITONSERVER={tmp_path / 'no-tritonserver'} is not an executable file"


# -- exported repositories on the real server ------------------------------------------------------------------
@needs_server
def test_exported_repositories_load_under_strict_config(tiny_run, engine_with_sidecar, tmp_path):
    """`export --format triton` (ONNX Runtime and TensorRT flavours) and `--format triton-python` in one
    repository, loaded with --disable-auto-complete-config (strict): the flavours whose backends this server
    lacks fail on the missing backend only, never on their configuration; the Python flavour is served."""
    from cli_helpers import invoke

    repo = tmp_path / "repo"
    for args in (["--format", "triton"], ["--format", "triton-python"]):
        r = invoke("export", str(tiny_run.path), *args, "-o", str(repo))
        assert r.exit_code == 0, r.output
    from snndeploy.artifacts import sidecar
    from snndeploy.core.hashing import sha256

    facts, side = sidecar.read(engine_with_sidecar)  # a stand-in plan: its sidecar made to match its bytes
    sidecar.write(engine_with_sidecar, facts, {**side, "plan_sha256": sha256(engine_with_sidecar)})
    r = invoke("export", str(engine_with_sidecar), "--format", "triton", "-o", str(repo))
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in repo.iterdir()) == ["small-cnn_T5", "small-cnn_T5_py", "small-cnn_T5_trt"]
    cfg = ports()
    server = TritonServer(repo, tmp_path / "work", cfg, extra_args=["--exit-on-error=false"])
    with server:
        deadline = time.monotonic() + 180
        while server._get("/v2/models/small-cnn_T5_py/ready") != 200:
            assert server.alive(), server.failure()
            assert time.monotonic() < deadline, server.failure()
            time.sleep(0.5)
        answer = server.probe("small-cnn_T5_py")
        assert {o["name"] for o in answer["outputs"]} == {"logits", "labels", "confidence"}
        log = server.log.read_text()
    for model, backend in (("small-cnn_T5", "onnxruntime"), ("small-cnn_T5_trt", "tensorrt")):
        failed = [ln for ln in log.splitlines() if f"failed to load '{model}'" in ln]
        assert failed, log[-3000:]
        assert f"unable to find backend library for backend '{backend}'" in failed[0], failed[0]


@needs_server
@pytest.mark.parametrize("which", ["frozen", "input"])
def test_the_sample_client_works_against_serve_unchanged(served, artifacts, which):
    """samples/triton_client.py (tritonclient over HTTP) prints what `snndeploy infer` reports."""
    pytest.importorskip("tritonclient.http", exc_type=ImportError)
    server, models, cfg = served
    sample = Path(__file__).parents[2] / "samples" / "triton_client.py"
    r = subprocess.run([sys.executable, str(sample), "--model", models[artifacts[which]].name, "--url",
                        f"{cfg.host}:{cfg.http_port}"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got = [line.split() for line in r.stdout.splitlines()]
    want = [[Path(p["input"]).name, p["class"], f"{p['confidence']:.3f}"] for p in infer_cli(artifacts[which])]
    assert got == want
