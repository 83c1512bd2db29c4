"""Dataset files a library opens by path (the bundled sample for np.load, torchvision's MNIST files) are checked to
be regular files first (issue 20, item 4): a FIFO or a link to /dev/zero is one line, never a hang."""

import os
import threading

import pytest
from fakes import fake_mnist

from snndeploy.core.errors import SnnDeployError
from snndeploy.data import datasets


def outcome_within(call, fifo=None, seconds=30.0):
    """What ``call()`` raised or returned, run in a thread; if it still blocks after ``seconds`` the FIFO is opened
    for writing (which releases a reader blocked on it) and the test fails, rather than hang the suite."""
    result = {}

    def run():
        try:
            result["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            result["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        if fifo is not None:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("the reader blocked on a FIFO")
    return result


def test_a_fifo_for_the_bundled_sample_is_one_line(tmp_path, monkeypatch):
    fifo = tmp_path / "sample.npz"
    os.mkfifo(fifo)
    monkeypatch.setattr(datasets, "sample_path", lambda: fifo)
    out = outcome_within(datasets._load_sample, fifo)
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
    out = outcome_within(lambda: datasets.load_dataset("mnist", tmp_path), target if plant == "fifo" else None)
    assert isinstance(out.get("error"), SnnDeployError), out
    assert str(out["error"]).startswith("mnist file ") and str(out["error"]).endswith("is not a regular file")
