"""Reading one image file for `infer` and folder datasets: size limit, bit depth and colour modes, one-line errors.

What a file becomes (a PIL image in mode "L", "RGB" or "F", pixel intensities in [0, 1] for "F"):

* 8-bit modes ("1", "L", "P", "RGB", "CMYK", "YCbCr", ... and their alpha variants): Pillow's conversion to
  "L" (gray sources) or "RGB" (colour sources); an alpha channel is dropped, not composited.
* 16-bit and 32-bit integer gray ("I;16*", "I"): values in [0, 65535], divided by 65535 (Pillow's own
  conversion to "L" would clip every value above 255 to white).
* 32-bit float gray ("F", e.g. a float TIFF): values in [0, 1] are taken as they are, values in [0, 255] are
  divided by 255; any other range (negative, above 255, NaN) is refused.
* Anything else (LAB, premultiplied "La", ...) is refused.

Images over ``max_pixels()`` pixels (width x height) are refused before they are decoded; the limit is
``DEFAULT_MAX_PIXELS`` unless the environment variable ``SNNDEPLOY_MAX_PIXELS`` sets another.
"""

from __future__ import annotations

import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import SnnDeployError, first_line
from .files import env_positive_int

DEFAULT_MAX_PIXELS = 50_000_000
MAX_PIXELS_ENV = "SNNDEPLOY_MAX_PIXELS"
EIGHT_BIT_GRAY = ("1", "L", "LA")
EIGHT_BIT_COLOUR = ("P", "PA", "RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr")
INTEGER_GRAY = ("I", "I;16", "I;16L", "I;16B", "I;16N")
GRAY_MODES = EIGHT_BIT_GRAY + INTEGER_GRAY + ("F",)


def max_pixels() -> int:
    """The largest image (width x height) read: SNNDEPLOY_MAX_PIXELS, else DEFAULT_MAX_PIXELS."""
    value = env_positive_int(MAX_PIXELS_ENV, "pixels")
    return DEFAULT_MAX_PIXELS if value is None else value


def check_regular_file(path: Path) -> None:
    """Refuse what is not a regular file (a folder, a FIFO, a device) before anything opens it: reading a FIFO
    would wait for a writer forever."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise SnnDeployError(f"input not found: {path}") from None
    except OSError as exc:
        raise SnnDeployError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise SnnDeployError(f"{path} is not a regular file")


def read_image(path: str | Path) -> Image.Image:
    """The image at ``path`` as a loaded PIL image in mode "L", "RGB" or "F" (see the module docstring)."""
    path = Path(path)
    check_regular_file(path)
    limit = max_pixels()
    saved = Image.MAX_IMAGE_PIXELS
    try:
        # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that, without saying how to go on; the
        # limit here is ours, checked on the header's size before any pixel is decoded (and again after)
        Image.MAX_IMAGE_PIXELS = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                _check_size(path, img, limit)
                img.load()
                _check_size(path, img, limit)
                return _convert(path, img)
    except SnnDeployError:
        raise
    except Exception as exc:  # Pillow's decoders raise many types on bad bytes (OSError, SyntaxError, struct.error)
        raise SnnDeployError(f"{path} is not a readable image ({first_line(exc)})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _check_size(path: Path, img: Image.Image, limit: int) -> None:
    w, h = img.size
    if w * h > limit:
        raise SnnDeployError(f"{path} is {w}x{h} = {w * h:,} pixels, more than the limit of {limit:,} "
                             f"(set {MAX_PIXELS_ENV} to raise it)")


def _convert(path: Path, img: Image.Image) -> Image.Image:
    """Pillow image of any supported mode -> "L", "RGB" or "F" in [0, 1]."""
    mode = img.mode
    if mode in EIGHT_BIT_GRAY:
        return img.convert("L")
    if mode in EIGHT_BIT_COLOUR:
        return img.convert("RGB")
    if mode in INTEGER_GRAY:
        a = np.asarray(img).astype(np.float64)
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
        if lo < 0 or hi > 65535:
            raise SnnDeployError(f"{path}: integer pixels must lie in [0, 65535] (16-bit), got [{lo:g}, {hi:g}]")
        return Image.fromarray((a / 65535.0).astype(np.float32))
    if mode == "F":
        a = np.asarray(img, dtype=np.float32)
        if not np.isfinite(a).all():
            raise SnnDeployError(f"{path}: float pixels contain NaN or infinite values")
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
        if lo < 0 or hi > 255:
            raise SnnDeployError(f"{path}: float pixels must lie in [0, 1] or [0, 255], got [{lo:g}, {hi:g}]")
        # the range decides the scale: a float image whose values all lie in [0, 1] is read in [0, 1] units
        return Image.fromarray(a if hi <= 1 else a / np.float32(255))
    raise SnnDeployError(f"{path}: image mode {mode} is not supported; save it as 8/16-bit gray or 8-bit RGB")


def to_array(img: Image.Image) -> np.ndarray:
    """float32 pixels in [0, 1] of an image from ``read_image`` (possibly resized/converted): [H, W] or [H, W, 3]."""
    if img.mode == "F":
        return np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)  # resampling may overshoot a little
    return np.asarray(img, dtype=np.float32) / np.float32(255)


def to_mode(img: Image.Image, mode: str) -> Image.Image:
    """An image from ``read_image`` converted to "L" (one channel) or "RGB", keeping 16-bit/float precision
    where the target is one channel."""
    if img.mode == mode or (mode == "L" and img.mode == "F"):
        return img
    if img.mode == "F":  # gray floats to RGB: three 8-bit copies (PIL has no float RGB)
        g = np.clip(np.round(np.asarray(img, dtype=np.float32) * 255), 0, 255).astype(np.uint8)
        return Image.fromarray(np.dstack([g] * 3))
    return img.convert(mode)
