"""Fuzzing `infer`'s input loader (snndeploy.data.inputs.load_inputs): random bytes under image and array names,
mutated PNGs, images of every Pillow mode and bit depth, random arrays of random dtypes and shapes as .npy and
.npz. Each either loads as a valid batch (float32 [N, C, H, W], finite, pixels in [0, 1] before normalising)
or fails with one SnnDeployError line, never another exception; plus the cases found by hand: oversized
images, 16-bit and float images, a FIFO or folder named .png, non-npy .npz members, floats outside [0, 1]."""

import io
import os
import tempfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fakes import png_header_only
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from snndeploy.core.errors import SnnDeployError
from snndeploy.core.spec import DataSpec
from snndeploy.data.inputs import load_inputs

# mean 0, std 1: the loader's output is the pixel intensity itself, which must lie in [0, 1]
GRAY = DataSpec("sample", 1, 28, 28, tuple("0123456789"), (0.0,), (1.0,))
RGB = DataSpec("sample", 3, 8, 8, ("a", "b"), (0.0,) * 3, (1.0,) * 3)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SUFFIXES = st.sampled_from([".png", ".jpg", ".jpeg", ".npy", ".npz", ".tif", ""])
DTYPES = st.sampled_from(["u1", "u2", ">u2", "i1", "i4", "i8", "u8", "f2", "f4", ">f4", "f8", "c8", "?", "U3", "S2",
                          "O", "M8[s]", "V4", [("a", "u1")], ("u1", (2,))])
SHAPES = st.one_of(st.sampled_from([(28, 28), (1, 28, 28), (2, 28, 28), (2, 1, 28, 28), (3, 8, 8), (2, 3, 8, 8)]),
                   st.lists(st.sampled_from([0, 1, 2, 3, 8, 28]), min_size=0, max_size=5).map(tuple))
