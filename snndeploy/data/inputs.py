"""User inputs for `infer`: image files, folders, .npy / .npz arrays, preprocessed per the artifact.

Every input becomes pixel intensities in [0, 1], then ``(x - mean) / std`` with the artifact's DataSpec:

* image files: see ``snndeploy.core.images`` (8-bit, 16-bit gray divided by 65535, float gray in [0, 1] or
  [0, 255]; at most ``SNNDEPLOY_MAX_PIXELS`` pixels, default 50 million);
* arrays (.npy, or every member of an .npz, which must all be .npy arrays): uint8 (divided by 255), uint16
  (divided by 65535) or floats that must lie in [0, 1]; shaped [N, C, H, W], [C, H, W], [N, H, W] (one
  channel) or [H, W]; at most that many pixels in all. Arrays are read without pickle.

Anything else (an empty array, other dtypes, values out of range, a FIFO or folder named like an image) is a
one-line SnnDeployError.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..core.errors import SnnDeployError
from ..core.images import GRAY_MODES, check_regular_file, max_pixels, read_image, to_array, to_mode
from ..core.spec import DataSpec

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
ARRAY_DTYPES = "uint8, uint16, float16, float32 or float64"


def _image(path: Path, spec: DataSpec, adapt: bool) -> np.ndarray:
    img = read_image(path)
    channels = 1 if img.mode in GRAY_MODES else 3
    if not adapt and (channels != spec.channels or img.size != (spec.width, spec.height)):
        got = f"{img.size[0]}x{img.size[1]} with {channels} channel(s)"
        raise SnnDeployError(f"{path} is {got}; the model takes {spec.width}x{spec.height} with "
                             f"{spec.channels}; pass --resize to adapt it")
    img = to_mode(img, "L" if spec.channels == 1 else "RGB")
    if img.size != (spec.width, spec.height):
        img = img.resize((spec.width, spec.height))
    a = to_array(img)
    return a[None] if spec.channels == 1 else a.transpose(2, 0, 1)


def _npy(fp: BinaryIO, name: str, spec: DataSpec) -> np.ndarray:
    """One .npy stream: header checked (dtype, rank, size) before its data is read; never unpickled."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fp)
        else:
            raise SnnDeployError(f"{name}: .npy format version {version[0]}.{version[1]} is not supported")
    except (ValueError, EOFError, SyntaxError, TypeError) as exc:
        raise SnnDeployError(f"{name} is not a readable .npy array ({str(exc).splitlines()[0]})") from None
    if not _pixel_dtype(dtype):
        raise SnnDeployError(f"{name}: expected {ARRAY_DTYPES} pixels, got {dtype}")
    _check_shape(name, tuple(shape), spec)
    fp.seek(0)
    try:
        a = fmt.read_array(fp, allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        raise SnnDeployError(f"{name} is not a readable .npy array ({str(exc).splitlines()[0]})") from None
    return _array(name, a, spec)


def _pixel_dtype(dtype: np.dtype) -> bool:
    """uint8, uint16 or float16/32/64 in either byte order; no objects, records or sub-arrays."""
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        return False
    return (dtype.kind == "u" and dtype.itemsize in (1, 2)) or (dtype.kind == "f" and dtype.itemsize in (2, 4, 8))


def _check_shape(name: str, shape: tuple[int, ...], spec: DataSpec) -> None:
    """Rank, emptiness and size of an array, from its header."""
    c, h, w = spec.input_shape
    if len(shape) not in (2, 3, 4) or any(d < 0 for d in shape):
        raise SnnDeployError(f"{name}: expected images of shape [N, {c}, {h}, {w}], got {list(shape)}")
    size = int(np.prod(shape, dtype=object))
    if size == 0:
        raise SnnDeployError(f"{name} holds no images (shape {list(shape)})")
    limit = max_pixels()
    if size > limit * c:
        raise SnnDeployError(f"{name} holds {size // c:,} pixels, more than the limit of {limit:,} "
                             "(set SNNDEPLOY_MAX_PIXELS to raise it)")


def _array(name: str, a: np.ndarray, spec: DataSpec) -> np.ndarray:
    """[N,C,H,W], [C,H,W], [N,H,W] or [H,W]; uint8/uint16 pixels or floats in [0, 1] -> float32 in [0, 1]."""
    if not _pixel_dtype(a.dtype):
        raise SnnDeployError(f"{name}: expected {ARRAY_DTYPES} pixels, got {a.dtype}")
    if a.dtype.kind == "u" and a.dtype.itemsize == 1:
        a = a.astype(np.float32) / np.float32(255)
    elif a.dtype.kind == "u":
        a = (a.astype(np.float64) / 65535.0).astype(np.float32)
    else:
        if not np.isfinite(a).all():
            raise SnnDeployError(f"{name} contains NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if lo < 0 or hi > 1:
            raise SnnDeployError(f"{name}: float pixels must lie in [0, 1] (intensity / 255), got [{lo:g}, {hi:g}]; "
                                 "save uint8 arrays, or divide 0-255 floats by 255")
        a = a.astype(np.float32)
    c, h, w = spec.input_shape
    if a.ndim == 2 or (a.ndim == 3 and c == 1 and a.shape != (c, h, w)):
        a = a[..., None, :, :]
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[1:] != (c, h, w):
        raise SnnDeployError(f"{name}: expected images of shape [N, {c}, {h}, {w}], got {list(a.shape)}")
    return a


def _npz(path: Path, spec: DataSpec) -> list[tuple[str, np.ndarray]]:
    """Every member of an .npz archive, each a .npy array; (name, images) per member."""
    limit = max_pixels() * spec.channels * 8 + 65536  # bytes of the largest member read: float64 plus a header
    out = []
    try:
        with zipfile.ZipFile(path) as z:
            members = [m for m in z.infolist() if not m.is_dir()]
            if not members:
                raise SnnDeployError(f"{path} holds no arrays")
            for m in members:
                if m.flag_bits & 0x1:
                    raise SnnDeployError(f"{path}: member {m.filename!r} is encrypted")
                if not m.filename.endswith(".npy"):
                    raise SnnDeployError(f"{path}: member {m.filename!r} is not a .npy array")
                name = f"{path}:{m.filename[:-4]}"
                if m.file_size > limit:
                    raise SnnDeployError(f"{name} is {m.file_size:,} bytes, more than an array of "
                                         f"{max_pixels():,} pixels (set SNNDEPLOY_MAX_PIXELS to raise it)")
                with z.open(m) as fh:
                    data = fh.read(limit + 1)
                out.append((name, _npy(io.BytesIO(data), name, spec)))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError) as exc:
        # BadZipFile also covers a CRC mismatch; NotImplementedError an unknown compression method
        raise SnnDeployError(f"{path} is not a readable .npz archive ({str(exc).splitlines()[0]})") from None
    return out


def load_inputs(paths: list[str | Path], spec: DataSpec, adapt: bool = False) -> tuple[list[str], np.ndarray]:
    """Names and normalised float32 images [N, C, H, W] for the artifact's data spec."""
    names: list[str] = []
    arrays: list[np.ndarray] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise SnnDeployError(f"{p} holds no PNG or JPEG images")
            names += [str(f) for f in files]
            arrays += [_image(f, spec, adapt)[None] for f in files]
            continue
        check_regular_file(p)  # before opening: a FIFO named x.png would block forever
        if p.suffix.lower() == ".npy":
            try:
                with open(p, "rb") as fh:
                    a = _npy(fh, str(p), spec)
            except OSError as exc:
                raise SnnDeployError(f"cannot read {p}: {exc.strerror or exc}") from None
            names += [f"{p}[{i}]" for i in range(len(a))]
            arrays.append(a)
        elif p.suffix.lower() == ".npz":
            for name, a in _npz(p, spec):
                names += [f"{name}[{i}]" for i in range(len(a))]
                arrays.append(a)
        else:
            names.append(str(p))
            arrays.append(_image(p, spec, adapt)[None])
    if not arrays:
        raise SnnDeployError("no inputs given")
    x = np.concatenate(arrays)
    mean = np.asarray(spec.mean, np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(spec.std, np.float32).reshape(1, -1, 1, 1)
    return names, ((x - mean) / std).astype(np.float32)
