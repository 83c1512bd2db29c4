"""Send images to a running Triton server and print each one's predicted class and confidence.

    pip install -e '.[triton]'        # in the snndeploy clone
    snndeploy export runs/train --T 5 -o exports
    snndeploy serve exports/small-cnn_T5.onnx        # a real Triton server on this machine (see the README)
    python samples/triton_client.py --model small-cnn_T5 [--url localhost:8000] [images...]

or, with a Triton container and its ONNX Runtime backend:

    snndeploy export runs/train --T 5 --format triton -o model_repository
    docker run --rm -p 8000:8000 -v $PWD/model_repository:/models nvcr.io/nvidia/tritonserver:<yy.mm>-py3 \\
        tritonserver --model-repository=/models

Preprocessing (size, channels, mean, std), class names and the training loss come from the snndeploy facts in
the model's own config on the server. The confidence is the one `snndeploy infer` reports
(snndeploy.core.readout): the softmax probability of the predicted class for a network trained with
cross-entropy, the predicted class's readout clipped to [0, 1] for MSE training (the default).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from snndeploy.core.errors import SnnDeployError
from snndeploy.core.facts import ArtifactFacts
from snndeploy.core.install import hint
from snndeploy.core.readout import confidence, trained_loss
from snndeploy.core.validate import SEED_MAX
from snndeploy.data.inputs import load_inputs
from snndeploy.runners.base import seeded_draws

INSTALL = hint("triton")
IMAGES = Path(__file__).parent / "images"


def import_http() -> Any:
    """tritonclient.http, or a one-line SnnDeployError saying how to install it."""
    try:
        import tritonclient.http as http
    except (ImportError, RuntimeError):  # tritonclient without its http extra raises RuntimeError on import
        raise SnnDeployError(f"tritonclient is not installed: {INSTALL}") from None
    return http


def server_facts(client: Any, model: str, url: str) -> ArtifactFacts:
    """The snndeploy facts the model's config carries (its 'snndeploy' parameter), checked."""
    config = client.get_model_config(model)
    value = config.get("parameters", {}).get("snndeploy", {}).get("string_value")
    if value is None:
        raise SnnDeployError(f"model '{model}' on {url} has no snndeploy facts in its config; serve a model "
                             "repository written by `snndeploy export --format triton`")
    try:
        record = json.loads(value)
    except ValueError:
        raise SnnDeployError(f"model '{model}' on {url}: its snndeploy facts are not JSON") from None
    return ArtifactFacts.from_dict(record, f"model '{model}' on {url}")


def predict(client: Any, http: Any, model: str, facts: ArtifactFacts, x: np.ndarray, seed: int) -> np.ndarray:
    """Logits for normalised images; a --noise input model is fed the draws `snndeploy infer --seed` feeds."""
    feeds = {"images": x}
    if facts.noise_inputs:
        feeds.update(seeded_draws(facts.neuron.noise, facts.noise_inputs, seed, range(len(x))))
    inputs = []
    for name, value in feeds.items():
        tensor = http.InferInput(name, list(value.shape), "FP32")
        tensor.set_data_from_numpy(value)
        inputs.append(tensor)
    result = client.infer(model, inputs, outputs=[http.InferRequestedOutput("logits")])
    return np.asarray(result.as_numpy("logits"), np.float32)


def run(args: argparse.Namespace) -> None:
    """Ask the server for the model's facts, send the images, print one line per image."""
    if not 0 <= args.seed <= SEED_MAX:
        raise SnnDeployError(f"--seed must be an integer from 0 to {SEED_MAX}, got {args.seed}")
    check_url(args.url)
    http = import_http()
    try:
        client = http.InferenceServerClient(url=args.url)
    except (ValueError, http.InferenceServerException) as exc:
        raise SnnDeployError(f"--url {args.url}: {first_line(exc)}") from None
    try:
        facts = server_facts(client, args.model, args.url)
        names, x = load_inputs(args.images or [IMAGES], facts.data, adapt=True)
        logits = predict(client, http, args.model, facts, x, args.seed)
    except http.InferenceServerException as exc:  # an unknown model, a request the server refuses
        raise SnnDeployError(f"{args.url}: {first_line(exc)}") from None
    except OSError as exc:  # nothing listens there, an unknown host, a timeout
        raise SnnDeployError(f"cannot reach a Triton server at {args.url}: {first_line(exc)}") from None
    index, conf = confidence(logits, trained_loss(facts))
    for name, k, c in zip(names, index, conf, strict=True):
        print(f"{Path(name).name:28s} {facts.data.class_names[k]:>12s}  {c:.3f}")


def check_url(url: str) -> None:
    """Refuse a URL that tritonclient would refuse only after printing a failed destructor's traceback."""
    host_port = url.split("/", 1)[0]
    host, colon, port = host_port.rpartition(":")
    if "://" in url or not host_port or (colon and not (host and port.isdigit())):
        raise SnnDeployError(f"--url must be host:port without a scheme (like localhost:8000), got {url!r}")


def first_line(exc: BaseException) -> str:
    """An exception's message on one line (its type when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Run the client; a failure is one `error:` line on stderr and exit status 2."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*", type=Path, help="PNG/JPEG files or folders (default: samples/images)")
    parser.add_argument("--model", default="small-cnn_T5",
                        help="model name in the server's repository (default: %(default)s)")
    parser.add_argument("--url", default="localhost:8000",
                        help="the server's HTTP endpoint, host:port (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the draws fed to a --noise input model (as "
                        "`snndeploy infer --seed`) (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        run(args)
    except SnnDeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
