"""The PyTorch runner runs all T steps of a batch at once (memory grows with T and the batch): it runs in batches
that fit, and refuses in one line a T at which not even one image fits (issue 20, item 7)."""

import numpy as np
import pytest
from conftest import make_checkpoint

from snndeploy.core import budget
from snndeploy.core.errors import SnnDeployError
from snndeploy.runners.torch_runner import TorchRunner, step_bytes


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    make_checkpoint(folder, "small-cnn")
    return folder


def test_a_T_at_which_one_image_cannot_fit_is_refused(folder, monkeypatch):
    monkeypatch.setattr(budget, "available_memory", lambda: 3_900_000_000)
    runner = TorchRunner(folder, T=100_000, compiled=False)
    x = np.zeros((4, *runner.spec.input_shape), np.float32)
    with runner, pytest.raises(SnnDeployError, match=r"^--T 100000 needs about \d+\.\d GB for small-cnn at batch 1 "
                                                     r"\(3\.9 GB available\); the largest T that fits is [\d,]+$"):
        runner.infer_seeded(x, 0)


def test_batches_shrink_to_fit_and_give_the_same_logits(folder, monkeypatch):
    x = np.random.default_rng(0).random((5, 1, 28, 28), np.float32)
    with TorchRunner(folder, T=3, compiled=False) as runner:
        whole = runner.infer_seeded(x, 7)
        monkeypatch.setattr(budget, "available_memory", lambda: 2 * 3 * step_bytes(runner.model))
        assert [n for _, n, _ in runner.chunks(x, 256)] == [2, 2, 1]
        np.testing.assert_allclose(runner.infer_seeded(x, 7), whole, atol=1e-5)