VALUES = st.sampled_from(["zeros", "pixels", "unit", "bytes", "negative", "nan", "inf", "huge"])
MODES = st.sampled_from(["1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "YCbCr", "I;16", "I", "F", "LAB", "HSV"])


def _outcome(paths, spec, adapt=False):
    """Load; a valid batch must look valid, and any failure must be one SnnDeployError line."""
    try:
        names, x = load_inputs(paths, spec, adapt=adapt)
    except SnnDeployError as exc:
        assert "\n" not in str(exc) and str(exc), repr(str(exc))
        return None
    assert x.dtype == np.float32 and x.ndim == 4 and x.shape[1:] == spec.input_shape and len(names) == len(x) > 0
    assert np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1, (x.min(), x.max())
    return x


def _values(kind: str, shape: tuple, dtype: np.dtype, rng: np.random.Generator) -> np.ndarray:
    size = int(np.prod(shape))
    raw = {"zeros": np.zeros(size), "pixels": rng.integers(0, 256, size), "unit": rng.random(size),
           "bytes": rng.integers(0, 65536, size), "negative": -rng.random(size), "nan": np.full(size, np.nan),
           "inf": np.full(size, np.inf), "huge": np.full(size, 1e30)}[kind]
    with np.errstate(all="ignore"):
        if dtype.kind in "OUS":
            return np.array([str(v) for v in raw], dtype=dtype).reshape(shape)
        if dtype.kind == "M":
            return np.zeros(shape, dtype)
        if dtype.kind == "V" or dtype.fields is not None:
            return np.zeros(shape, dtype)
        return raw.astype(dtype).reshape(shape)


def _array_ok(a: np.ndarray, spec: DataSpec) -> bool:
    """The oracle: what load_inputs must accept, by the documented rules."""
    d = a.dtype
    if d.fields is not None or d.subdtype is not None or a.size == 0:
        return False
    if not ((d.kind == "u" and d.itemsize in (1, 2)) or (d.kind == "f" and d.itemsize in (2, 4, 8))):
        return False
    if d.kind == "f" and not (np.isfinite(a).all() and a.min() >= 0 and a.max() <= 1):
        return False
    c, h, w = spec.input_shape
    s = a.shape
    one_channel = c == 1 and (s == (h, w) or (len(s) == 3 and s[1:] == (h, w)))
    return s == (c, h, w) or (len(s) == 4 and s[1:] == (c, h, w)) or one_channel


@FUZZ
@given(data=st.binary(max_size=600), suffix=SUFFIXES, spec=st.sampled_from([GRAY, RGB]))
def test_random_bytes_under_any_name(data, suffix, spec):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"input{suffix}"
        p.write_bytes(data)
        _outcome([p], spec)


def _png_bytes(mode: str, size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    if mode == "I;16":
        Image.fromarray(np.random.default_rng(0).integers(0, 65536, size[::-1]).astype(np.uint16)).save(buf, "PNG")
    else:
        Image.new(mode, size, "white" if mode != "1" else 1).save(buf, "PNG")
    return buf.getvalue()


@FUZZ
@given(mode=st.sampled_from(["L", "RGB", "I;16", "P", "LA"]), edits=st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6), cut=st.integers(0, 10_000),
    adapt=st.booleans())
def test_mutated_png(mode, edits, cut, adapt):
    data = bytearray(_png_bytes(mode, (28, 28)))
    for pos, byte in edits:
        data[pos % len(data)] = byte
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "m.png"
        p.write_bytes(bytes(data[: max(cut, 8)]) if cut < len(data) else bytes(data))
        _outcome([p], GRAY, adapt=adapt)


@FUZZ
@given(mode=MODES, w=st.integers(1, 40), h=st.integers(1, 40), scale=st.sampled_from([1.0, 255.0, 300.0, -1.0]),
       adapt=st.booleans(), spec=st.sampled_from([GRAY, RGB]), suffix=st.sampled_from([".png", ".tif"]))
def test_images_of_every_mode(mode, w, h, scale, adapt, spec, suffix):
    rng = np.random.default_rng(w * 41 + h)
    if mode == "F":
        img = Image.fromarray((rng.random((h, w)) * scale).astype(np.float32))
    elif mode in ("I;16", "I"):
        img = Image.fromarray(rng.integers(0, 65536, (h, w)).astype(np.uint16 if mode == "I;16" else np.int32))
    else:
        img = Image.new(mode, (w, h))
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"img{suffix}"
        try:
            img.save(p)
        except (OSError, ValueError, KeyError):  # this format cannot hold this mode
            return
        x = _outcome([p], spec, adapt=adapt)
        if x is not None and mode == "F" and scale in (1.0, 255.0) and not adapt:
            expected = np.asarray(Image.open(p), dtype=np.float32) / scale
            np.testing.assert_allclose(x[0, 0], expected, rtol=1e-6)


def _fitting_shapes(spec: DataSpec) -> st.SearchStrategy:
    """Shapes the loader takes for ``spec`` (half the draws), or any shape."""
    c, h, w = spec.input_shape
    n = st.integers(1, 3)
    fitting = [st.just((c, h, w)), n.map(lambda k: (k, c, h, w))]
    if c == 1:
        fitting += [st.just((h, w)), n.map(lambda k: (k, h, w))]
    return st.one_of(st.one_of(fitting), SHAPES)


@FUZZ
@given(data=st.data(), dtype=st.one_of(DTYPES, st.sampled_from(["u1", "f4", "f8", "f2"])), values=VALUES,
       spec=st.sampled_from([GRAY, RGB]), seed=st.integers(0, 9))
def test_random_arrays_npy(data, dtype, values, spec, seed):
    shape = data.draw(_fitting_shapes(spec), label="shape")
    dtype = np.dtype(dtype)
    a = _values(values, shape, dtype, np.random.default_rng(seed))
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "a.npy"
        np.save(p, a, allow_pickle=True)  # an object array is pickled: the loader must refuse it unread
        x = _outcome([p], spec)
    assert (x is not None) == _array_ok(a, spec), (a.dtype, a.shape)
    if x is not None and a.dtype.kind == "u":
        scale = 255 if a.dtype.itemsize == 1 else 65535
        np.testing.assert_allclose(x.ravel(), a.astype(np.float64).ravel() / scale, rtol=1e-6)


@FUZZ
@given(members=st.lists(st.tuples(st.sampled_from(["a.npy", "b.npy", "dir/c.npy", "notes.txt", "x", "d/"]),
                                  DTYPES, SHAPES, VALUES), min_size=0, max_size=3, unique_by=lambda m: m[0]),
       compressed=st.booleans(), seed=st.integers(0, 9))
def test_random_npz(members, compressed, seed):
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "a.npz"
        with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED) as z:
            for name, dtype, shape, values in members:
                buf = io.BytesIO()
                np.save(buf, _values(values, shape, np.dtype(dtype), rng), allow_pickle=True)
                z.writestr(name, buf.getvalue() if name.endswith(".npy") else b"not an array")
        _outcome([p], GRAY)


# the cases found by hand


def test_oversized_image_refused_from_its_header(tmp_path, monkeypatch):
    png_header_only(tmp_path / "bomb.png", 20000, 20000)
    with pytest.raises(SnnDeployError, match=r"bomb\.png is 20000x20000 = 400,000,000 pixels, more than the limit "
                                             r"of 50,000,000 \(set SNNDEPLOY_MAX_PIXELS to raise it\)"):
        load_inputs([tmp_path / "bomb.png"], GRAY, adapt=True)
    monkeypatch.setenv("SNNDEPLOY_MAX_PIXELS", "100")
    Image.new("L", (28, 28)).save(tmp_path / "small.png")
    with pytest.raises(SnnDeployError, match="more than the limit of 100"):
        load_inputs([tmp_path / "small.png"], GRAY)
    monkeypatch.setenv("SNNDEPLOY_MAX_PIXELS", "lots")
    with pytest.raises(SnnDeployError, match="SNNDEPLOY_MAX_PIXELS must be a positive integer"):
        load_inputs([tmp_path / "small.png"], GRAY)


def test_pillow_bomb_limit_is_not_the_one_that_counts(tmp_path, monkeypatch):
    """Pillow's own DecompressionBombError/Warning never escapes: the limit is SNNDEPLOY_MAX_PIXELS."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow would raise above 200 pixels
    Image.new("L", (28, 28), 255).save(tmp_path / "x.png")
    _, x = load_inputs([tmp_path / "x.png"], GRAY)
    assert x.shape == (1, 1, 28, 28) and Image.MAX_IMAGE_PIXELS == 100


def test_16bit_png_and_float_tiff_keep_their_scale(tmp_path):
    v = np.arange(28 * 28, dtype=np.uint16).reshape(28, 28) * 83
    Image.fromarray(v).save(tmp_path / "g16.png")
    _, x = load_inputs([tmp_path / "g16.png"], GRAY)
    np.testing.assert_allclose(x[0, 0], v / 65535, rtol=1e-6)  # not every non-zero pixel at 1.0
    f = np.linspace(0, 1, 784, dtype=np.float32).reshape(28, 28)
    for scale in (1, 255):
        Image.fromarray(f * scale).save(tmp_path / f"f{scale}.tif")
        _, x = load_inputs([tmp_path / f"f{scale}.tif"], GRAY)
        np.testing.assert_allclose(x[0, 0], f, rtol=1e-6, atol=1e-7)
    Image.fromarray(f * 300).save(tmp_path / "f300.tif")
    with pytest.raises(SnnDeployError, match=r"float pixels must lie in \[0, 1\] or \[0, 255\], got \[0, 300\]"):
        load_inputs([tmp_path / "f300.tif"], GRAY)


def _refusal_without_blocking(path: Path) -> str:
    """The error loading ``path`` gives, failing the test if the loader blocks (a FIFO opened for reading)."""
    result = {}

    def load():
        try:
            load_inputs([path], GRAY)
        except SnnDeployError as exc:
            result["error"] = str(exc)

    t = threading.Thread(target=load, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():  # unblock the reader so that the test process can end
        with open(path, "wb"):
            pass
        pytest.fail(f"reading a FIFO named {path.name} blocked")
    return result.get("error", "")


def test_fifo_and_folder_named_like_inputs_are_refused_without_blocking(tmp_path):
    for name in ("pipe.png", "pipe.npy", "pipe.npz"):
        os.mkfifo(tmp_path / name)
        assert _refusal_without_blocking(tmp_path / name) == f"{tmp_path / name} is not a regular file"
    (tmp_path / "sub").mkdir()
    os.mkfifo(tmp_path / "sub" / "p.png")
    assert _refusal_without_blocking(tmp_path / "sub").endswith("p.png is not a regular file")
    (tmp_path / "sub" / "p.png").unlink()
    (tmp_path / "sub" / "d.png").mkdir()
    with pytest.raises(SnnDeployError, match=r"d\.png is not a regular file"):
        load_inputs([tmp_path / "sub"], GRAY)


@pytest.mark.parametrize("array, message", [
    (np.zeros((0, 28, 28), np.uint8), r"holds no images \(shape \[0, 28, 28\]\)"),
    (np.full((28, 28), 200.0, np.float32), r"float pixels must lie in \[0, 1\] .*got \[200, 200\]"),
    (np.full((28, 28), -0.5, np.float64), r"float pixels must lie in \[0, 1\] .*got \[-0.5, -0.5\]"),
    (np.zeros((28, 28), np.complex64), "expected uint8, uint16, float16, float32 or float64 pixels, got complex64"),
    (np.zeros((28, 28), np.int64), "got int64"),
    (np.array([{"a": 1}], dtype=object), "got object"),
    (np.zeros((1, 1, 1, 28, 28), np.uint8), r"expected images of shape \[N, 1, 28, 28\], got \[1, 1, 1, 28, 28\]"),
    (np.zeros(28, np.uint8), r"got \[28\]"),
])
def test_bad_arrays(tmp_path, array, message):
    np.save(tmp_path / "a.npy", array, allow_pickle=True)
    with pytest.raises(SnnDeployError, match=message):
        load_inputs([tmp_path / "a.npy"], GRAY)


def test_npz_with_a_foreign_member_or_none(tmp_path):
    with zipfile.ZipFile(tmp_path / "a.npz", "w") as z:
        buf = io.BytesIO()
        np.save(buf, np.zeros((28, 28), np.uint8))
        z.writestr("a.npy", buf.getvalue())
        z.writestr("readme.txt", "hello")
    with pytest.raises(SnnDeployError, match="member 'readme.txt' is not a .npy array"):
        load_inputs([tmp_path / "a.npz"], GRAY)
    with zipfile.ZipFile(tmp_path / "e.npz", "w"):
        pass
    with pytest.raises(SnnDeployError, match="holds no arrays"):
        load_inputs([tmp_path / "e.npz"], GRAY)
    np.savez(tmp_path / "ok.npz", a=np.zeros((2, 28, 28), np.uint8), b=np.ones((28, 28), np.float32))
    names, x = load_inputs([tmp_path / "ok.npz"], GRAY)
    assert x.shape == (3, 1, 28, 28) and names[-1].endswith("ok.npz:b[0]")
