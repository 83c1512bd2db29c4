"""PNG plots: training curves name their loss and T, latency points carry their spread and no trend line."""

import pytest
from matplotlib.container import ErrorbarContainer

from snndeploy import plots

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
