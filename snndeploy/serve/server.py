"""One real Triton Inference Server process serving snndeploy artifacts, with a lifecycle (after Polygraphy's
runners): ``start`` (ports checked free, the server launched on loopback), ``wait_ready`` (every model
loaded and answering one request), ``stop`` (SIGTERM: Triton finishes the requests in flight, then exits), as
a context manager.

Each artifact becomes a model of a repository written for this run (``write_repository``): Triton's Python
backend runs ``snndeploy.serve.backend`` on the artifact's own runner, so checkpoints, ONNX graphs and TensorRT
engines are served alike, by the runner ``snndeploy infer`` uses.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..artifacts import triton
from ..artifacts.naming import graph_name
from ..core.errors import SnnDeployError
from ..core.facts import DEFAULT_MAX_BATCH
from ..core.neuron_config import check_T
from ..runners import Runner, kind_of, open_runner
from .install import ServerInstall, backend_folder, find_server

LOOPBACK = "127.0.0.1"


ROOT = Path(__file__).resolve().parents[2]  # the folder that holds this snndeploy package
# what a model's name says about the runner behind it (one naming rule: an ONNX graph keeps its graph name, as
# `export --format triton` names it; an engine gets _trt, as there; a checkpoint on PyTorch gets _torch)
SUFFIX = {"onnxruntime": "", "tensorrt": "_trt", "pytorch": "_torch"}


@dataclass(frozen=True)
class ServeConfig:
    """How the artifacts are served."""

    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    host: str = LOOPBACK
    max_batch: int | None = None  # Triton's max_batch_size; None: the artifact's own maximum (64 if unbounded)
    queue_delay_us: int = 100
    instances: int = 1
    device: str = "cpu"
    T: int = 5  # of checkpoints; graphs and engines run at their own
    seed: int = 0
    exit_timeout_s: int = 30  # how long a stop waits for requests in flight

    def __post_init__(self) -> None:
        ports = {"--port": self.http_port, "--grpc-port": self.grpc_port, "--metrics-port": self.metrics_port}
        for flag, port in ports.items():
            if not 1 <= port <= 65535:
                raise SnnDeployError(f"{flag} must be a port from 1 to 65535, got {port}")
        if len(set(ports.values())) != 3:
            raise SnnDeployError("--port, --grpc-port and --metrics-port must differ")
        if self.max_batch is not None and self.max_batch < 1:
            raise SnnDeployError(f"--max-batch must be >= 1, got {self.max_batch}")
        if self.queue_delay_us < 0:
            raise SnnDeployError(f"--max-queue-delay-us must be >= 0, got {self.queue_delay_us}")
        if self.instances < 1:
            raise SnnDeployError(f"--instances must be >= 1, got {self.instances}")
        check_T(self.T, "--T")


@dataclass(frozen=True)
class ServedModel:
    """One artifact as a model of the repository."""

    name: str
    artifact: Path
    backend: str
    max_batch: int


def served_name(runner: Runner) -> str:
    """The model name of an artifact's runner (see SUFFIX)."""
    return graph_name(runner.facts) + SUFFIX.get(runner.backend.split("-")[0], f"_{runner.backend}")


