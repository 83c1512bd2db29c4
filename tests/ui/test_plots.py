"""PNG plots: training curves name their loss and T, latency points carry their spread and no trend line."""

import pytest
from matplotlib.container import ErrorbarContainer

from snndeploy.ui import plots

HISTORY = [{"epoch": e, "train_loss": 1.0 / e, "train_acc": 0.5 + e / 10, "val_acc": 0.4 + e / 10} for e in (1, 2, 3)]


@pytest.fixture
def axes(monkeypatch):
    """The axes of every figure saved."""
    seen = []
    real = plots.save_png

    def keep(fig, path):
        seen.extend(fig.axes)
        return real(fig, path)

    monkeypatch.setattr(plots, "save_png", keep)
    return seen


def labels(ax):
    return [line.get_label() for line in ax.get_lines()]


@pytest.mark.parametrize(("loss", "name"), [("mse", "MSE"), ("ce", "cross-entropy")])
def test_training_curves_name_the_loss_and_the_T_of_test_accuracy(tmp_path, axes, loss, name):
    path = plots.training_curves(HISTORY, tmp_path / "curves.png", "small-cnn on sample", loss=loss, T=1)
    assert path.read_bytes()[:4] == b"\x89PNG"
    ax_loss, ax_acc = axes
    assert ax_loss.get_ylabel() == f"{name} loss" and labels(ax_loss) == [f"train loss ({name})"]
    assert ax_acc.get_ylabel() == "accuracy at T = 1" and labels(ax_acc) == ["train (T = 1)", "test (T = 1)"]


def test_training_curves_of_bptt_say_its_T(tmp_path, axes):
    plots.training_curves(HISTORY, tmp_path / "curves.png", loss="ce", T=4)
    assert labels(axes[1]) == ["train (T = 4)", "test (T = 4)"]


def test_latency_points_have_p10_p90_bars_and_no_line_between_them(tmp_path, axes):
    rows = [{"backend": b, "status": "ok", "T": T, "batch": 1, "p10_ms": p - 0.1, "p50_ms": p, "p90_ms": p + 0.3}
            for b, base in (("pytorch-cpu", 1.0), ("onnxruntime-cpu", 0.5)) for T, p in ((1, base), (5, 3 * base),
                                                                                        (10, 2 * base))]
    rows.append({"backend": "tensorrt", "status": "no GPU", "T": 1, "batch": 1})
    plots.latency_vs_T(rows, {1: 1.0, 5: 4.0, 10: 7.5}, tmp_path / "latency.png")
    (ax,) = axes
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 2 and all(c.has_yerr for c in bars)
    for c in bars:
        assert c.lines[0].get_linestyle() == "None"  # points only
        lows = sorted(seg[0, 1] for seg in c.lines[2][0].get_segments())
        assert lows == pytest.approx(sorted(c.lines[0].get_ydata() - 0.1))  # down to p10
    # the one line drawn is the MAC-count reference, a model rather than a join of measured points
    drawn = [line for line in ax.get_lines() if line.get_linestyle() != "None"]
    assert [line.get_label() for line in drawn] == ["MAC count growth from the fastest T=1"]


def eval_rows(std=True):
    """Rows as `eval` returns them: stage 3 at alpha = 4 and alpha = inf, T = 1, 2, 3, with or without a spread."""
    return [{"T": T, "stage": 3, "alpha": alpha, "accuracy": acc, **({"accuracy_std": 0.01} if std else {})}
            for alpha in (4.0, float("inf")) for T, acc in ((3, 0.95), (1, 0.9), (2, 0.93))]


def test_eval_plot_ticks_at_the_evaluated_T_with_std_bars_and_alpha_inf_as_stage_2(tmp_path, axes):
    plots.accuracy_vs_T(eval_rows(), tmp_path / "eval.png", "run")
    (ax,) = axes
    assert list(ax.get_xticks()) == [1, 2, 3]  # integers only, no T = 1.5
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 2 and all(c.has_yerr for c in bars)
    lows = sorted(seg[0, 1] for seg in bars[0].lines[2][0].get_segments())
    assert lows == pytest.approx([89.0, 92.0, 94.0])  # accuracy - std, in %
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["stage 3 (alpha = 4)", "stage 2 (alpha = inf)"]
    # the two series sit side by side around each T, so equal accuracies do not hide each other
    xs = [c.lines[0].get_xdata() for c in bars]
    assert all(a < b for a, b in zip(*xs, strict=True)) and all(abs(x - round(x)) < 0.2 for x in xs[0])


