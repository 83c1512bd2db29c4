"""Checks of one field's value (type, range, finiteness), shared by every record read from a file or built in
code: each failure is one SnnDeployError line that names the field and shows the value, short."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Collection
from typing import Any, NoReturn, TypeVar

from .errors import SnnDeployError, short

T = TypeVar("T")

# Sizes, steps and batches travel as int64 through ONNX, numpy and TensorRT.
INT64_MAX = 2**63 - 1
# Dimensions, steps and batch sizes: TensorRT and Triton keep many of them in 32 bits.
DIM_MAX = 2**31 - 1
# Seeds, one bound for all (a user's --seed, a runner's, a recorded one): NumPy's default_rng takes any
# non-negative int, torch.manual_seed up to 2**64 - 1, ONNX Runtime's set_seed a signed 64-bit int. 2**63 - 1
# fits all three, and leaves room for the seeds PyTorch is given derived from one (seed + epoch, seed + repeat).
# A recorded seed may be negative (torch takes down to SEED_MIN; an export made through the library may use one).
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1
# C0 and C1 controls (newline, tab, escape, ...) and the Unicode line and paragraph separators: a name with one
# would break a line-per-name file (Triton's labels.txt) or a one-line message.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


# config keys whose flag is not the key spelled with dashes: the two ends of the noise range are one flag
FLAGS = {"noise_lo": "--noise-range", "noise_hi": "--noise-range"}


def flag_name(key: str) -> str:
    """The command-line flag of a config key: '--batch-size' for batch_size, '--noise-range' for noise_hi."""
    return FLAGS.get(key, "--" + key.replace("_", "-"))


def option_name(key: str) -> str:
    """How a message names a config key: its command-line flag, with the key where a config file spells it
    differently ('--batch-size (batch_size)'; '--lr', '--T'), so one message serves flags and config files."""
    flag = flag_name(key)
    return flag if flag[2:] == key else f"{flag} ({key})"


def option_value(value: Any, what: str, key: str, finite: bool = True) -> None:
    """The checks every option value gets, from a flag or a config file alike (the CLI and ``from_mapping`` both
    call this): integers within 64 bits (what PyTorch, NumPy and ONNX take), seeds from 0 to SEED_MAX and, where
    ``finite``, finite floats (a config's float fields check their own range: export's alpha may be inf).
    Lists and tuples are checked item by item; ``what`` names the option."""
    for item in value if isinstance(value, (list, tuple)) else [value]:
        if isinstance(item, bool):
            continue
        if finite and isinstance(item, float) and not math.isfinite(item):
            raise SnnDeployError(f"{what} must be a finite number, got {item}")
        if isinstance(item, int) and key == "seed":
            seed(item, what)
        if isinstance(item, int) and not -INT64_MAX - 1 <= item <= INT64_MAX:
            raise SnnDeployError(f"{what} is out of range: {short(item)}")


def show(value: Any, limit: int = 60) -> str:
    """``repr`` cut to about ``limit`` characters, one line whatever the value holds, and computed in bounded
    time even for a structure that shares its parts (which ``repr`` would write out in full)."""
    return short(value, limit)


def fail(what: str, wanted: str, value: Any) -> NoReturn:
    """Raise '<what> must be <wanted>, got <value>'."""
    raise SnnDeployError(f"{what} must be {wanted}, got {show(value)}")


def integer(value: Any, what: str, lo: int | None = None, hi: int = INT64_MAX) -> int:
    """An int (not a bool; numpy integers are taken) in [lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        fail(what, "an integer", value)
    value = int(value)
    if lo is not None and value < lo:
        fail(what, f">= {lo}", value)
    if value > hi:
        fail(what, f"<= {hi}", value)
    return value


def seed(value: Any, what: str = "seed") -> int:
    """A seed a user gives: an integer (not a bool) from 0 to SEED_MAX."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value <= SEED_MAX:
        fail(what, f"an integer from 0 to {SEED_MAX}", value)
    return int(value)


def number(value: Any, what: str, *, lo: float | None = None, above: float | None = None,
           hi: float | None = None, inf: bool = False) -> float:
    """A finite int or float (not a bool) with lo <= value, above < value, value <= hi; ``inf``: +inf is taken."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        fail(what, "a number", value)
    try:
        x = float(value)
    except OverflowError:  # an int beyond any float
        fail(what, "a finite number", value)
    if math.isnan(x) or (math.isinf(x) and not (inf and x > 0)):
        fail(what, "a finite number" if not inf else "a number or inf (not NaN or -inf)", value)
    if lo is not None and x < lo:
        fail(what, f">= {lo:g}", value)
    if above is not None and not x > above:
        fail(what, f"> {above:g}", value)
    if hi is not None and x > hi:
        fail(what, f"<= {hi:g}", value)
    return x


def text(value: Any, what: str) -> str:
    """A non-empty string on one line, without control characters."""
    if not isinstance(value, str):
        fail(what, "a string", value)
    if not value:
        fail(what, "a non-empty string", value)
    if CONTROL.search(value):
        fail(what, "a string without newlines or control characters", value)
    return value


def choice(value: Any, what: str, options: Collection[Any]) -> Any:
    """One of ``options`` (compared by type and value, so an unhashable or a bool never slips through)."""
    for option in options:
        if type(value) is type(option) and value == option:
            return option
    fail(what, "one of " + ", ".join(map(str, options)), value)


def flag(value: Any, what: str) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        fail(what, "true or false", value)
    return value


def items(value: Any, what: str, check: Callable[[Any, str], T], length: int | None = None) -> tuple[T, ...]:
    """A list or tuple whose items pass ``check(item, f'{what}[i]')``, of ``length`` items if given."""
    if not isinstance(value, (list, tuple)):
        fail(what, "a list", value)
    if length is not None and len(value) != length:
        raise SnnDeployError(f"{what} must have {length} item(s), got {len(value)}")
    return tuple(check(v, f"{what}[{i}]") for i, v in enumerate(value))


def mapping(value: Any, what: str) -> dict[str, Any]:
    """A dict with string keys."""
    if not isinstance(value, dict):
        raise SnnDeployError(f"{what} must be a mapping, got {type(value).__name__}")
    if bad := [k for k in value if not isinstance(k, str)]:
        raise SnnDeployError(f"{what} has a key that is not a string: {show(bad[0])}")
    return value


def optional(value: Any, check: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """None, or ``check(value, *args, **kwargs)``."""
    return None if value is None else check(value, *args, **kwargs)
