"""Noisy T=1 training time per epoch against the same network as a ReLU ANN, side by side in one run.

The noisy network runs twice: with its noise from a bank read at random offsets (the default) and with
fresh draws (`--noise-draws fresh`). Each method's epochs are those `snndeploy train` runs
(snndeploy.training.train.train_epoch, default optimizer, scheduler and seeding), interleaved round by round
(snndeploy/bench/train_study/methods.py).

    python benchmarks/train_speed.py [--model paper-cnn] [--rounds 3] [--bptt-T 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import platform

import torch
from rich.console import Console
from rich.table import Table

from snndeploy.bench.train_study.methods import Method, compare_epoch_time
from snndeploy.core.atomic import write_json
from snndeploy.data.datasets import load_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="paper-cnn")
    parser.add_argument("--dataset", default="sample")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-batches", type=int, default=None, help="truncate each epoch (quick looks)")
    parser.add_argument("--bptt-T", type=int, default=0, help="also time direct BPTT training at this T")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    data = load_dataset(args.dataset, args.data_dir)
    methods = [Method("ann"), Method("noise"), Method("noise", draws="fresh")]
    methods += [Method("bptt", args.bptt_T)] if args.bptt_T else []
    rows = compare_epoch_time(args.model, methods, data, batch_size=args.batch_size, rounds=args.rounds,
                              max_batches=args.max_batches)
    part = f"first {rows[0]['images']} of {len(data.train)} images" if args.max_batches else f"{len(data.train)} images"
    table = Table(title=f"training time per epoch, {args.model} on {args.dataset} ({part}), "
                        f"batch {args.batch_size}, median of {args.rounds}")
    for col in ("method", "s / epoch", "samples / s", "time vs ANN", "vs ANN, same round"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["label"], f"{r['epoch_s']:.2f}", f"{r['samples_per_s']:.0f}", f"{r['ratio_to_first']:.2f}x",
                      f"{r['round_ratio_to_first']:.2f}x")
    Console().print(table)
    machine = {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
               "torch": torch.__version__}
    if args.json:
        write_json(args.json, {"machine": machine, "results": rows})


if __name__ == "__main__":
    main()