def write_repository(runners: list[tuple[Path, Runner]], repo: Path, cfg: ServeConfig) -> list[ServedModel]:
    """A Python-backend model folder per artifact in ``repo``; two artifacts of the same name are an error."""
    served: list[ServedModel] = []
    for path, runner in runners:
        name = served_name(runner)
        if any(m.name == name for m in served):
            other = next(m.artifact for m in served if m.name == name)
            raise SnnDeployError(f"{path} and {other} would both be served as '{name}': serve one of them")
        max_batch = cfg.max_batch or runner.max_batch or DEFAULT_MAX_BATCH
        noise = {i.name: tuple(int(d) for d in i.shape[1:]) for i in runner.inputs() if i.name != "images"}
        params = {"artifact": str(path.resolve()), "device": cfg.device, "seed": str(cfg.seed)}
        files = {"model.py": triton.python_model_file(ROOT)}
        triton.write_python_model(repo, name, runner.facts, noise, files, max_batch=max_batch, parameters=params,
                                  queue_delay_us=cfg.queue_delay_us, instances=cfg.instances)
        served.append(ServedModel(name, path, runner.backend, max_batch))
    return served


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on (host, port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def free_port(host: str = LOOPBACK) -> int:
    """A port nothing listens on now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


LOG_TAIL = 1 << 20  # the bytes of the server log read for its error line: the last ones say why it stopped


def _open_log(path: Path, flags: int) -> int:
    """A descriptor of the server log, which must be a regular file: never through a link, and never a FIFO (which
    would block the open) or a device planted in the work folder."""
    try:
        fd = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0), 0o666)
    except OSError as exc:
        raise SnnDeployError(f"cannot open the server log {path}: {exc.strerror or exc} (a link or a FIFO?)") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SnnDeployError(f"the server log {path} is not a regular file")
    os.set_blocking(fd, True)
    return fd


class TritonServer:
    """A ``tritonserver`` process over a model repository."""

    def __init__(self, repo: Path, work: Path, cfg: ServeConfig, install: ServerInstall | None = None,
                 extra_args: list[str] | None = None) -> None:
        self.repo, self.work, self.cfg = Path(repo), Path(work), cfg
        self.extra_args = list(extra_args or [])
        self.install = install or find_server()
        self.log = self.work / "tritonserver.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.cfg.host}:{self.cfg.http_port}"

    def command(self) -> list[str]:
        c = self.cfg
        return [str(self.install.binary), "--model-repository", str(self.repo), "--disable-auto-complete-config",
                "--backend-directory", str(backend_folder(self.install, self.work)),
                "--http-address", c.host, "--http-port", str(c.http_port),
                "--grpc-address", c.host, "--grpc-port", str(c.grpc_port),
                "--metrics-address", c.host, "--metrics-port", str(c.metrics_port),
                "--exit-timeout-secs", str(c.exit_timeout_s), "--log-verbose", "0", *self.extra_args]

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> TritonServer:
        c = self.cfg
        for flag, port in (("--port", c.http_port), ("--grpc-port", c.grpc_port), ("--metrics-port", c.metrics_port)):
            if port_in_use(c.host, port):
                raise SnnDeployError(f"port {port} ({flag}) is in use on {c.host}: stop what holds it or choose "
                                     f"another {flag}")
        self.work.mkdir(parents=True, exist_ok=True)
        fd = _open_log(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            self.process = subprocess.Popen(self.command(), stdout=fd, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=self.install.environment(),
                                            start_new_session=True)  # a Ctrl-C in the terminal reaches us, not it
        finally:
            os.close(fd)
        return self

    def failure(self) -> str:
        """The server log's first error line (Triton's "E..." lines, or a Python traceback's last line), from its
        last LOG_TAIL bytes."""
        try:
            fd = _open_log(self.log, os.O_RDONLY)
        except SnnDeployError:
            return "no log"
        try:
            size = os.fstat(fd).st_size
            lines = os.pread(fd, LOG_TAIL, max(0, size - LOG_TAIL)).decode(errors="replace").splitlines()[-400:]
        except OSError:
            return "no log"
        finally:
            os.close(fd)
        errors = [ln for ln in lines if ln.startswith("E") and "] " in ln]
        # the first model that failed to load says most; a GPU-less machine's CUDA complaints say nothing
        errors = [ln for ln in errors if "failed to load" in ln] or [ln for ln in errors if "Cuda" not in ln]
        if errors:
            text = errors[0].split("] ", 1)[1].strip().strip('"').split("\\n")[0]
        else:
            text = next((ln for ln in reversed(lines) if ln.strip()), "no log")
        return text[:300]

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, models: list[ServedModel], timeout: float = 120.0) -> None:
        """Return once the server is ready and every model answered one request; a one-line error naming the
        server's own error when it exits or does not get ready within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                code = self.process.returncode if self.process else None
                raise SnnDeployError(f"the Triton server exited (code {code}): {self.failure()} (log: {self.log})")
            if self._get("/v2/health/ready") == 200:
                break
            if time.monotonic() > deadline:
                self.stop()
                raise SnnDeployError(f"the Triton server was not ready after {timeout:.0f} s: {self.failure()} "
                                     f"(log: {self.log})")
            time.sleep(0.2)
        for model in models:
            self.probe(model.name)

    def probe(self, name: str) -> dict[str, Any]:
        """One request of one zero image over HTTP/JSON (what any KServe v2 client sends); the answer."""
        meta = self._json(f"/v2/models/{name}")
        images = next(i for i in meta["inputs"] if i["name"] == "images")
        shape = [1, *[int(d) for d in images["shape"][1:]]]
        body = {"inputs": [{"name": "images", "shape": shape, "datatype": "FP32",
                            "data": np.zeros(shape, np.float32).ravel().tolist()}]}
        return self._json(f"/v2/models/{name}/infer", body)

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM, then wait for the requests in flight (up to the exit timeout) and the exit; SIGKILL only
        past that. Returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout if timeout is not None else self.cfg.exit_timeout_s + 15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> TritonServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HTTP --------------------------------------------------------------------------------------------
    def _get(self, route: str) -> int | None:
        try:
            with urllib.request.urlopen(self.url + route, timeout=2) as r:
                return int(r.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, OSError):
            return None

    def _json(self, route: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + route, data=data,
                                         headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(request, timeout=60) as r:
                return json.loads(r.read(16 << 20))
        except urllib.error.HTTPError as exc:
            why = exc.read(4096).decode(errors="replace")
            raise SnnDeployError(f"the server answered {route} with HTTP {exc.code}: {why[:300]}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise SnnDeployError(f"the server did not answer {route}: {exc}") from None


@contextlib.contextmanager
def serving(artifacts: list[str | Path], work: Path, cfg: ServeConfig, install: ServerInstall | None = None,
            timeout: float = 180.0) -> Iterator[tuple[TritonServer, list[ServedModel]]]:
    """Serve ``artifacts`` until the block ends (then stop, draining what is in flight): the repository in
    ``work``, the server started and every model answering."""
    install = install or find_server()  # before any work: a missing server is the first thing to say
    for artifact in artifacts:
        kind = kind_of(artifact)
        if problem := kind.unavailable(kind.device_for(cfg.device)):
            raise SnnDeployError(f"cannot serve {artifact}: {problem}")
    runners = [(Path(a), open_runner(a, T=cfg.T, device=cfg.device, seed=cfg.seed)) for a in artifacts]
    models = write_repository(runners, work / "repository", cfg)
    server = TritonServer(work / "repository", work, cfg, install)
    with server:
        server.wait_ready(models, timeout)
        yield server, models
