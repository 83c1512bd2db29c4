"""Tests for snndeploy.data.datasets: the bundled sample, batching, and offline loaders."""

import pickle
import re
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
from fakes import fake_mnist
from PIL import Image

from snndeploy.core.errors import SnnDeployError
from snndeploy.core.spec import DataSpec
from snndeploy.data.datasets import (
    DATASETS,
    Split,
    iterate_arrays,
    iterate_batches,
    load_dataset,
    normalize,
    normalize_array,
    sample_path,
)


@pytest.fixture(scope="module")
def sample():
    return load_dataset("sample")


def test_sample_shapes_and_classes(sample):
    assert sample_path().is_file()
    assert len(sample.train) == 4000 and len(sample.test) == 1000
    assert sample.train.images.dtype == np.uint8 and sample.train.images.shape == (4000, 1, 28, 28)
    assert sample.test.labels.dtype == np.int64 and sample.test.labels.shape == (1000,)
    spec = sample.spec
    assert spec.input_shape == (1, 28, 28) and spec.num_classes == 10
    assert spec.class_names == tuple("0123456789")
    assert spec.mean == (0.1307,) and spec.std == (0.3081,)
    # stratified: 400 train and 100 test images per digit, mixed order
    assert np.bincount(sample.train.labels).tolist() == [400] * 10
    assert np.bincount(sample.test.labels).tolist() == [100] * 10
    assert len(set(sample.train.labels[:20].tolist())) > 3
    assert 30 < sample.train.images.astype(np.float64).mean() < 37


def test_sample_split_is_deterministic_and_limited(sample):
    again = load_dataset("sample", limit_train=100, limit_test=7)
    assert np.array_equal(again.train.images, sample.train.images[:100])
    assert np.array_equal(again.test.labels, sample.test.labels[:7])


def test_spec_dict_roundtrip(sample):
    d = sample.spec.to_dict()
    assert DataSpec.from_dict(d) == sample.spec
    with pytest.raises(SnnDeployError, match="unknown keys: extra"):
        DataSpec.from_dict({**d, "extra": 1})
    with pytest.raises(SnnDeployError, match="missing keys: std"):
        DataSpec.from_dict({k: v for k, v in d.items() if k != "std"})
    with pytest.raises(SnnDeployError, match="inconsistent"):
        DataSpec.from_dict({**d, "mean": [0.1, 0.2]})


def test_normalize_math():
    spec = DataSpec("x", 2, 1, 1, ("a", "b"), (0.5, 0.0), (0.25, 1.0))
    x = torch.tensor([[[[0]], [[255]]], [[[255]], [[0]]]], dtype=torch.uint8).unsqueeze(0)  # [1,2,2,1,1]
    out = normalize(x, spec)
    assert out.dtype == torch.float32 and out.shape == x.shape
    assert torch.allclose(out.flatten(), torch.tensor([-2.0, 1.0, 2.0, 0.0]))
    with pytest.raises(SnnDeployError):
        normalize(x.float(), spec)


def test_batches_cover_each_sample_once(sample):
    split = Split(sample.train.images[:103], np.arange(103))
    gen = torch.Generator().manual_seed(1)
    batches = list(iterate_batches(split, sample.spec, 10, shuffle=True, generator=gen))
    assert [len(y) for _, y in batches] == [10] * 10 + [3]
    seen = torch.cat([y for _, y in batches])
    assert sorted(seen.tolist()) == list(range(103)) and seen.tolist() != list(range(103))
    x, _ = batches[0]
    assert x.dtype == torch.float32 and x.shape == (10, 1, 28, 28)
    assert torch.allclose(x, normalize(torch.from_numpy(split.images[batches[0][1].numpy()]), sample.spec))


def test_batches_same_seed_same_order_and_drop_last(sample):
    split = Split(sample.test.images[:50], np.arange(50))

    def order(seed: int, **kw) -> list[int]:
        gen = torch.Generator().manual_seed(seed)
        batches = iterate_batches(split, sample.spec, 8, shuffle=True, generator=gen, **kw)
        return torch.cat([y for _, y in batches]).tolist()

    assert order(3) == order(3) != order(4)
    assert len(order(3, drop_last=True)) == 48
    plain = [y.tolist() for _, y in iterate_batches(split, sample.spec, 25, shuffle=False)]
    assert plain == [list(range(25)), list(range(25, 50))]
    for batches in (iterate_batches(split, sample.spec, 0, shuffle=False), iterate_arrays(split, sample.spec, 0)):
        with pytest.raises(SnnDeployError) as err:
            next(batches)
        assert str(err.value) == "--batch-size (batch_size) must be a positive integer, got 0"


