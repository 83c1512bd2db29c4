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
