"""core.readout: the one definition of an image's predicted class and confidence."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from snndeploy.core.config import TrainConfig
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.facts import ArtifactFacts
from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.core.readout import FALLBACK_LOSS, confidence, trained_loss
from snndeploy.core.spec import DataSpec

LOGITS = np.array([[0.1, 0.9, 0.2], [2.0, 1.5, -1.0], [-0.5, -0.2, -0.9], [1000.0, 0.0, -1000.0]], np.float32)


def test_cross_entropy_is_the_softmax_of_the_top_logit():
    index, conf = confidence(LOGITS, "ce")
    e = np.exp(LOGITS[:3].astype(np.float64))
    assert index.tolist() == [1, 0, 1, 0]
    assert np.allclose(conf[:3], e.max(1) / e.sum(1)) and conf[3] == 1.0  # no overflow on large logits
    assert index.dtype == np.int64 and conf.dtype == np.float64


@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_ties_go_to_the_first_class(loss):
    """Equal top logits: the first of them is the class (the module's rule); all equal under ce: 1/classes."""
    index, conf = confidence([[0.5, 0.8, 0.8], [0.3, 0.3, 0.3], [0.2, 0.1, 0.2]], loss)
    assert index.tolist() == [1, 0, 0]
    if loss == "ce":
        e = np.exp([0.5, 0.8, 0.8])
        assert np.allclose(conf, [e[1] / e.sum(), 1 / 3, np.exp(0.2) / np.exp([0.2, 0.1, 0.2]).sum()])
    else:
        assert np.allclose(conf, [0.8, 0.3, 0.2])


def test_mse_is_the_top_readout_clipped():
    index, conf = confidence(LOGITS, "mse")
    assert index.tolist() == [1, 0, 1, 0]
    assert np.allclose(conf, [0.9, 1.0, 0.0, 1.0])


def test_class_is_the_top_logit_not_the_top_clipped_score():
    index, conf = confidence([[1.2, 3.0, 0.5]], "mse")  # both first readouts clip to 1
    assert index.tolist() == [1] and conf.tolist() == [1.0]


def test_fallback_when_the_facts_lack_training():
    spec = DataSpec("sample", 1, 28, 28, tuple("0123456789"), (0.5,), (0.25,))
    facts = ArtifactFacts(model="small-cnn", data=spec, neuron=NeuronConfig())
    assert facts.training is None and trained_loss(facts) == FALLBACK_LOSS == TrainConfig().loss == "mse"
    ce = dataclasses.replace(facts, training=TrainConfig(loss="ce"))
    assert trained_loss(ce) == "ce"


def test_bad_arguments_are_one_line_errors():
    with pytest.raises(SnnDeployError, match="unknown loss 'softmax'"):
        confidence(LOGITS, "softmax")
    for bad in (np.zeros(3), np.zeros((2, 0)), np.zeros((1, 2, 3))):
        with pytest.raises(SnnDeployError, match=r"logits must have shape \[N, classes\]"):
            confidence(bad, "mse")
    index, conf = confidence(np.zeros((0, 10)), "ce")
    assert index.shape == conf.shape == (0,)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, max_side=6),
                  elements=st.floats(-1e6, 1e6, width=32)), st.sampled_from(["mse", "ce"]))
def test_each_row_alone(logits, loss):
    """An image's answer is a function of its own logits: the same alone as among others, in [0, 1]."""
    index, conf = confidence(logits, loss)
    for i, row in enumerate(logits):
        k, c = confidence(row[None], loss)
        assert k[0] == index[i] and c[0] == conf[i] and 0 <= c[0] <= 1