def test_augment_rgb_keeps_shape_and_is_deterministic():
    spec = DataSpec("rgb", 3, 32, 32, ("a", "b"), (0.5,) * 3, (0.5,) * 3)
    images = np.random.default_rng(0).integers(0, 256, (20, 3, 32, 32), dtype=np.uint8)
    split = Split(images, np.zeros(20, dtype=np.int64))

    def run(seed: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        return torch.cat([x for x, _ in iterate_batches(split, spec, 8, shuffle=False, generator=gen, augment=True)])

    a = run(0)
    assert a.shape == (20, 3, 32, 32) and torch.equal(a, run(0)) and not torch.equal(a, run(1))
    assert not torch.equal(a, normalize(torch.from_numpy(split.images), spec))
    # each augmented image is a shifted (maybe mirrored) window of the zero-padded original
    padded = torch.nn.functional.pad(normalize(torch.from_numpy(split.images), spec), (4, 4, 4, 4), value=-1.0)
    for i in range(20):
        windows = [padded[i, :, dy : dy + 32, dx : dx + 32] for dy in range(9) for dx in range(9)]
        assert any(torch.equal(a[i], w) or torch.equal(a[i], w.flip(-1)) for w in windows)


def test_augment_is_noop_for_gray(sample):
    split = Split(sample.test.images[:16], sample.test.labels[:16])
    gen = torch.Generator().manual_seed(0)
    ((x, _),) = iterate_batches(split, sample.spec, 16, shuffle=False, generator=gen, augment=True)
    assert torch.equal(x, normalize(torch.from_numpy(split.images), sample.spec))


def test_fashion_mnist_offline(tmp_path):
    fake_mnist(tmp_path, "FashionMNIST")
    for where in (tmp_path, tmp_path / "FashionMNIST", tmp_path / "FashionMNIST" / "raw"):
        ds = load_dataset("fashion-mnist", where, limit_test=3)
        assert ds.train.images.shape == (12, 1, 28, 28) and ds.train.images.dtype == np.uint8
        assert ds.train.labels.tolist() == [i % 10 for i in range(12)] and len(ds.test) == 3
        assert ds.spec.class_names[0] == "T-shirt/top" and ds.spec.mean == (0.2860,)


def test_mnist_offline_missing_files(tmp_path):
    fake_mnist(tmp_path, "MNIST")
    assert load_dataset("mnist", tmp_path).spec.num_classes == 10
    (tmp_path / "other").mkdir()  # a sibling of MNIST/ is not mistaken for the dataset folder
    with pytest.raises(SnnDeployError, match="missing train-images-idx3-ubyte"):
        load_dataset("mnist", tmp_path / "other")
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    message = r"mnist: missing t10k-labels-idx1-ubyte in .*MNIST/raw; --data-dir \(data_dir\) must hold MNIST/raw/"
    with pytest.raises(SnnDeployError, match=message):
        load_dataset("mnist", tmp_path)


def test_cifar10_offline(tmp_path, monkeypatch):
    # torchvision checks the md5 of every CIFAR file against the real archive's, which fake
    # files cannot match; so the check is patched to "file exists" for this test only.
    import torchvision.datasets.cifar as tv_cifar

    monkeypatch.setattr(tv_cifar, "check_integrity", lambda path, md5=None: Path(path).is_file())
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), "labels": [0, 1, 2, 9]}
        (base / name).write_bytes(pickle.dumps(batch))
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    (base / "batches.meta").write_bytes(pickle.dumps({"label_names": names}))
    first = pickle.loads((base / "data_batch_1").read_bytes())["data"][0]
    for where in (tmp_path, base):
        ds = load_dataset("cifar10", where)
        assert ds.train.images.shape == (20, 3, 32, 32) and ds.test.images.shape == (4, 3, 32, 32)
        assert np.array_equal(ds.train.images[0], first.reshape(3, 32, 32))
        assert ds.spec.class_names == tuple(names) and ds.spec.input_shape == (3, 32, 32)


def test_download_failure_is_one_line(tmp_path, monkeypatch):
    import torchvision.datasets.mnist as tv_mnist

    def offline(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", offline)
    monkeypatch.setenv("SNNDEPLOY_DATA", str(tmp_path / "cache"))
    with pytest.raises(SnnDeployError, match="could not download mnist .*pass --data-dir DIR") as err:
        load_dataset("mnist")
    assert "\n" not in str(err.value)


def _png(path: Path, value: int, size=(6, 5), mode: str = "L") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 0, 255 - value)).save(path)


