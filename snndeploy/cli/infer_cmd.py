"""`snndeploy infer`: predictions of any artifact of the kinds table (no PyTorch for graphs and engines: an
import-linter contract says so)."""

from __future__ import annotations

import json

import typer

from ..core import atomic
from ..core.errors import SnnDeployError
from ..core.neuron_config import check_T
from ..core.readout import confidence, trained_loss
from ..data.inputs import load_inputs
from ..runners import open_runner
from ..ui.progress import Bar
from .common import OVERWRITE, THREADS, check_output_file, console, json_safe, one_line_errors, table


@one_line_errors
def infer_command(
    artifact: str = typer.Argument(..., help="checkpoint, .onnx file or .plan engine."),
    inputs: list[str] = typer.Argument(..., help="PNG/JPEG files, folders of them (their own files only: "
                                  "sub-folders are not searched), .npy or .npz arrays."),
    T: int | None = typer.Option(None, "--T", help="time steps of a checkpoint (a graph or engine runs at its own "
                                 "T: a different --T is refused).", show_default="5; a graph's own"),
    device: str = typer.Option("cpu", "--device", help="checkpoints (PyTorch): cpu, cuda or cuda:N; .onnx graphs "
                               "(ONNX Runtime): cpu, cuda or tensorrt (its TensorRT provider); .plan engines run on "
                               "the GPU and ignore it."),
    seed: int = typer.Option(0, "--seed", help="seed of the noise. Checkpoints and --noise input graphs are fed draws "
                             "seeded by (seed, the input's position), the same for both; --noise graph graphs run one "
                             "input at a time, each random node seeded from it (same results for the same ONNX "
                             "Runtime version); TensorRT engines draw no noise of their own."),
    json_path: str | None = typer.Option(None, "--json", help="write the predictions as JSON here ('-' for stdout)."),
    resize: bool = typer.Option(False, "--resize", help="resize images and convert their channels to fit."),
    overwrite: bool = OVERWRITE,
    threads: int | None = THREADS,
) -> None:
    """Predicted class and confidence for each input, preprocessed as the artifact's metadata says.

    Inputs: 8-bit or 16-bit PNG/JPEG (float TIFF in [0, 1] or [0, 255]); .npy/.npz arrays of uint8, uint16 or
    floats in [0, 1]. Images over 50 million pixels are refused (environment variable SNNDEPLOY_MAX_PIXELS).

    Confidence (snndeploy.core.readout): the softmax probability of the predicted class for a network trained
    with cross-entropy; for MSE training (the default) the predicted class's readout clipped to [0, 1], which
    was trained to reach 1 (not a probability).

    An input's result depends on its pixels, --seed and its position among the inputs only (up to float
    rounding), never on the other inputs: checkpoints and --noise input graphs/engines are fed draws seeded by
    (seed, position), the same draws for both; --noise frozen artifacts draw nothing; --noise graph graphs run
    one input at a time, each random node seeded from --seed (same results for the same ONNX Runtime version).
    TensorRT engines draw no noise of their own (`build` refuses random ops, which TensorRT fixes at build time,
    unless --frozen-noise accepts them as frozen)."""
    check_output_file(json_path, "--json", overwrite)
    if T is not None:
        check_T(T, "--T")  # 0 too: not taken for "not given"
    runner = open_runner(artifact, T=5 if T is None else T, device=device, seed=seed)
    if T is not None and runner.T != T:  # a graph or engine is unrolled over its T: another is not a choice
        raise SnnDeployError(f"{artifact} runs at T = {runner.T} (its own); --T {T} applies to checkpoints, so export "
                             f"the checkpoint at T = {T} (snndeploy export CKPT --T {T})")
    names, x = load_inputs(inputs, runner.spec, adapt=resize)
    with runner, Bar(enabled=console.is_terminal and json_path != "-") as bar:
        task = bar.start(f"{runner.backend}, T={runner.T}", len(x))
        # chunks of at most runner.max_batch (one image per run where the graph draws its own noise)
        logits = runner.infer_seeded(x, seed, on_chunk=lambda n: bar.advance(task, steps=n))
    index, conf = confidence(logits, trained_loss(runner.facts))
    classes = runner.spec.class_names
    preds = [{"input": n, "class": classes[int(k)], "index": int(k), "confidence": float(c)}
             for n, k, c in zip(names, index, conf, strict=True)]
    if json_path == "-":
        typer.echo(json.dumps({"T": runner.T, "backend": runner.backend, "predictions": preds}))
        return
    console.print(table(f"{runner.backend}, T={runner.T}", ["input", "class", "confidence"],
                        [[p["input"], p["class"], f"{p['confidence']:.3f}"] for p in preds]))
    if json_path:
        atomic.write_json(json_path, json_safe({"T": runner.T, "backend": runner.backend, "predictions": preds}))
