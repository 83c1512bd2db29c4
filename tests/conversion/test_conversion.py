"""ANN-to-SNN conversion: IF neurons, percentile thresholds, model surgery, accuracy rising with T."""

import numpy as np
import pytest
import torch

from snndeploy.conversion import ann_to_snn as conversion
from snndeploy.conversion.ann_to_snn import IFNode
from snndeploy.core.config import TrainConfig
from snndeploy.core.errors import SnnDeployError
from snndeploy.data.datasets import normalize_array
from snndeploy.models import LIFNode, build_model
from snndeploy.training.accuracy import accuracy, accuracy_by_T
from snndeploy.training.train import train


@pytest.fixture(scope="module")
def ann_run(tmp_path_factory):
    """small-cnn trained as a ReLU ANN for 3 epochs on 1024 sample images (about 92% on 200 test images)."""
    out = tmp_path_factory.mktemp("ann")
    cfg = TrainConfig(method="ann", epochs=3, lr=1e-3, limit_train=1024, limit_test=200, out=str(out))
    return train(cfg, show_progress=False)


def test_if_node_rate_codes_a_constant_current():
    th, T = 0.8, 40
    current = torch.tensor([0.13, 0.33, 0.79, 0.8, 1.5, -0.4])
    out = IFNode(th)(current.expand(T, 1, 6).contiguous())
    assert set(out.unique().tolist()) <= {0.0, torch.tensor(th).item()}
    # Reset by subtraction and a strict threshold (H > v_th, as every neuron here): ceil(T c / th) - 1 spikes,
    # so the rate times th is c to within th / T (clipped at th); c == th fires from the second step on.
    expected = (torch.ceil(T * current.clamp(min=0) / th) - 1).clamp(0, T) * th / T
    assert torch.allclose(out.mean(0)[0], expected)
    assert out[:, 0, 5].sum() == 0  # negative current: silent


def test_if_node_carry_splits_a_run_into_chunks():
    x = torch.rand(12, 3, 5)
    node = IFNode(0.5)
    whole = node(x)
    node.carry = True
    parts = torch.cat([node(x[:5]), node(x[5:])])
    assert torch.equal(whole, parts)
    node.reset_state()
    node.carry = False
    assert torch.equal(node(x), whole)  # no state kept between calls without carry


def test_calibrate_is_the_percentile_of_positive_activations(ann_run):
    model, data = ann_run.model, ann_run.dataset
    with model.using("stage3", training=True):
        th = conversion.calibrate(model, data.train, data.spec, images=64, percentile=99.0, batch_size=16)
        # calibrate runs the layers as ReLUs and puts back the mode and train flag it found
        assert all(n.mode == "stage3" for n in model.lif_nodes()) and model.training
    seen: list[list[torch.Tensor]] = [[] for _ in model.lif_nodes()]
    hooks = [n.register_forward_hook(lambda m, i, o, k=k: seen[k].append(o.flatten()))
             for k, n in enumerate(model.lif_nodes())]
    x = torch.from_numpy(normalize_array(data.train.images[:64], data.spec))
    with torch.no_grad(), model.using("ann", training=False):
        model(x, 1)
    for h in hooks:
        h.remove()
    for k, acts in enumerate(seen):
        pos = torch.cat(acts)
        pos = pos[pos > 0].numpy()
        assert th[k] == pytest.approx(float(np.percentile(pos, 99.0, method="inverted_cdf")), rel=1e-6)


def test_convert_replaces_every_node_and_leaves_the_original():
    model = build_model("resnet18", (3, 32, 32), 10).set_mode("ann")
    n = len(model.lif_nodes())
    snn = conversion.convert(model, [1.0 + i for i in range(n)])
    nodes = [m for m in snn.modules() if isinstance(m, IFNode)]
    assert len(nodes) == n == 17 and not any(isinstance(m, LIFNode) for m in snn.modules())
    assert [float(m.threshold) for m in nodes] == [1.0 + i for i in range(n)]
    assert isinstance(snn.body[1].lif1, IFNode) and isinstance(snn.body[1].lif2, IFNode)
    assert len(model.lif_nodes()) == n  # the source model is untouched
    with torch.no_grad():
        assert snn(torch.randn(2, 3, 32, 32), 3).shape == (2, 10)


def test_conversion_accuracy_rises_with_T_to_the_ann(ann_run):
    model, data = ann_run.model, ann_run.dataset
    ann_acc = accuracy(model, data.test, data.spec, 1, "ann")
    snn = conversion.convert(model, conversion.calibrate(model, data.train, data.spec, images=256))
    accs = conversion.conversion_accuracy(snn, data.test, data.spec, 256)
    assert ann_acc > 0.85
    assert accs[0] < 0.3  # one step: almost nothing reaches a 99.9th-percentile threshold
    assert accs[0] < accs[3] < accs[15] <= accs[255] + 0.02
    assert np.mean(accs[127:]) >= ann_acc - 0.02
    assert conversion.first_T_reaching(accs, ann_acc - 0.02) <= 256
    assert conversion.first_T_reaching(accs, 1.01) is None


def test_stepwise_prefix_equals_separate_runs(ann_run):
    model, data = ann_run.model, ann_run.dataset
    before = [n.mode for n in model.lif_nodes()]
    snn = conversion.convert(model, conversion.calibrate(model, data.train, data.spec, images=64))
    chunked = conversion.conversion_accuracy(snn, data.test, data.spec, 9, chunk=4, batch_size=50)
    lif = accuracy_by_T(model, data.test, data.spec, 6, mode="lif")
    for T in (1, 4, 5, 9):
        assert chunked[T - 1] == accuracy(snn, data.test, data.spec, T, "ann")
    for T in (1, 6):
        assert lif[T - 1] == accuracy(model, data.test, data.spec, T, "lif")
    assert [n.mode for n in model.lif_nodes()] == before  # evaluation leaves the shared model as it was


def test_bad_input(ann_run):
    model, data = ann_run.model, ann_run.dataset
    with pytest.raises(SnnDeployError, match="thresholds for 3 spiking layers"):
        conversion.convert(model, [1.0])
    with pytest.raises(SnnDeployError, match="positive number"):
        IFNode(0.0)
    with pytest.raises(SnnDeployError, match="at least 1 image"):
        conversion.calibrate(model, data.train, data.spec, images=0)
    with pytest.raises(SnnDeployError, match="percentile"):
        conversion.calibrate(model, data.train, data.spec, percentile=0)
    with pytest.raises(SnnDeployError, match="T must be >= 1"):
        accuracy_by_T(model, data.test, data.spec, 0)
    with pytest.raises(SnnDeployError, match="chunk"):
        conversion.conversion_accuracy(model, data.test, data.spec, 4, chunk=0)
