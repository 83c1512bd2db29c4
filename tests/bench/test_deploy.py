"""`snndeploy bench` as a library: row names, status rows for what cannot run, progress, environment."""

import dataclasses

import pytest
from conftest import make_checkpoint

from snndeploy.bench import deploy
from snndeploy.bench.deploy import OK, BenchConfig, bench_environment, run_bench, short_names
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.hashing import sha256
from snndeploy.export.exporter import ExportConfig, export
from snndeploy.ui.progress import Bar

FAST = {"batches": (1,), "Ts": (1,), "limit_test": 8, "iters": 1, "warmup": 0}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two untrained checkpoints in folders of the same name (a/run, b/run)."""
    root = tmp_path_factory.mktemp("runs")
    make_checkpoint(root / "a" / "run", "small-cnn", seed=0)
    make_checkpoint(root / "b" / "run", "small-cnn", seed=1)
    return root / "a" / "run", root / "b" / "run"


def test_short_names_are_file_or_folder_names_made_unique(tmp_path, two_runs):
    a, b = two_runs
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    assert short_names([str(a)]) == ["run"]
    assert short_names([str(a / "model.json")]) == ["run"]  # a checkpoint's JSON: its folder's name
    assert short_names([str(tmp_path / "x" / "m.onnx"), str(tmp_path / "y" / "n.onnx")]) == ["m.onnx", "n.onnx"]
    assert short_names([str(tmp_path / "x" / "m.onnx"), str(tmp_path / "y" / "m.onnx")]) == ["x/m.onnx", "y/m.onnx"]
    assert short_names([str(a), str(b)]) == ["a/run", "b/run"]
    same = str(tmp_path / "x" / "m.onnx")
    assert short_names([same, same]) == ["m.onnx (1)", "m.onnx (2)"]


def test_rows_name_their_artifact_uniquely(tmp_path, two_runs):
    rows = run_bench([str(p) for p in two_runs], BenchConfig(backends=("pytorch",), work=str(tmp_path), **FAST))
    assert [r.artifact for r in rows] == ["a/run", "b/run"]
    assert [r.path for r in rows] == [str(p) for p in two_runs]
    assert all(r.status == OK and r.noise == "bank" for r in rows)  # the CPU reads noise-bank windows


def test_pytorch_at_fp16_or_int8_is_a_status_row_not_an_fp32_measurement(tmp_path, two_runs):
    cfg = BenchConfig(backends=("pytorch",), precisions=("fp32", "fp16", "int8"), work=str(tmp_path), **FAST)
    rows = run_bench([str(two_runs[0])], cfg)
    assert [(r.precision, r.status) for r in rows] == [
        ("fp32", OK),
        ("fp16", "pytorch runs fp32 only; fp16 runs on --backend onnxruntime or tensorrt"),
        ("int8", "pytorch runs fp32 only; int8 runs on --backend onnxruntime or tensorrt")]
    assert rows[0].p50_ms > 0 and all(r.p50_ms is None and r.accuracy is None for r in rows[1:])


def test_a_graph_is_measured_at_its_own_precision_only(tmp_path, two_runs):
    (graph,) = export(two_runs[0], ExportConfig(T=(2,), out=str(tmp_path / "g")))
    cfg = BenchConfig(backends=("onnxruntime",), precisions=("fp16",), work=str(tmp_path), **FAST)
    (row,) = run_bench([str(graph.path)], cfg)
    assert row.precision == "fp16" and row.p50_ms is None and row.noise == "frozen"
    assert row.status.startswith(f"{graph.path.name} is an fp32 graph; --precision fp16 applies to checkpoints")
    (row,) = run_bench([str(graph.path)], BenchConfig(backends=("onnxruntime",), work=str(tmp_path), **FAST))
    assert row.precision == "fp32" and row.status == OK and row.T == 2


class RecordingBar(Bar):
    """A disabled Bar that records its tasks and how far each got."""

    def __init__(self, enabled: bool = True) -> None:
        super().__init__(enabled=False)
        self.asked = enabled
        self.tasks: dict[int, list] = {}

    def start(self, description: str, total: int) -> int:
        task = super().start(description, total)
        self.tasks[task] = [description, total, 0, None]
        return task

    def advance(self, task: int, status: str = "") -> None:
        super().advance(task, status)
        self.tasks[task][2] += 1

    def finish(self, task: int, status: str) -> None:
        super().finish(task, status)
        self.tasks[task][3] = status


def test_every_slow_step_is_a_progress_task(tmp_path, two_runs, monkeypatch):
    bars = []
    monkeypatch.setattr(deploy, "Bar", lambda enabled: bars.append(RecordingBar(enabled)) or bars[-1])
    cfg = BenchConfig(backends=("pytorch", "onnxruntime"), batches=(1, 2), Ts=(2,), limit_test=8, iters=3, warmup=0,
                      work=str(tmp_path))
    rows = run_bench([str(two_runs[0])], cfg, show_progress=True)
    assert len(rows) == 4 and all(r.status == OK for r in rows)
    (bar,) = bars
    assert bar.asked
    tasks = list(bar.tasks.values())
    assert [t[0] for t in tasks] == [
        "accuracy run pytorch-cpu fp32 T=2 (8 images)", "timing run pytorch-cpu fp32 T=2 batch 1",
        "timing run pytorch-cpu fp32 T=2 batch 2", "export run T=2 (onnx, fp32, noise frozen)",
        "accuracy run onnxruntime-cpu fp32 T=2 (8 images)", "timing run onnxruntime-cpu fp32 T=2 batch 1",
        "timing run onnxruntime-cpu fp32 T=2 batch 2"]
    assert all(t[3] for t in tasks)  # every task finished with a status
    accuracy, timing = tasks[0], tasks[1]
    assert accuracy[1:3] == [1, 1]  # one batch of 8 images
    assert timing[1] == 3 and timing[2] == 2  # advanced per timed run (the last step is the finish)
    assert timing[3].startswith("p50 ")


def test_environment_names_noise_device_and_hashes(tmp_path, two_runs):
    (graph,) = export(two_runs[0], ExportConfig(T=(2,), out=str(tmp_path / "g")))
    artifacts = [str(two_runs[0]), str(graph.path)]
    cfg = BenchConfig(backends=("pytorch", "onnxruntime"), work=str(tmp_path), **FAST)
    rows = run_bench(artifacts, cfg)
    env = bench_environment(artifacts, cfg, rows)
    assert env["noise"] == "bank, frozen" and env["device"] == "cpu" and env["iters"] == 1
    assert env["artifacts"] == {str(two_runs[0] / "model.json"): sha256(two_runs[0] / "model.json"),
                                str(graph.path): sha256(graph.path)}
    assert {"host", "cpu", "cores", "threads", "versions"} <= set(env)


def test_stats_columns_are_the_checkpoints_counts_at_each_rows_T(tmp_path, two_runs):
    from snndeploy.bench import output
    from snndeploy.evaluation import stats

    cfg = BenchConfig(backends=("pytorch", "onnxruntime"), work=str(tmp_path), stats=True,
                      **{**FAST, "Ts": (1, 2)})
    rows = run_bench([str(two_runs[0])], cfg)
    counted = stats.checkpoint_stats(two_runs[0], (1, 2), limit_test=8)
    assert len(rows) == 4
    for row in rows:  # every backend's row at T carries the counts of T, not another T's
        assert {k: getattr(row, k) for k in stats.bench_columns(counted, row.T)} == stats.bench_columns(counted, row.T)
    assert rows[0].acs != next(r for r in rows if r.T == 2).acs
    headers = [h for _, h in output.table_columns(rows)]
    assert headers[-1] == "status" and {"firing rate %", "SNN/ANN"} <= set(headers)
    assert "firing rate %" not in [h for _, h in output.table_columns([{k: v for k, v in rows[0].to_dict().items()
                                                                    if k not in output.STATS_COLUMNS}])]


def test_stats_show_once_per_artifact_and_T_on_the_console(tmp_path, two_runs):
    from snndeploy.bench import output

    cfg = BenchConfig(backends=("pytorch", "onnxruntime"), work=str(tmp_path), stats=True, **FAST)
    rows = run_bench([str(two_runs[0])], cfg)
    cells, _ = output.rows_with_notes(rows)
    assert len(cells[0]) == len(output.COLUMNS) - len(output.CONSOLE_OMITS)  # narrow: no stats, no p99 or MB
    headers, stats_cells = output.stats_table(rows)
    assert headers[:3] == ["artifact", "T", "firing rate %"] and len(stats_cells) == 1  # two backends, one network
    without = [{k: v for k, v in r.to_dict().items() if k not in output.STATS_COLUMNS} for r in rows]
    assert output.stats_table(without) == ([], [])


@pytest.mark.parametrize("device", ["tpu", "cuda0", "CPU", ""])
def test_an_unknown_device_is_refused_not_a_row_per_backend(device):
    with pytest.raises(SnnDeployError, match="--device must be one of cpu, cuda, tensorrt"):
        BenchConfig(device=device)
    BenchConfig(device="cuda:1")  # a GPU by index is a device name


def test_a_seeded_bench_repeats_its_accuracy(tmp_path, two_runs):
    cfg = BenchConfig(backends=("pytorch",), work=str(tmp_path), **{**FAST, "limit_test": 64, "Ts": (2,)})
    first, again = (run_bench([str(two_runs[0])], cfg)[0].accuracy for _ in range(2))
    other = [run_bench([str(two_runs[0])], dataclasses.replace(cfg, seed=s))[0].accuracy for s in (1, 2, 3)]
    assert first == again and any(a != first for a in other)  # the seed, not the run, decides the noise


def test_bench_finds_moved_data_through_data_dir(tmp_path):
    """A model trained on a folder whose data then moved: bench with data_dir measures it; without, one line
    naming --data-dir (not the folder loader's 'does not exist')."""
    from PIL import Image

    from snndeploy.core.config import TrainConfig
    from snndeploy.training.train import train

    data = tmp_path / "shapes"
    for k, name in enumerate(("dark", "light")):
        (data / name).mkdir(parents=True)
        for i in range(10):
            Image.new("L", (28, 28), 40 + 150 * k + i).save(data / name / f"{i}.png")
    trained = train(TrainConfig(dataset="folder", data_dir=str(data), epochs=1, out=str(tmp_path / "run")),
                    show_progress=False)
    moved = data.rename(tmp_path / "moved")
    cfg = {"backends": ("pytorch",), "work": str(tmp_path / "w"), **FAST}
    with pytest.raises(SnnDeployError, match=r"pass --data-dir DIR") as err:
        run_bench([str(trained.path)], BenchConfig(**cfg))
    assert str(data) in str(err.value) and "\n" not in str(err.value)
    (row,) = run_bench([str(trained.path)], BenchConfig(data_dir=str(moved), **cfg))
    assert row.status == OK and row.accuracy is not None
