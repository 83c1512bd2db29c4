"""Does the noise bank keep the method's accuracy? Train the noisy T = 1 network with its noise from a bank
(the default) and from fresh draws, for several seeds, and evaluate stage 3 at several T, each trained model
once with bank noise and once with fresh noise at inference. Same data, settings and seeds otherwise.

    python benchmarks/noise_draws_accuracy.py [--model small-cnn] [--seeds 0,1,2] [--T 1,5,10] [--json out.json]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from snndeploy.core.atomic import write_json
from snndeploy.core.config import NOISE_DRAWS, TrainConfig
from snndeploy.evaluation.evaluate import test_split_for
from snndeploy.training import checkpoint as ckpt
from snndeploy.training.accuracy import sweep
from snndeploy.training.train import train


def ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",")]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="small-cnn")
    p.add_argument("--dataset", default="sample")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seeds", type=ints, default=[0, 1, 2])
    p.add_argument("--T", type=ints, default=[1, 5, 10])
    p.add_argument("--limit-train", type=int, default=None)
    p.add_argument("--limit-test", type=int, default=None)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    console = Console()
    tmp = Path(tempfile.mkdtemp(prefix="snndeploy-draws-"))
    runs = []
    for seed in args.seeds:
        for draws in NOISE_DRAWS:
            cfg = TrainConfig(model=args.model, dataset=args.dataset, data_dir=args.data_dir, epochs=args.epochs,
                              seed=seed, noise_draws=draws, limit_train=args.limit_train,
                              limit_test=args.limit_test, out=str(tmp / f"{draws}{seed}"))
            t0 = time.perf_counter()
            result = train(cfg, show_progress=False)
            seconds = time.perf_counter() - t0
            ck = ckpt.load(result.path)
            split, spec = test_split_for(ck.facts, args.data_dir, args.limit_test)
            for eval_draws in NOISE_DRAWS:
                ck.model.set_draws(eval_draws)
                for row in sweep(ck.model, ck.neuron, split, spec, args.T, 3, [ck.neuron.alpha], seed=seed):
                    runs.append({"seed": seed, "train_draws": draws, "eval_draws": eval_draws, "T": row["T"],
                                 "accuracy": row["accuracy"], "train_s": seconds})
            console.print(f"seed {seed}, {draws} draws: trained in {seconds:.0f} s; stage 3 "
                          + ", ".join(f"T={r['T']} {100 * r['accuracy']:.2f}%" for r in runs[-2 * len(args.T):]))
    summary = []
    for train_draws in NOISE_DRAWS:
        for eval_draws in NOISE_DRAWS:
            for T in args.T:
                accs = [r["accuracy"] for r in runs
                        if (r["train_draws"], r["eval_draws"], r["T"]) == (train_draws, eval_draws, T)]
                summary.append({"train_draws": train_draws, "eval_draws": eval_draws, "T": T,
                                "mean": statistics.fmean(accs), "min": min(accs), "max": max(accs),
                                "std": statistics.pstdev(accs), "per_seed": accs})
    t = Table(title=f"stage-3 accuracy %, {args.model} on {args.dataset}, {args.epochs} epochs, "
                    f"seeds {','.join(map(str, args.seeds))}")
    for col in ("train noise", "eval noise", "T", "mean", "min - max (seed spread)", "per seed"):
        t.add_column(col, justify="right")
    for s in summary:
        t.add_row(s["train_draws"], s["eval_draws"], str(s["T"]), f"{100 * s['mean']:.2f}",
                  f"{100 * s['min']:.2f} - {100 * s['max']:.2f}", " ".join(f"{100 * a:.2f}" for a in s["per_seed"]))
    console.print(t)
    if args.json:
        write_json(args.json, {"machine": {"cpu": platform.processor() or platform.machine(),
                                           "threads": torch.get_num_threads(), "torch": torch.__version__},
                               "config": {k: v for k, v in vars(args).items() if k != "json"},
                               "runs": runs, "summary": summary})


if __name__ == "__main__":
    main()
