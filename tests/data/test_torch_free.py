"""Every dataset but CIFAR-10 loads with numpy and Pillow alone, with the split and order PyTorch gave
(issue 21, item 1): folder splits reproduce torch.randperm bit for bit, MNIST's raw files are read as
torchvision reads them."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from fakes import fake_mnist
from PIL import Image

from snndeploy.core.errors import SnnDeployError
from snndeploy.data.datasets import SPLIT_SEED, load_dataset, randperm, split_generator


def test_randperm_is_torchs_bit_for_bit():
    for seed in (0, 1, 12345):
        g, bits = torch.Generator().manual_seed(seed), split_generator(seed)
        for n in (0, 1, 2, 3, 10, 257, 1000, 7):  # one generator drawn in turn, as a folder split does
            assert np.array_equal(randperm(n, bits), torch.randperm(n, generator=g).numpy()), (seed, n)


def _folder(root: Path, per_class: int = 7) -> Path:
    """Two classes of gray 6x5 PNGs, each image's pixels its own number (its identity after shuffling)."""
    for k, name in enumerate(("cat", "dog")):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.new("L", (6, 5), 10 * k + i).save(root / name / f"{i:02d}.png")
    return root


def _torch_split(per_class: int = 7) -> tuple[list[int], list[int]]:
    """The pixel values of train and test in the order the PyTorch code of snndeploy before issue 21 gave."""
    g = torch.Generator().manual_seed(SPLIT_SEED)
    train, test = [], []
    for k in range(2):
        perm = torch.randperm(per_class, generator=g).tolist()
        n_test = round(0.2 * per_class)
        test += [10 * k + i for i in perm[:n_test]]
        train += [10 * k + i for i in perm[n_test:]]
    g = torch.Generator().manual_seed(SPLIT_SEED)  # the shuffle of each split starts from the seed again
    train = [train[i] for i in torch.randperm(len(train), generator=g).tolist()]
    test = [test[i] for i in torch.randperm(len(test), generator=g).tolist()]
    return train, test


def test_a_folder_split_is_the_one_pytorch_made(tmp_path):
    ds = load_dataset("folder", _folder(tmp_path / "shapes"))
    train, test = _torch_split()
    assert ds.train.images[:, 0, 0, 0].tolist() == train and ds.test.images[:, 0, 0, 0].tolist() == test
    assert ds.train.labels.tolist() == [v // 10 for v in train]


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_raw_files_give_torchvisions_arrays(tmp_path, name, folder):
    import torchvision.datasets as tv

    fake_mnist(tmp_path, folder, n_train=13, n_test=6)
    ds = load_dataset(name, tmp_path)
    for split, train in ((ds.train, True), (ds.test, False)):
        theirs = getattr(tv, folder)(str(tmp_path), train=train, download=False)
        assert np.array_equal(split.images, theirs.data.numpy()[:, None]) and split.images.dtype == np.uint8
        assert np.array_equal(split.labels, theirs.targets.numpy()) and split.labels.dtype == np.int64
    assert list(ds.spec.class_names) == theirs.classes
    for f in (tmp_path / folder / "raw").iterdir():  # the same files gzipped (as torchvision downloads them)
        f.with_name(f.name + ".gz").write_bytes(gzip.compress(f.read_bytes()))
        f.unlink()
    zipped = load_dataset(name, tmp_path)
    assert np.array_equal(zipped.train.images, ds.train.images) and np.array_equal(zipped.test.labels, ds.test.labels)


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[:10], "is not a uint8 IDX file of 3 dimension"),
    (lambda b: b[:-1], "holds 10191 bytes of data, its header says (13, 28, 28)"),
    (lambda b: b"\0\0\x0d\3" + b[4:], "is not a uint8 IDX file"),
])
def test_a_damaged_idx_file_is_one_line(tmp_path, damage, message):
    fake_mnist(tmp_path, "MNIST", n_train=13)
    path = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(SnnDeployError) as err:
        load_dataset("mnist", tmp_path)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_bad_gzip_is_one_line(tmp_path):
    fake_mnist(tmp_path, "MNIST")
    raw = tmp_path / "MNIST" / "raw"
    (raw / "t10k-labels-idx1-ubyte").unlink()
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(np.arange(5000).tobytes())[:60])
    with pytest.raises(SnnDeployError, match=r"t10k-labels-idx1-ubyte.gz is truncated$"):
        load_dataset("mnist", tmp_path)


NO_TORCH = """
import sys, json
sys.modules["torch"] = None  # import torch now fails, as on the install without PyTorch
sys.modules["torchvision"] = None
from snndeploy.data.datasets import load_dataset
from snndeploy.core.errors import SnnDeployError
out = {}
for name, where in (("folder", sys.argv[1]), ("mnist", sys.argv[2]), ("sample", None)):
    ds = load_dataset(name, where)
    out[name] = [ds.train.images.tolist(), ds.train.labels.tolist(), ds.test.images.tolist(), ds.test.labels.tolist()]
try:
    load_dataset("cifar10", sys.argv[2])
except SnnDeployError as e:
    out["cifar10"] = str(e)
assert "torch" not in [m for m in sys.modules if sys.modules[m] is not None]
print(json.dumps(out))
"""


def test_datasets_load_without_pytorch(tmp_path):
    folder = _folder(tmp_path / "shapes")
    fake_mnist(tmp_path / "m", "MNIST")
    done = subprocess.run([sys.executable, "-c", NO_TORCH, str(folder), str(tmp_path / "m")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    for name, where in (("folder", folder), ("mnist", tmp_path / "m"), ("sample", None)):
        ds = load_dataset(name, where)  # here, with PyTorch
        assert out[name] == [ds.train.images.tolist(), ds.train.labels.tolist(), ds.test.images.tolist(),
                             ds.test.labels.tolist()], name
    assert out["cifar10"].startswith("torchvision.datasets is not installed: CIFAR-10's files are pickles")
    assert "\n" not in out["cifar10"]
