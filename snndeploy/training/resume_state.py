"""The training state a resumed run continues from, checked like user input before torch sees any of it.

A checkpoint's JSON (history, scheduler, optimizer groups) and its train_state tensors (Adam's moments, the random
generators) pass the hash check whenever they were edited and rehashed, so each part is compared with what this
run's own optimizer and scheduler hold: the same keys, types, lengths and shapes, finite numbers. Anything else
is one line, never a traceback from deep inside torch.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import torch

from ..core.errors import SnnDeployError, short

# the keys every history row has (the evaluation adds its own numbers: val_acc, accuracy, ...)
ROW_KEYS = ("epoch", "train_loss", "train_acc", "lr", "epoch_s", "eval_s", "wall_s")
# scheduler fields that are counts, with their least value; the others are numbers, flags or lists of numbers
_SCHED_INTS = {"T_0": 1, "T_i": 1, "T_mult": 1, "last_epoch": -1, "_step_count": 0}
_ADAM_STATE = ("step", "exp_avg", "exp_avg_sq")
_MAX_CUDA_RNG = 1024  # bytes of a CUDA generator's state (16 today)


def _fail(where: str, what: str) -> SnnDeployError:
    return SnnDeployError(f"cannot resume: {where}: {what}")


def _number(value: Any) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def check_history(history: Any, epochs: int, where: str) -> list[dict[str, Any]]:
    """One row per trained epoch, each a mapping with ROW_KEYS, epoch counting from 1, every value a finite number."""
    if not isinstance(history, list) or len(history) != epochs:
        raise _fail(where, f"'history' must hold one row per trained epoch ({epochs})")
    for i, row in enumerate(history):
        if not isinstance(row, Mapping):
            raise _fail(where, f"history row {i + 1} must be a mapping, got {short(row, 40)}")
        if missing := [k for k in ROW_KEYS if k not in row]:
            raise _fail(where, f"history row {i + 1} lacks '{missing[0]}'")
        for key, value in row.items():
            if not isinstance(key, str) or not _number(value):
                raise _fail(where, f"history row {i + 1}: '{short(key, 40)}' must be a finite number, "
                                   f"got {short(value, 40)}")
        if type(row["epoch"]) is not int or row["epoch"] != i + 1:
            raise _fail(where, f"history row {i + 1} has epoch {short(row['epoch'], 40)}")
    return history


def check_scheduler(saved: Any, template: dict[str, Any], where: str) -> None:
    """The scheduler's state: exactly the keys of this run's own scheduler (``template``), each of its type:
    counts as integers (T_0 and T_mult equal to this run's), numbers finite, lists of the same length."""
    if not isinstance(saved, Mapping):
        raise _fail(where, "'train_state.scheduler' must be a mapping")
    if set(saved) != set(template):
        odd = sorted(map(str, set(saved) ^ set(template)))
        raise _fail(where, f"'train_state.scheduler' must have the keys of the run's scheduler, "
                           f"not {short(', '.join(odd), 80)}")
    for key, want in template.items():
        _like(saved[key], want, f"scheduler.{key}", where, _SCHED_INTS.get(key))
    for key in ("T_0", "T_mult"):
        if saved[key] != template[key]:
            raise _fail(where, f"scheduler.{key} is {saved[key]}, the run's configuration gives {template[key]}")


def check_param_groups(saved: Any, template: list[dict[str, Any]], where: str) -> None:
    """Adam's groups: one per group of this run's optimizer, with its keys and parameter indices, a finite
    lr >= 0, two betas in [0, 1), eps > 0, weight decay >= 0, flags as flags."""
    if not isinstance(saved, list) or len(saved) != len(template):
        raise _fail(where, f"'train_state.param_groups' must hold {len(template)} optimizer group(s)")
    for i, (group, want) in enumerate(zip(saved, template, strict=True)):
        name = f"param_groups[{i}]"
        if not isinstance(group, Mapping) or set(group) != set(want):
            raise _fail(where, f"'{name}' must have the keys of the run's optimizer group")
        if group["params"] != list(want["params"]):
            raise _fail(where, f"'{name}.params' must be {want['params']}")
        betas = group["betas"]
        if not isinstance(betas, list | tuple) or len(betas) != 2 or not all(_number(b) and 0 <= b < 1 for b in betas):
            raise _fail(where, f"'{name}.betas' must be two numbers in [0, 1), got {short(betas, 40)}")
        for key, low, strict in (("lr", 0.0, False), ("initial_lr", 0.0, True), ("eps", 0.0, True),
                                 ("weight_decay", 0.0, False)):
            value = group.get(key, 1.0)
            if not _number(value) or value < low or (strict and value == low):
                raise _fail(where, f"'{name}.{key}' must be a finite number {'>' if strict else '>='} {low:g}, "
                                   f"got {short(value, 40)}")
        for key, value in want.items():
            if key not in ("params", "betas", "lr", "initial_lr", "eps", "weight_decay"):
                _like(group[key], value, f"{name}.{key}", where)


def check_tensors(state: dict[str, torch.Tensor], params: list[torch.Tensor], amsgrad: bool, where: str) -> None:
    """The train_state tensors: Adam's per-parameter state (``opt.<index>.<name>``: a float32 scalar step and
    finite moments of the parameter's shape and dtype, all of them or none per parameter) and the generators'
    states (``rng.cpu``: torch's own length; ``rng.cuda``), uint8 vectors. No other names."""
    names = (*_ADAM_STATE, "max_exp_avg_sq") if amsgrad else _ADAM_STATE
    seen: dict[int, set[str]] = {}
    for key, t in state.items():
        if key in ("rng.cpu", "rng.cuda"):
            _rng(key, t, where)
            continue
        parts = key.split(".")
        if len(parts) != 3 or parts[0] != "opt" or not parts[1].isdigit() or int(parts[1]) >= len(params) \
                or parts[2] not in names:
            raise _fail(where, f"the training state holds '{short(key, 60)}', which this run's optimizer lacks")
        index, name = int(parts[1]), parts[2]
        seen.setdefault(index, set()).add(name)
        param = params[index]
        if name == "step":
            ok = t.dtype == torch.float32 and t.numel() == 1 and t.dim() <= 1 and bool(torch.isfinite(t).all()) \
                and float(t) >= 0
        else:
            ok = t.shape == param.shape and t.dtype == param.dtype and bool(torch.isfinite(t).all())
        if not ok:
            raise _fail(where, f"the training state's '{key}' does not fit parameter {index} "
                               f"({tuple(param.shape)}, {param.dtype}) or is not finite")
    for index, got in seen.items():
        if lacking := sorted(set(names) - got):
            raise _fail(where, f"the training state lacks 'opt.{index}.{lacking[0]}'")
    if "rng.cpu" not in state:
        raise _fail(where, "the training state holds no random-generator state")


def _rng(key: str, t: torch.Tensor, where: str) -> None:
    want = torch.get_rng_state().numel() if key == "rng.cpu" else None
    if key == "rng.cuda" and torch.cuda.is_available():
        want = torch.cuda.get_rng_state().numel()
    if t.dtype != torch.uint8 or t.dim() != 1 or (want is not None and t.numel() != want) \
            or t.numel() > max(want or 0, _MAX_CUDA_RNG):
        raise _fail(where, f"the training state's '{key}' is not a random-generator state "
                           f"(uint8, {want or 'its'} bytes; got {t.dtype}, {tuple(t.shape)})")


def _like(value: Any, want: Any, what: str, where: str, least: int | None = None) -> None:
    """``value`` of ``want``'s kind: a flag, None, an integer count >= ``least``, a finite number, a list of
    finite numbers of the same length, or the same text."""
    if least is not None:
        ok = type(value) is int and value >= least
    elif isinstance(want, bool) or want is None:
        ok = type(value) is type(want)
    elif isinstance(want, numbers.Real):
        ok = _number(value)
    elif isinstance(want, list | tuple):
        ok = isinstance(value, list | tuple) and len(value) == len(want) and all(map(_number, value))
    else:
        ok = value == want
    if not ok:
        raise _fail(where, f"'{what}' must be like {short(want, 40)}, got {short(value, 40)}")
