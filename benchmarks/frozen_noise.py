"""Frozen noise (drawn once at export, seeded) against fresh in-graph noise: test accuracy under
ONNX Runtime over several seeds, side by side, for deciding the export default.

    python benchmarks/frozen_noise.py CHECKPOINT [--T 5] [--seeds 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

from rich.console import Console
from rich.table import Table

from snndeploy.core.atomic import write_json
from snndeploy.evaluation.evaluate import evaluate_onnx
from snndeploy.export.exporter import ExportConfig, export


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint")
    p.add_argument("--T", type=int, nargs="+", default=[5])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="snndeploy-frozen-")
    table = Table(title=f"frozen vs in-graph noise, {args.seeds} seeds, onnxruntime")
    for col in ("T", "in-graph mean %", "in-graph sd", "frozen mean %", "frozen sd", "frozen - in-graph"):
        table.add_column(col, justify="right")
    rows = []
    for T in args.T:
        (g,) = export(args.checkpoint, ExportConfig(T=(T,), noise="graph", out=f"{tmp}/graph"))
        fresh = [evaluate_onnx(str(g.path), seed=s)[0].accuracy for s in range(args.seeds)]
        frozen = []
        for s in range(args.seeds):
            (f,) = export(args.checkpoint, ExportConfig(T=(T,), noise="frozen", seed=s, out=f"{tmp}/frozen{s}"))
            frozen.append(evaluate_onnx(str(f.path))[0].accuracy)
        row = {"T": T, "graph": fresh, "frozen": frozen, "graph_mean": statistics.fmean(fresh),
               "frozen_mean": statistics.fmean(frozen)}
        rows.append(row)
        table.add_row(str(T), f"{100 * row['graph_mean']:.2f}", f"{100 * statistics.pstdev(fresh):.2f}",
                      f"{100 * row['frozen_mean']:.2f}", f"{100 * statistics.pstdev(frozen):.2f}",
                      f"{100 * (row['frozen_mean'] - row['graph_mean']):+.2f}")
    Console().print(table)
    if args.json:
        write_json(args.json, {"checkpoint": args.checkpoint, "results": rows})


if __name__ == "__main__":
    main()