def test_eval_plot_without_a_spread_draws_plain_lines(tmp_path, axes):
    plots.accuracy_vs_T(eval_rows(std=False) + [{"T": 1, "stage": 2, "alpha": None, "accuracy": 0.8}],
                        tmp_path / "eval.png")
    (ax,) = axes
    assert not [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert [t.get_text() for t in ax.get_legend().get_texts()][-1] == "stage 2"


def test_training_curves_tick_whole_epochs(tmp_path, axes):
    plots.training_curves(HISTORY, tmp_path / "curves.png")
    for ax in axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)


def _front_axes(tmp_path, monkeypatch, rows):
    from snndeploy.bench import output

    seen = {}
    real = output.finish

    def keep(fig, ax, path, **kw):
        renderer = fig.canvas.get_renderer()  # before the figure is saved and closed
        seen["ax"], seen["boxes"] = ax, [t.get_window_extent(renderer) for t in ax.texts]
        return real(fig, ax, path, **kw)

    monkeypatch.setattr(output, "finish", keep)
    output.plot_front(tmp_path / "bench.png", rows)
    return seen["ax"], seen["boxes"]


def _front_row(backend, T, p50, acc):
    return {"artifact": "a.onnx", "backend": backend, "precision": "fp32", "status": "ok", "T": T, "batch": 1,
            "p10_ms": 0.9 * p50, "p50_ms": p50, "p90_ms": 1.2 * p50, "accuracy": acc}


def test_front_plot_latency_is_log_and_its_T_labels_do_not_overlap(tmp_path, monkeypatch):
    # ONNX Runtime at a fraction of a millisecond, PyTorch at tens; two backends with the same point at T=5
    rows = [_front_row("onnxruntime-cpu", T, 0.05 * T, acc) for T, acc in ((1, 0.9), (5, 0.95))]
    rows += [_front_row("pytorch-cpu", T, 10.0 * T, acc) for T, acc in ((1, 0.9), (5, 0.95))]
    rows += [_front_row("onnxruntime-cuda", 5, 0.25, 0.95)]
    ax, boxes = _front_axes(tmp_path, monkeypatch, rows)
    assert ax.get_xscale() == "log"
    assert len(boxes) == 5
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), "two T labels overlap"


def test_each_method_has_one_colour_in_every_bench_train_figure():
    from snndeploy.bench.train_study.report import method_colour

    assert method_colour("bptt T=5") == method_colour("bptt T=10") == method_colour("bptt T=5 (trained)")
    assert method_colour("noise") == method_colour("noise, stage 1 (T=1)")
    assert method_colour("ann") == method_colour("ann (trained)")
    names = ["noise", "noise (uniform)", "ann", "bptt T=5", "spikingjelly bptt T=5", "conversion"]
    assert len({method_colour(n) for n in names}) == len(names)


def test_time_and_target_figures_colour_a_method_alike(tmp_path, monkeypatch):
    from matplotlib.colors import to_hex

    from snndeploy.bench.train_study import report

    hist = [{"accuracy": 0.5, "accuracy_stage1": 0.4, "train_s_cum": 1.0}, {"accuracy": 0.9, "accuracy_stage1": 0.8,
                                                                             "train_s_cum": 2.0}]
    rows = {label: {"history": hist, "time_to_target": {"reached": True, "train_s": 2.0}}
            for label in ("ann", "bptt T=5", "noise")}  # an order other than the colour table's
    result = {"config": {"T": 5, "target": 0.8}, "rows": rows}
    figs = []
    monkeypatch.setattr(report, "save_png", lambda fig, path: figs.append(fig) or path)
    monkeypatch.setattr(report, "finish", lambda fig, ax, path, **kw: figs.append(fig) or path)
    report.plot_accuracy_vs_time(result, tmp_path / "time.png")
    report.plot_time_to_target(result, tmp_path / "target.png")
    lines = {line.get_label(): to_hex(line.get_color()) for line in figs[0].axes[0].get_lines()}
    bars = {t.get_text(): to_hex(p.get_facecolor()) for t, p in zip(figs[1].axes[0].get_xticklabels(),
                                                                     figs[1].axes[0].patches, strict=True)}
    assert lines["ann"] == bars["ann"] and lines["bptt T=5"] == bars["bptt T=5"]
    assert lines["noise, stage 3 (T=5)"] == bars["noise"]