def test_folder_dataset_split(tmp_path):
    for k, cls in enumerate(("cat", "dog")):
        for i in range(5):
            _png(tmp_path / cls / f"{i}.png", 40 * k + i)
    ds = load_dataset("folder", tmp_path)
    assert ds.spec.class_names == ("cat", "dog") and ds.spec.input_shape == (1, 5, 6)
    assert len(ds.train) == 8 and len(ds.test) == 2
    assert sorted(ds.test.labels.tolist()) == [0, 1]
    pixels = torch.from_numpy(ds.train.images).float() / 255
    assert ds.spec.mean[0] == pytest.approx(pixels.mean().item()) and ds.spec.std[0] > 0
    again = load_dataset("folder", tmp_path)
    assert np.array_equal(again.train.images, ds.train.images) and np.array_equal(again.test.labels, ds.test.labels)


def test_folder_dataset_train_test_rgb_resized(tmp_path):
    _png(tmp_path / "train" / "a" / "x.png", 10, size=(8, 8), mode="RGB")
    _png(tmp_path / "train" / "b" / "y.jpg", 200, size=(12, 10))
    _png(tmp_path / "val" / "b" / "z.png", 100, size=(4, 4))
    ds = load_dataset("folder", tmp_path, image_size=16)
    assert ds.spec.input_shape == (3, 16, 16) and ds.spec.class_names == ("a", "b")
    assert len(ds.train) == 2 and ds.test.labels.tolist() == [1]
    assert len(ds.spec.mean) == 3


def test_folder_errors(tmp_path):
    with pytest.raises(SnnDeployError, match="no class subfolders"):
        load_dataset("folder", tmp_path)
    for i in range(5):
        _png(tmp_path / "a" / f"{i}.png", i)
    (tmp_path / "a" / "notes.txt").write_text("hi")
    with pytest.raises(SnnDeployError, match="notes.txt is not a PNG/JPEG"):
        load_dataset("folder", tmp_path)
    (tmp_path / "a" / "notes.txt").unlink()
    with pytest.raises(SnnDeployError, match="has one class folder .'a'.; a classifier needs at least two"):
        load_dataset("folder", tmp_path)
    for i in range(5):
        _png(tmp_path / "b" / f"{i}.png", 100 + i)
    (tmp_path / "a" / "2.png").write_text("not really a png")
    with pytest.raises(SnnDeployError, match=r"folder dataset: .*2\.png is not a readable image"):
        load_dataset("folder", tmp_path)


def test_folder_one_class_with_train_test_refused(tmp_path):
    _png(tmp_path / "train" / "only" / "x.png", 10)
    _png(tmp_path / "test" / "only" / "y.png", 20)
    with pytest.raises(SnnDeployError, match=r"train has one class folder \('only'\)"):
        load_dataset("folder", tmp_path)


def test_folder_16bit_float_and_oversized_images(tmp_path, monkeypatch):
    """16-bit PNGs keep their scale (Pillow's own conversion saturates them), float TIFFs in [0, 1] are read
    as intensities, and images over the pixel limit are refused from their header in one line."""
    from fakes import png_header_only

    for i, v in enumerate((1000, 30000, 65535)):
        (tmp_path / "a").mkdir(exist_ok=True)
        Image.fromarray(np.full((5, 6), v, np.uint16)).save(tmp_path / "a" / f"{i}.png")
        (tmp_path / "b").mkdir(exist_ok=True)
        Image.fromarray(np.full((5, 6), v / 65535, np.float32)).save(tmp_path / "b" / f"{i}.tif")
    # .tif is not a dataset suffix: name them .png (Pillow reads by content)
    for f in (tmp_path / "b").iterdir():
        f.rename(f.with_suffix(".png"))
    ds = load_dataset("folder", tmp_path)
    images = np.concatenate([ds.train.images, ds.test.images])
    labels = np.concatenate([ds.train.labels, ds.test.labels])
    for k in (0, 1):  # round(v / 65535 * 255), for the 16-bit (class a) and the float images (class b)
        assert sorted(set(images[labels == k].ravel().tolist())) == [4, 117, 255], k
    monkeypatch.setenv("SNNDEPLOY_MAX_PIXELS", "29")
    with pytest.raises(SnnDeployError, match=r"is 6x5 = 30 pixels, more than the limit of 29 "
                                             r"\(set SNNDEPLOY_MAX_PIXELS to raise it\)") as err:
        load_dataset("folder", tmp_path)
    assert "\n" not in str(err.value)
    monkeypatch.delenv("SNNDEPLOY_MAX_PIXELS")
    png_header_only(tmp_path / "a" / "bomb.png", 20000, 20000)
    with pytest.raises(SnnDeployError, match=r"bomb\.png is 20000x20000 = 400,000,000 pixels, more than the "
                                             r"limit of 50,000,000"):
        load_dataset("folder", tmp_path)


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (("imagenet",), {}, "unknown dataset 'imagenet'; choose one of: " + ", ".join(DATASETS)),
        (("mnist", "/no/such/dir"), {}, "mnist: --data-dir (data_dir) /no/such/dir does not exist or is not a "
                                        "folder; it must hold MNIST/raw/{train-images-idx3-ubyte,"
                                        "train-labels-idx1-ubyte,t10k-images-idx3-ubyte,t10k-labels-idx1-ubyte}"),
        (("sample",), {"limit_train": 0}, "--limit-train (limit_train) must be a positive integer, got 0"),
        (("sample",), {"limit_test": 2.5}, "--limit-test (limit_test) must be a positive integer, got 2.5"),
        (("sample",), {"image_size": 32}, "--image-size (image_size) only applies to the folder dataset, not 'sample'"),
        (("folder",), {}, "the folder dataset needs --data-dir (data_dir): a folder holding one subfolder per class"),
        (("sample", "/tmp"), {}, "the sample dataset is bundled and takes no --data-dir (data_dir)"),
    ],
)
def test_load_errors(args, kwargs, message):
    """Each message names the option as a flag, and as the key a config file spells differently."""
    with pytest.raises(SnnDeployError) as err:
        load_dataset(*args, **kwargs)
    assert str(err.value) == message


