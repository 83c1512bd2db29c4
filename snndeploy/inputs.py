"""User inputs for `infer`: image files, folders, .npy / .npz arrays, preprocessed per the artifact."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .core.errors import SnnDeployError
from .core.spec import DataSpec

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _image(path: Path, spec: DataSpec, adapt: bool) -> np.ndarray:
    try:
        with Image.open(path) as img:
            channels = 1 if img.mode in ("1", "L", "LA", "I", "I;16", "F") else 3
            if not adapt and (channels != spec.channels or img.size != (spec.width, spec.height)):
                got = f"{img.size[0]}x{img.size[1]} with {channels} channel(s)"
                raise SnnDeployError(f"{path} is {got}; the model takes {spec.width}x{spec.height} with "
                                     f"{spec.channels}; pass --resize to adapt it")
            img = img.convert("L" if spec.channels == 1 else "RGB")
            if img.size != (spec.width, spec.height):
                img = img.resize((spec.width, spec.height))
            a = np.asarray(img, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError):
        raise SnnDeployError(f"{path} is not a readable image") from None
    return a[None] if spec.channels == 1 else a.transpose(2, 0, 1)


def _array(name: str, a: np.ndarray, spec: DataSpec) -> np.ndarray:
    """[N,C,H,W], [C,H,W], [N,H,W] or [H,W]; uint8 pixels or floats in [0, 1] pixel units."""
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    elif np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float32)
        if not np.isfinite(a).all():
            raise SnnDeployError(f"{name} contains NaN or infinite values")
    else:
        raise SnnDeployError(f"{name}: expected uint8 or float pixels, got {a.dtype}")
    c, h, w = spec.input_shape
    if a.ndim == 2 or (a.ndim == 3 and c == 1 and a.shape != (c, h, w)):
        a = a[..., None, :, :]
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[1:] != (c, h, w):
        raise SnnDeployError(f"{name}: expected images of shape [N, {c}, {h}, {w}], got {list(a.shape)}")
    return a


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
        elif not p.exists():
            raise SnnDeployError(f"input not found: {p}")
        elif p.suffix == ".npy":
            try:
                a = _array(str(p), np.load(p, allow_pickle=False), spec)
            except ValueError as exc:
                raise SnnDeployError(f"{p} is not a readable .npy array ({exc})") from None
            names += [f"{p}[{i}]" for i in range(len(a))]
            arrays.append(a)
        elif p.suffix == ".npz":
            try:
                with np.load(p, allow_pickle=False) as z:
                    for key in z.files:
                        a = _array(f"{p}:{key}", z[key], spec)
                        names += [f"{p}:{key}[{i}]" for i in range(len(a))]
                        arrays.append(a)
            except (ValueError, zipfile.BadZipFile) as exc:
                raise SnnDeployError(f"{p} is not a readable .npz archive ({exc})") from None
        else:
            names.append(str(p))
            arrays.append(_image(p, spec, adapt)[None])
    if not arrays:
        raise SnnDeployError("no inputs given")
    x = np.concatenate(arrays)
    mean = np.asarray(spec.mean, np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(spec.std, np.float32).reshape(1, -1, 1, 1)
    return names, ((x - mean) / std).astype(np.float32)
