"""Send the sample images to a running Triton server and print the predictions.

    snndeploy export runs/train --T 5 --format triton -o model_repository
    docker run --rm -p 8000:8000 -v $PWD/model_repository:/models nvcr.io/nvidia/tritonserver:<yy.mm>-py3 \\
        tritonserver --model-repository=/models
    python samples/triton_client.py --model small-cnn_T5 [--url localhost:8000] [images...]

Normalisation (mean, std) and class names come from the model's own config on the server.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image


def load_images(paths: list[Path], channels: int, height: int, width: int) -> np.ndarray:
    """PNG/JPEG files as uint8 [N, C, H, W], converted and resized to the model's input."""
    mode = "L" if channels == 1 else "RGB"
    arrays = []
    for p in paths:
        img = Image.open(p).convert(mode).resize((width, height))
        a = np.asarray(img, dtype=np.uint8)
        arrays.append(a[None] if channels == 1 else a.transpose(2, 0, 1))
    return np.stack(arrays)


def main() -> None:
    import tritonclient.http as http

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*", type=Path)
    parser.add_argument("--model", default="small-cnn_T5")
    parser.add_argument("--url", default="localhost:8000")
    args = parser.parse_args()
    paths = args.images or sorted((Path(__file__).parent / "images").glob("*.png"))

    client = http.InferenceServerClient(url=args.url)
    config = client.get_model_config(args.model)
    params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
    facts = json.loads(params["snndeploy"])
    data = facts["data"]
    mean = np.array(data["mean"], np.float32).reshape(-1, 1, 1)
    std = np.array(data["std"], np.float32).reshape(-1, 1, 1)
    x = (load_images(paths, data["channels"], data["height"], data["width"]) / 255.0 - mean) / std
    x = x.astype(np.float32)

    inp = http.InferInput("images", list(x.shape), "FP32")
    inp.set_data_from_numpy(x)
    logits = client.infer(args.model, [inp], outputs=[http.InferRequestedOutput("logits")]).as_numpy("logits")
    e = np.exp(logits - logits.max(1, keepdims=True))
    probs = e / e.sum(1, keepdims=True)
    for path, p in zip(paths, probs, strict=True):
        k = int(p.argmax())
        print(f"{path.name:28s} {data['class_names'][k]:>12s}  {p[k]:.3f}")


if __name__ == "__main__":
    main()
