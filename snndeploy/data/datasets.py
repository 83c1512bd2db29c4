"""Image classification datasets kept in memory as uint8 numpy arrays, normalised batch by batch."""

from __future__ import annotations

import dataclasses
import math
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..core.errors import SnnDeployError, first_line
from ..core.files import check_regular, limit, read_bytes
from ..core.images import read_image, to_array
from ..core.install import hint
from ..core.lazy import lazy_import
from ..core.spec import DataSpec
from ..core.validate import flag_name, option_name

# Training batches and augmentation need PyTorch; loading every dataset except CIFAR-10 does not (folder splits,
# the sample and MNIST / Fashion-MNIST's raw files are read with numpy and Pillow alone: the install without PyTorch
# evaluates and benchmarks on them).
torch = lazy_import("torch", hint("train", "PyTorch"))

DATASETS = ("sample", "mnist", "fashion-mnist", "cifar10", "folder")

SAMPLE_FILE = "mnist_sample.npz"
SAMPLE_TRAIN = 4000  # the bundled npz holds 4000 train images followed by 1000 test images
SPLIT_SEED = 0  # seed of every split/shuffle this module makes itself
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
TEST_FOLDERS = ("test", "val")  # a folder dataset's test half, beside train/ (test/ first)
_MNIST_FILES = [f"{p}-{k}-ubyte" for p in ("train", "t10k") for k in ("images-idx3", "labels-idx1")]
_MNIST_CLASSES = ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
                  "8 - eight", "9 - nine")  # torchvision's MNIST.classes
_FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                    "Ankle boot")  # torchvision's FashionMNIST.classes
_IDX_CLASSES = {"mnist": _MNIST_CLASSES, "fashion-mnist": _FASHION_CLASSES}
_CIFAR_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]
# dataset name -> (torchvision class, folder under torchvision's root holding the files, files, mean, std)
_TORCHVISION = {
    "mnist": ("MNIST", "MNIST/raw", _MNIST_FILES, (0.1307,), (0.3081,)),
    "fashion-mnist": ("FashionMNIST", "FashionMNIST/raw", _MNIST_FILES, (0.2860,), (0.3530,)),
    "cifar10": ("CIFAR10", "cifar-10-batches-py", _CIFAR_FILES, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
}


@dataclass(frozen=True)
class Split:
    """Images (uint8 [N,C,H,W]) and labels (int64 [N]) of one split, as numpy arrays: the runners of
    exported graphs read them without PyTorch; training turns each batch into tensors."""

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        x, y = self.images, self.labels
        ok = isinstance(x, np.ndarray) and isinstance(y, np.ndarray)
        if not ok or x.dtype != np.uint8 or x.ndim != 4 or y.dtype != np.int64 or y.shape != x.shape[:1]:
            got = f"{getattr(x, 'dtype', type(x))} {list(getattr(x, 'shape', []))} and " \
                  f"{getattr(y, 'dtype', type(y))} {list(getattr(y, 'shape', []))}"
            raise SnnDeployError(f"a split needs uint8 images [N,C,H,W] and int64 labels [N], got {got}")

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class Dataset:
    """A spec with its train and test splits, and how they were made (what `snndeploy train` reports)."""

    spec: DataSpec
    train: Split
    test: Split
    split: str = "the dataset's own train and test sets"  # where train and test come from
    resized: int = 0  # images resized on loading to the spec's height x width (folder datasets)


def sample_path() -> Path:
    """Path of the bundled 5,000-image MNIST sample, package data of ``snndeploy.data.sample``."""
    # setuptools installs packages as folders (never zipped), so the resource is a real file
    path = Path(str(resources.files("snndeploy.data.sample") / SAMPLE_FILE))
    if not path.is_file():
        raise SnnDeployError(f"bundled sample not found at {path}; reinstall snndeploy (its package data is missing)")
    return path


def load_dataset(
    name: str = "sample",
    data_dir: str | Path | None = None,
    *,
    limit_train: int | None = None,
    limit_test: int | None = None,
    image_size: int | None = None,
) -> Dataset:
    """Load a dataset by name into memory, optionally keeping only the first N of each split."""
    if name not in DATASETS:
        raise SnnDeployError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    for label, value in (("limit_train", limit_train), ("limit_test", limit_test), ("image_size", image_size)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise SnnDeployError(f"{option_name(label)} must be a positive integer, got {value!r}")
    if image_size is not None and name != "folder":
        raise SnnDeployError(f"{option_name('image_size')} only applies to the folder dataset, not {name!r}")
    if name == "sample":
        if data_dir is not None:
            raise SnnDeployError(f"the sample dataset is bundled and takes no {option_name('data_dir')}")
        ds = _load_sample()
    elif name == "folder":
        if data_dir is None:
            raise SnnDeployError(f"the folder dataset needs {option_name('data_dir')}: a folder holding one "
                                 "subfolder per class")
        ds = _load_folder(Path(data_dir).expanduser(), image_size)
    elif name in _IDX_CLASSES:
        ds = _load_idx(name, data_dir)
    else:
        ds = _load_torchvision(name, data_dir)
    train = Split(ds.train.images[:limit_train], ds.train.labels[:limit_train])
    test = Split(ds.test.images[:limit_test], ds.test.labels[:limit_test])
    return dataclasses.replace(ds, train=train, test=test)


def normalize_array(images_uint8: np.ndarray, spec: DataSpec) -> np.ndarray:
    """Float32 (x/255 - mean)/std per channel of uint8 images [..., C, H, W], in numpy (what runners take)."""
    x = np.asarray(images_uint8)
    if x.dtype != np.uint8 or x.ndim < 3 or x.shape[-3] != spec.channels:
        raise SnnDeployError(f"expected uint8 images [..., {spec.channels}, H, W], got {x.dtype} {list(x.shape)}")
    mean = np.asarray(spec.mean, np.float32).reshape(-1, 1, 1)
    std = np.asarray(spec.std, np.float32).reshape(-1, 1, 1)
    return ((x.astype(np.float32) / 255.0 - mean) / std).astype(np.float32)


def batches_of(split: Split, batch_size: int) -> int:
    """How many batches one pass over ``split`` takes (a progress bar's total; a bad batch size is refused later,
    by the batch iterator)."""
    return math.ceil(len(split) / max(batch_size, 1))


def iterate_arrays(split: Split, spec: DataSpec, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (normalised float32 images, int64 labels) numpy batches in order, one pass over the split."""
    _check_batch_size(batch_size)
    for start in range(0, len(split), batch_size):
        stop = start + batch_size
        yield normalize_array(split.images[start:stop], spec), split.labels[start:stop]


def _check_batch_size(batch_size: int) -> None:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise SnnDeployError(f"{option_name('batch_size')} must be a positive integer, got {batch_size!r}")


def normalize(images_uint8: torch.Tensor, spec: DataSpec) -> torch.Tensor:
    """Float32 (x/255 - mean)/std per channel; channels are dim -3, any leading dims."""
    x = images_uint8
    if x.dtype != torch.uint8 or x.dim() < 3 or x.shape[-3] != spec.channels:
        raise SnnDeployError(f"expected uint8 images [..., {spec.channels}, H, W], got {x.dtype} {list(x.shape)}")
    mean = torch.tensor(spec.mean, dtype=torch.float32, device=x.device).view(-1, 1, 1)
    std = torch.tensor(spec.std, dtype=torch.float32, device=x.device).view(-1, 1, 1)
    return (x.float() / 255.0 - mean) / std


def iterate_batches(
    split: Split,
    spec: DataSpec,
    batch_size: int,
    *,
    shuffle: bool,
    generator: torch.Generator | None = None,
    augment: bool = False,
    drop_last: bool = False,
    device: str | torch.device = "cpu",
    shard: tuple[int, int] = (0, 1),
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (normalised float32 images, int64 labels) batches on device, one pass over the split.

    ``shard=(rank, world)`` gives each process its contiguous part of every global batch, so the
    global batches are the same whatever the number of processes.
    """
    _check_batch_size(batch_size)
    n = len(split)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        rank, world = shard
        if world > 1:
            idx = idx.tensor_split(world)[rank]
        rows = idx.numpy()
        images = torch.from_numpy(split.images[rows])
        if augment and spec.channels == 3:
            images = _crop_flip(images, generator)
        yield normalize(images.to(device), spec), torch.from_numpy(split.labels[rows]).to(device)


def _crop_flip(images: torch.Tensor, generator: torch.Generator | None, pad: int = 4) -> torch.Tensor:
    """Random crop after zero padding plus random horizontal flip, per image, on a uint8 batch."""
    b, c, h, w = images.shape
    padded = torch.nn.functional.pad(images, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
    flip = torch.rand(b, generator=generator) < 0.5
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
    cols = dx[:, None] + torch.arange(w)
    cols = torch.where(flip[:, None], cols.flip(1), cols)[:, None, None, :]
    return padded[torch.arange(b)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]


def _load_sample() -> Dataset:
    """The bundled npz: first 4000 images train, last 1000 test."""
    path = sample_path()
    check_regular(path, "bundled sample", "tensors")  # np.load opens it by path
    with np.load(path, allow_pickle=False) as npz:
        images, labels = np.ascontiguousarray(npz["images"]), npz["labels"].astype(np.int64)
    spec = DataSpec("sample", 1, 28, 28, tuple(str(i) for i in range(10)), (0.1307,), (0.3081,))
    n = SAMPLE_TRAIN
    return Dataset(spec, Split(images[:n], labels[:n]), Split(images[n:], labels[n:]))


def _data_root(name: str, data_dir: str | Path | None) -> Path:
    """torchvision's root folder for ``name``: SNNDEPLOY_DATA's (or the cache) without ``data_dir``, else the
    given folder or, leniently, the root above it when it is the dataset folder itself (ROOT/FashionMNIST,
    ROOT/FashionMNIST/raw)."""
    if data_dir is None:
        return Path(os.environ.get("SNNDEPLOY_DATA") or "~/.cache/snndeploy/data").expanduser()
    folder, files = _TORCHVISION[name][1:3]
    given = Path(data_dir).expanduser().resolve()
    if not given.is_dir():
        raise SnnDeployError(f"{name}: {option_name('data_dir')} {given} does not exist or is not a folder; it "
                             f"must hold {_expected(folder, files)}")
    parts = Path(folder).parts
    depth = next((k for k in range(len(parts), 0, -1) if given.parts[-k:] == parts[:k]), 0)
    return given.parents[depth - 1] if depth else given


def _expected(folder: str, files: list[str]) -> str:
    return f"{folder}/{{{','.join(files)}}}"


def _download(name: str, root: Path) -> None:
    """Download ``name`` into ``root`` through torchvision (the only step of MNIST / Fashion-MNIST that needs it)."""
    datasets = lazy_import("torchvision.datasets", hint("train", "torchvision")).load()
    try:
        root.mkdir(parents=True, exist_ok=True)
        for train in (True, False):
            getattr(datasets, _TORCHVISION[name][0])(str(root), train=train, download=True)
    except Exception as e:  # torchvision raises assorted errors when offline
        why = f"could not download {name} into {root} ({first_line(e)})"
        raise SnnDeployError(f"{why}; pass --data-dir DIR holding torchvision's files") from None


def _load_idx(name: str, data_dir: str | Path | None) -> Dataset:
    """MNIST or Fashion-MNIST from torchvision's raw files (``ROOT/MNIST/raw/train-images-idx3-ubyte``, or the
    same name + ``.gz``), read with numpy alone: the arrays, order and class names torchvision's datasets give.
    Without ``data_dir`` files missing from the cache are downloaded first (through torchvision)."""
    folder, files, mean, std = _TORCHVISION[name][1:]
    root = _data_root(name, data_dir)
    raw = root / folder

    def found(f: str) -> Path | None:
        return next((raw / g for g in (f, f + ".gz") if os.path.lexists(raw / g)), None)

    if data_dir is None and any(found(f) is None for f in files):
        _download(name, root)
    if missing := [f for f in files if found(f) is None]:
        where = f"missing {', '.join(missing)} in {raw}"
        raise SnnDeployError(f"{name}: {where}; {option_name('data_dir')} must hold {_expected(folder, files)}")
    paths = [found(f) for f in files]
    for path in paths:  # check all before reading any: a FIFO among them is refused up front
        check_regular(path, f"{name} file", "tensors")
    arrays = [read_idx(path, f"{name} file", ndim=3 if "images" in path.name else 1) for path in paths]
    splits = []
    for images, labels in (arrays[0:2], arrays[2:4]):
        if images.shape[0] != labels.shape[0]:
            raise SnnDeployError(f"{name}: {images.shape[0]} images but {labels.shape[0]} labels in {raw}")
        if labels.size and labels.max() >= len(_IDX_CLASSES[name]):
            raise SnnDeployError(f"{name}: a label in {raw} is {labels.max()}; labels run from 0 to 9")
        splits.append(Split(np.array(images[:, None]), labels.astype(np.int64)))  # a writable copy
    c, h, w = splits[0].images.shape[1:]
    return Dataset(DataSpec(name, c, h, w, _IDX_CLASSES[name], mean, std), *splits)


def read_idx(path: Path, what: str, ndim: int) -> np.ndarray:
    """A uint8 IDX array (LeCun's MNIST format, optionally gzipped) with ``ndim`` dimensions, read bounded."""
    data = read_bytes(path, what, "tensors")
    if path.name.endswith(".gz"):
        cap = limit("tensors")
        try:
            unzip = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data = unzip.decompress(data, cap + 1)
        except zlib.error as e:
            raise SnnDeployError(f"{what} {path} is not a valid gzip file ({first_line(e)})") from None
        if len(data) > cap or not unzip.eof:
            why = "unpacks past the size limit" if len(data) > cap else "is truncated"
            raise SnnDeployError(f"{what} {path} {why}")
    head = 4 + 4 * ndim
    if len(data) < head or data[:4] != bytes((0, 0, 8, ndim)):
        raise SnnDeployError(f"{what} {path} is not a uint8 IDX file of {ndim} dimension(s)")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, 4))
    if len(data) != head + math.prod(shape):
        raise SnnDeployError(f"{what} {path} holds {len(data) - head} bytes of data, its header says {shape}")
    return np.frombuffer(data, np.uint8, offset=head).reshape(shape)


def _load_torchvision(name: str, data_dir: str | Path | None) -> Dataset:
    """CIFAR-10 through torchvision, from data_dir or downloaded into the cache. Its files
    (``cifar-10-batches-py``) are Python pickles: nothing reads them without unpickling them (which runs code
    chosen by whoever wrote the file), so snndeploy does not read them itself: they stay torchvision's to read,
    and the install without PyTorch refuses CIFAR-10 in one line."""
    datasets = lazy_import("torchvision.datasets", hint("train", lead="CIFAR-10's files are pickles, read "
                                                        "through torchvision")).load()
    cls_name, folder, files, mean, std = _TORCHVISION[name]
    root = _data_root(name, data_dir)
    if data_dir is None:
        _download(name, root)
    else:
        if missing := [f for f in files if not os.path.lexists(root / folder / f)]:
            where = f"missing {', '.join(missing)} in {root / folder}"
            raise SnnDeployError(f"{name}: {where}; {option_name('data_dir')} must hold {_expected(folder, files)}")
        for f in files:  # torchvision opens them by path: a FIFO would block it, /dev/zero never end
            check_regular(root / folder / f, f"{name} file", "tensors")
    try:
        train, test = (getattr(datasets, cls_name)(str(root), train=t, download=False) for t in (True, False))
    except Exception as e:  # corrupt or foreign files
        raise SnnDeployError(f"{name}: could not read torchvision's files under {root} ({first_line(e)})") from None
    splits = []
    for ds in (train, test):
        images = np.asarray(ds.data).transpose(0, 3, 1, 2)  # CIFAR is NHWC
        splits.append(Split(np.ascontiguousarray(images, dtype=np.uint8), np.asarray(ds.targets, dtype=np.int64)))
    c, h, w = splits[0].images.shape[1:]
    return Dataset(DataSpec(name, c, h, w, tuple(train.classes), mean, std), *splits)


def _load_folder(root: Path, image_size: int | None) -> Dataset:
    """One subfolder per class of PNG/JPEG files; train/ and test/ (or val/) subfolders if present."""
    from PIL import Image

    if not root.is_dir():
        raise SnnDeployError(f"folder dataset: {root} does not exist or is not a folder")
    _check_not_a_half(root)
    test_dir = _test_dir(root)
    if (root / "train").is_dir() and test_dir is not None:
        split = f"the folder's train/ and {test_dir.name}/ sub-folders"
        class_names, train_items = _scan_classes(root / "train", None)
        _check_classes(root / "train", class_names)
        test_items = _scan_classes(test_dir, class_names)[1]
    else:
        class_names, items = _scan_classes(root, None)
        _check_classes(root, class_names)
        split = f"a random 80/20 split per class (seed {SPLIT_SEED}; no train/ and test/ sub-folders)"
        g = split_generator()
        train_items, test_items = [], []
        for k in range(len(class_names)):
            mine = [it for it in items if it[1] == k]
            perm = randperm(len(mine), g).tolist()
            n_test = round(0.2 * len(mine))
            test_items += [mine[i] for i in perm[:n_test]]
            train_items += [mine[i] for i in perm[n_test:]]
        if not test_items:
            raise SnnDeployError(f"folder dataset: {root} has too few images for an 80/20 split; add train/ and test/")
    size = (image_size, image_size) if image_size else None  # PIL sizes are (W, H)
    arrays, resized = [], 0
    for path, _ in train_items + test_items:
        try:
            im = read_image(path)  # size limit, 16-bit and float gray scaled to [0, 1]: snndeploy.core.images
        except SnnDeployError as e:
            raise SnnDeployError(f"folder dataset: {e}") from None
        size = size or im.size
        if im.size != size:
            im = im.resize(size, Image.Resampling.BILINEAR)
            resized += 1
        if im.mode == "F":  # the dataset is kept as uint8
            im = Image.fromarray(np.round(to_array(im) * 255).astype(np.uint8))
        arrays.append(np.asarray(im))
    if all(a.ndim == 2 for a in arrays):
        images = np.stack(arrays)[:, None]
    else:  # any colour image makes the whole dataset RGB
        arrays = [np.dstack([a] * 3) if a.ndim == 2 else a for a in arrays]
        images = np.stack(arrays).transpose(0, 3, 1, 2)
    labels = np.asarray([k for _, k in train_items + test_items], dtype=np.int64)
    g, n = split_generator(), len(train_items)
    train_idx = randperm(n, g)
    test_idx = n + randperm(len(test_items), g)
    train = Split(np.ascontiguousarray(images[train_idx]), labels[train_idx])
    test = Split(np.ascontiguousarray(images[test_idx]), labels[test_idx])
    spec = DataSpec("folder", images.shape[1], size[1], size[0], class_names, *_channel_stats(train.images))
    return Dataset(spec, train, test, split, resized)


def _test_dir(root: Path) -> Path | None:
    """The test half of a folder with its own split: its test/ (else val/) sub-folder, if it has one."""
    return next((root / t for t in TEST_FOLDERS if (root / t).is_dir()), None)


def _check_not_a_half(root: Path) -> None:
    """Refuse one half of a folder that has its own split (DIR/train beside DIR/test): read alone it would be
    split 80/20 again, and a model trained on DIR would be measured on its own training images."""
    folder = root.resolve()
    parent, test = folder.parent, _test_dir(folder.parent)
    if test is None or not (parent / "train").is_dir() or folder not in (parent / "train", test):
        return
    half = "training half" if folder.name == "train" else "test half"
    raise SnnDeployError(f"folder dataset: {folder} is the {half} of {parent}'s own split (its train/ and "
                         f"{test.name}/ sub-folders): give {flag_name('data_dir')} {parent}")


def split_generator(seed: int = SPLIT_SEED) -> np.random.MT19937:
    """The Mersenne Twister that ``torch.Generator().manual_seed(seed)`` holds on the CPU (both seed MT19937 with
    the reference init_genrand), for ``randperm``."""
    bits = np.random.MT19937()
    bits.state = np.random.RandomState(seed).get_state(legacy=False)  # RandomState seeds by init_genrand
    return bits


def randperm(n: int, bits: np.random.MT19937) -> np.ndarray:
    """``torch.randperm(n, generator=g)`` on the CPU, bit for bit, in numpy: PyTorch's Fisher-Yates swaps
    position i with i + (next 32-bit draw % (n - i)) for n below 2**32 / 20 (a folder is far smaller), so folder
    splits and orders are the ones the PyTorch versions of snndeploy made, with or without PyTorch installed
    (tests/data compares the two)."""
    if n >= (1 << 32) // 20:  # PyTorch draws 64-bit numbers from there on
        raise SnnDeployError(f"a folder of {n} images is too large to split")
    order = list(range(n))
    for i, draw in enumerate(bits.random_raw(max(n - 1, 0)).tolist()):
        z = i + draw % (n - i)
        order[i], order[z] = order[z], order[i]
    return np.asarray(order, dtype=np.int64)


def _check_classes(root: Path, class_names: tuple[str, ...]) -> None:
    """A classifier needs at least two classes: one class folder is a layout mistake, not a dataset."""
    if len(class_names) < 2:
        raise SnnDeployError(f"folder dataset: {root} has one class folder ({class_names[0]!r}); a classifier needs "
                             "at least two (one subfolder of images per class)")


def _scan_classes(root: Path, class_names: tuple[str, ...] | None) -> tuple[tuple[str, ...], list[tuple[Path, int]]]:
    """Class names and (file, label) pairs of a folder with one subfolder per class."""
    dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not dirs:
        raise SnnDeployError(f"folder dataset: {root} has no class subfolders")
    if class_names is None:
        class_names = tuple(p.name for p in dirs)
    items = []
    for d in dirs:
        if d.name not in class_names:
            raise SnnDeployError(f"folder dataset: class folder {d} is not among the train classes {list(class_names)}")
        files = sorted(p for p in d.iterdir() if not p.name.startswith("."))
        if not files:
            raise SnnDeployError(f"folder dataset: class folder {d} has no images")
        for f in files:
            if not f.is_file() or f.suffix.lower() not in IMAGE_SUFFIXES:
                raise SnnDeployError(f"folder dataset: {f} is not a PNG/JPEG file (class folders hold images only)")
            items.append((f, class_names.index(d.name)))
    return class_names, items


def _channel_stats(images: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Exact per-channel mean and std (in [0,1] units) of uint8 images, from pixel histograms."""
    counts = np.stack([np.bincount(images[:, c].ravel(), minlength=256) for c in range(images.shape[1])])
    counts = counts.astype(np.float64)
    values, total = np.arange(256, dtype=np.float64) / 255.0, counts.sum(1)
    mean = counts @ values / total
    std = np.sqrt(np.clip(counts @ values**2 / total - mean**2, 0, None))
    std = np.where(std > 1e-6, std, 1.0)  # constant images: avoid dividing by zero
    return tuple(mean.tolist()), tuple(std.tolist())