def test_empty_dir_names_expected_files(tmp_path):
    with pytest.raises(SnnDeployError, match=r"fashion-mnist: missing train-images-idx3-ubyte.*FashionMNIST/raw/"):
        load_dataset("fashion-mnist", tmp_path)
    with pytest.raises(SnnDeployError, match=r"cifar10: missing data_batch_1.*cifar-10-batches-py/"):
        load_dataset("cifar10", tmp_path)


def test_numpy_batches_match_the_training_batches(sample):
    """Runners read numpy batches without PyTorch: the same images, labels and normalisation, in order."""
    split = Split(sample.test.images[:70], sample.test.labels[:70])
    arrays = list(iterate_arrays(split, sample.spec, 32))
    tensors = list(iterate_batches(split, sample.spec, 32, shuffle=False))
    assert [len(y) for _, y in arrays] == [32, 32, 6]
    for (xa, ya), (xt, yt) in zip(arrays, tensors, strict=True):
        assert xa.dtype == np.float32 and np.array_equal(ya, yt.numpy())
        np.testing.assert_allclose(xa, xt.numpy(), rtol=0, atol=1e-6)
    assert np.allclose(normalize_array(np.array([[[[0]], [[255]]]], np.uint8), DataSpec(
        "x", 2, 1, 1, ("a",), (0.5, 0.25), (0.25, 0.375))).ravel(), [-2.0, 2.0])
    with pytest.raises(SnnDeployError, match="uint8 images"):
        normalize_array(np.zeros((1, 3, 2, 2), np.float32), sample.spec)


def _split_folder(root: Path, test: str = "test") -> None:
    """A folder dataset with its own split: train/ and ``test``/ sub-folders of two classes."""
    for half in ("train", test):
        for k, cls in enumerate(("cat", "dog")):
            for i in range(5):
                _png(root / half / cls / f"{i}.png", 40 * k + i)


@pytest.mark.parametrize("test", ["test", "val"])
def test_half_of_a_split_folder_is_refused(tmp_path, test):
    """DIR/train of a folder with its own split would be re-split 80/20: accuracy measured on training images."""
    _split_folder(tmp_path / "data", test)
    root = re.escape(str((tmp_path / "data").resolve()))
    with pytest.raises(SnnDeployError, match=rf"^folder dataset: {root}/train is the training half of {root}'s own "
                                             rf"split \(its train/ and {test}/ sub-folders\): give --data-dir {root}$"):
        load_dataset("folder", tmp_path / "data" / "train")
    with pytest.raises(SnnDeployError, match=rf"{root}/{test} is the test half of {root}'s own split"):
        load_dataset("folder", tmp_path / "data" / test / ".")
    assert len(load_dataset("folder", tmp_path / "data").test) == 10


def test_folder_named_train_without_a_sibling_loads(tmp_path):
    """A flat folder that happens to be called train (no test/ beside it) is an ordinary 80/20 folder."""
    _split_folder(tmp_path / "data")
    (tmp_path / "data" / "test").rename(tmp_path / "data" / "testing")
    ds = load_dataset("folder", tmp_path / "data" / "train")
    assert len(ds.train) == 8 and len(ds.test) == 2
