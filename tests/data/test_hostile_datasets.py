"""Dataset files a library opens by path (the bundled sample for np.load, torchvision's MNIST files) are checked to
be regular files first (issue 20, item 4): a FIFO or a link to /dev/zero is one line, never a hang."""

import os

import pytest
from fakes import fake_mnist
from hang import outcome_within, release_fifo

from snndeploy.core.errors import SnnDeployError
from snndeploy.data import datasets


def test_a_fifo_for_the_bundled_sample_is_one_line(tmp_path, monkeypatch):
    fifo = tmp_path / "sample.npz"
    os.mkfifo(fifo)
    monkeypatch.setattr(datasets, "sample_path", lambda: fifo)
    out = outcome_within(datasets._load_sample, release_fifo(fifo))
    assert isinstance(out.get("error"), SnnDeployError), out
    assert "is not a regular file" in str(out["error"]) and "\n" not in str(out["error"])


@pytest.mark.parametrize("plant", ["fifo", "dev_zero"])
def test_a_fifo_or_device_among_mnist_files_is_one_line(tmp_path, plant):
    fake_mnist(tmp_path, "MNIST")
    target = tmp_path / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    target.unlink()
    if plant == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/zero")
    release = release_fifo(target) if plant == "fifo" else None
    out = outcome_within(lambda: datasets.load_dataset("mnist", tmp_path), release)
    assert isinstance(out.get("error"), SnnDeployError), out
    assert str(out["error"]).startswith("mnist file ") and str(out["error"]).endswith("is not a regular file")
