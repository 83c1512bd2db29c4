"""The `bench train` state file (STATE) read back for ``--resume``, checked field by field like user input.

The file is plain JSON that anyone can edit, and the run trusts what it resumes: a finished phase is skipped, its
checkpoint is loaded and hashed into the report. So every field is checked for type, range (finite numbers only)
and known names (keys, phases, methods, plots), and each recorded checkpoint must be this run's own, inside its
folder, reached through no link, and whole. Anything else is one line naming the field.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core import files
from ...core.errors import SnnDeployError, short
from ...training import checkpoint
from .report import PLOTS

MAX_TEXT = 4096  # the longest string a state holds (a path)

Check = Callable[[Any, str], None]


@dataclass(frozen=True)
class Plan:
    """What this run's state may hold: its phases in order; its rows by label, with the checkpoint each must name
    (None: it makes none) and whether its time to target is measured; the keys of a job's record; the sweeps'
    alphas (as the state's keys) and lengths; the conversion's longest T and reference T."""
    path: Path  # the state file
    out: Path  # the bench folder
    phases: list[str]
    checkpoints: dict[str, Path | None]
    timed: dict[str, bool]
    job_keys: set[str]
    epochs: int
    alphas: tuple[str, ...]
    sweep_T: int
    conversion_max_T: int
    reference_T: int


class _Bad(Exception):
    """A field that is not what it must be: (field, what it must be, its value)."""


def _fail(field: str, must: str, value: Any) -> _Bad:
    return _Bad(f"'{field}' must be {must}, got {short(value, 60)}")


def _keys(value: Any, field: str, allowed: set[str] | list[str], required: set[str] | list[str] = ()) -> dict:
    """``value`` as a mapping of known keys holding every required one."""
    if not isinstance(value, dict):
        raise _fail(field, "a mapping", value)
    unknown = [k for k in value if k not in allowed]
    if unknown:
        raise _Bad(f"'{field}' holds unknown key {short(unknown[0], 60)}" if field else
                   f"unknown key {short(unknown[0], 60)}")
    missing = [k for k in required if k not in value]
    if missing:
        raise _Bad(f"'{field}' lacks '{missing[0]}'" if field else f"the state lacks '{missing[0]}'")
    return value


def _list(value: Any, field: str, most: int, least: int = 0) -> list:
    if not isinstance(value, list) or not least <= len(value) <= most:
        raise _fail(field, f"a list of {least} to {most} items", value)
    return value


def number(lo: float = -math.inf, hi: float = math.inf, none: bool = False, above: bool = False) -> Check:
    """A finite number in [lo, hi] (above: > lo), or None when ``none``."""
    def check(value: Any, field: str) -> None:
        if value is None and none:
            return
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) \
            and (value > lo if above else value >= lo) and value <= hi
        if not ok:
            bounds = "" if not math.isfinite(lo) else f" > {lo:g}" if above else \
                f" in [{lo:g}, {hi:g}]" if math.isfinite(hi) else f" >= {lo:g}"
            raise _fail(field, f"a finite number{bounds}" + (" or null" if none else ""), value)
    return check


def integer(lo: int, hi: int | None = None, none: bool = False) -> Check:
    """An integer in [lo, hi], or None when ``none``."""
    def check(value: Any, field: str) -> None:
        if value is None and none:
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
            raise _fail(field, f"an integer >= {lo}" + (f" and <= {hi}" if hi is not None else "")
                        + (" or null" if none else ""), value)
    return check


def _scalar(value: Any, field: str) -> None:
    """A JSON scalar: null, true/false, a finite number or a string of at most MAX_TEXT characters."""
    if isinstance(value, str) and len(value) > MAX_TEXT or isinstance(value, list | dict):
        raise _fail(field, f"a number, true/false, null or a text of at most {MAX_TEXT} characters", value)
    if value is not None and not isinstance(value, bool | str):
        number()(value, field)


def _boolean(value: Any, field: str) -> None:
    if not isinstance(value, bool):
        raise _fail(field, "true or false", value)


ACCURACY = number(0.0, 1.0)


def _accuracies(value: Any, field: str, n: int) -> None:
    for i, a in enumerate(_list(value, field, n, n)):
        ACCURACY(a, f"{field}[{i}]")


def _fields(value: dict, field: str, checks: dict[str, Check]) -> None:
    for key, check in checks.items():
        if key in value:
            check(value[key], f"{field}.{key}")


# a row of the training history, as `fit` and the worker write it
HISTORY = {"epoch": integer(1), "train_loss": number(), "train_acc": number(0.0, 1.0), "lr": number(),
           "epoch_s": number(0.0), "eval_s": number(0.0), "wall_s": number(0.0), "train_s": number(0.0),
           "train_s_cum": number(0.0), "wall_s_cum": number(0.0), "accuracy": number(0.0, 1.0, none=True),
           "accuracy_stage1": number(0.0, 1.0, none=True)}
TIME_TO_TARGET = {"reached": _boolean, "epoch": integer(1, none=True), "train_s": number(0.0, none=True),
                  "wall_s": number(0.0, none=True), "trained_s": number(0.0, none=True),
                  "best_accuracy": number(0.0, 1.0, none=True)}
# a method's measurements, as the worker returns them (the peer's: batches_timed, batch_s, losses)
ROW = {"epoch_s": number(0.0), "samples_per_s": number(0.0), "memory_mb": number(), "peak_rss_mb": number(none=True),
       "cuda_peak_mb": number(none=True), "rss_baseline_mb": number(none=True), "threads": integer(1),
       "train_images": integer(0), "test_images": integer(0), "epoch_vs_bptt": number(none=True),
       "memory_vs_bptt": number(none=True), "batches_timed": integer(1), "batch_s": number(0.0)}
ROW_REQUIRED = {"history", "epoch_s", "memory_mb", "samples_per_s", "job", "time_to_target"}  # what the report reads
ROW_KEYS = {*ROW, *ROW_REQUIRED, "label", "checkpoint", "losses"}
CONVERSION = {"ann_accuracy": ACCURACY, "calibration_images": integer(0), "percentile": number(0.0, 100.0, above=True),
              "reference": number(0.0, 1.0, none=True), "steps_ratio": number(0.0, none=True)}
CONVERSION_KEYS = {*CONVERSION, "max_T", "reference_T", "accuracy_by_T", "table", "thresholds",
                   "first_T_reaching_reference"}
TOP = ["config", "done", "rows", "figures", "conversion", "plots"]


def read(plan: Plan, record: dict[str, Any]) -> dict[str, Any]:
    """The earlier run's state at ``plan.path``, checked, for a run whose configuration record is ``record``:
    its options' differences from ``record`` are the caller's to judge (``config`` is checked for known keys
    only). One line naming the field for anything hostile; nothing is changed."""
    obj = load(plan.path)
    try:
        _keys(obj, "", TOP, TOP)
        for key, value in _keys(obj["config"], "config", set(record)).items():
            for i, item in enumerate(value if isinstance(value, list) else [value]):  # methods: a list
                _scalar(item, f"config.{key}" + (f"[{i}]" if isinstance(value, list) else ""))
    except _Bad as exc:
        raise SnnDeployError(f"bench state {plan.path}: {exc}") from None
    return obj


def check(plan: Plan, obj: dict[str, Any]) -> None:
    """Check everything but the configuration (which the caller compared with its own): one line if hostile."""
    try:
        _check(plan, obj)
    except _Bad as exc:
        raise SnnDeployError(f"bench state {plan.path}: {exc}") from None


def exists(path: Path) -> bool:
    """Whether a state file is there; one line for anything there but a regular file (a link, a FIFO, a folder),
    which snndeploy never writes and must not replace."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise SnnDeployError(f"cannot read bench state {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise SnnDeployError(f"bench state {path} is not a regular file (a link, a folder or a FIFO); snndeploy "
                             "writes none such: remove it or choose another --out")
    return True


def load(path: Path) -> Any:
    """The state file's JSON: bounded, a regular file, nested at most files.MAX_DEPTH deep."""
    exists(path)
    return files.read_json(path, "bench state")


def _check(plan: Plan, obj: dict[str, Any]) -> None:
    done = _list(obj["done"], "done", len(plan.phases))
    for i, phase in enumerate(done):
        if phase not in plan.phases or phase in done[:i]:
            raise _fail(f"done[{i}]", "one of this run's phases, once", phase)
    rows = _keys(obj["rows"], "rows", set(plan.checkpoints))
    for label, row in rows.items():
        _row(plan, label, row)
    figures = _figures(plan, obj["figures"])
    conversion = obj["conversion"]
    if conversion is not None:
        _conversion(plan, conversion)
    plots = _list(obj["plots"], "plots", len(PLOTS))
    for i, name in enumerate(plots):
        if name not in PLOTS.values() or name in plots[:i]:
            raise _fail(f"plots[{i}]", "one of the report's plots, once", name)
    # a finished phase's results are there: the phases after it read them
    for phase in done:
        if phase.startswith("train ") and phase[len("train "):] not in rows:
            raise _Bad(f"'rows' lacks '{phase[len('train '):]}', whose phase is done")
    if "stage-3 sweep" in done and not (set(plan.alphas) <= set(figures.get("alpha", {})) and "stage1_T1" in figures
                                        and "gaussian" in figures.get("noise_types", {})):
        raise _Bad("'figures' must hold every alpha, 'stage1_T1' and the Gaussian curve: the stage-3 sweep is done")
    if "uniform-noise sweep" in done and ("stage-3 sweep" not in done
                                          or "uniform" not in figures.get("noise_types", {})):
        raise _Bad("'figures.noise_types' must hold the uniform curve: the uniform-noise sweep is done")
    if "conversion" in done and conversion is None:
        raise _fail("conversion", "the conversion's results (its phase is done)", conversion)


def _row(plan: Plan, label: str, row: Any) -> None:
    field = f"rows.{label}"
    _keys(row, field, ROW_KEYS, ROW_REQUIRED)
    _fields(row, field, ROW)
    if row.get("label", label) != label:
        raise _fail(f"{field}.label", repr(label), row["label"])
    ours = plan.checkpoints[label] is not None
    history = _list(row["history"], f"{field}.history", plan.epochs, 1 if ours else 0)
    for i, entry in enumerate(history):
        where = f"{field}.history[{i}]"
        _keys(entry, where, set(HISTORY), {"epoch", "train_s_cum", "wall_s_cum"})
        _fields(entry, where, HISTORY)
        if label == "noise" and entry.get("accuracy") is not None:
            number(0.0, 1.0)(entry.get("accuracy_stage1"), f"{where}.accuracy_stage1")
    for i, loss in enumerate(_list(row.get("losses", []), f"{field}.losses", 1 << 16)):
        number()(loss, f"{field}.losses[{i}]")
    job = _keys(row["job"], f"{field}.job", plan.job_keys, {"T", "epochs"})
    for key, value in job.items():
        _scalar(value, f"{field}.job.{key}")
    integer(1)(job["T"], f"{field}.job.T")
    integer(1)(job["epochs"], f"{field}.job.epochs")
    _time_to_target(row["time_to_target"], f"{field}.time_to_target", plan.timed[label])
    _checkpoint(plan, row.get("checkpoint"), f"{field}.checkpoint", plan.checkpoints[label])


def _time_to_target(value: Any, field: str, timed: bool) -> None:
    if not timed:
        if value is not None:
            raise _fail(field, "null (this row's time to target is not measured)", value)
        return
    _keys(value, field, set(TIME_TO_TARGET), {"reached", "epoch", "train_s", "wall_s"})
    _fields(value, field, TIME_TO_TARGET)
    if value["reached"]:  # the claims divide by its training time
        number(0.0, above=True)(value["train_s"], f"{field}.train_s")
        number(0.0)(value["wall_s"], f"{field}.wall_s")
        integer(1)(value["epoch"], f"{field}.epoch")
    else:  # the report shows how long it trained without reaching it
        number(0.0)(value.get("trained_s"), f"{field}.trained_s")


def _figures(plan: Plan, value: Any) -> dict[str, Any]:
    figures = _keys(value, "figures", {"alpha", "stage1_T1", "noise_types"})
    if "alpha" in figures:
        for alpha, curve in _keys(figures["alpha"], "figures.alpha", set(plan.alphas)).items():
            _accuracies(curve, f"figures.alpha.{alpha}", plan.sweep_T)
    if "stage1_T1" in figures:
        ACCURACY(figures["stage1_T1"], "figures.stage1_T1")
    if "noise_types" in figures:
        for kind, curve in _keys(figures["noise_types"], "figures.noise_types", {"gaussian", "uniform"}).items():
            _accuracies(curve, f"figures.noise_types.{kind}", plan.sweep_T)
    return figures


def _conversion(plan: Plan, value: Any) -> None:
    conv = _keys(value, "conversion", CONVERSION_KEYS, CONVERSION_KEYS)
    _fields(conv, "conversion", CONVERSION)
    max_T = plan.conversion_max_T
    integer(max_T, max_T)(conv["max_T"], "conversion.max_T")
    integer(plan.reference_T, plan.reference_T)(conv["reference_T"], "conversion.reference_T")
    _accuracies(conv["accuracy_by_T"], "conversion.accuracy_by_T", max_T)
    for i, row in enumerate(_list(conv["table"], "conversion.table", max_T)):
        _keys(row, f"conversion.table[{i}]", {"T", "accuracy"}, {"T", "accuracy"})
        integer(1, max_T)(row["T"], f"conversion.table[{i}].T")
        ACCURACY(row["accuracy"], f"conversion.table[{i}].accuracy")
    for i, t in enumerate(_list(conv["thresholds"], "conversion.thresholds", 1 << 12)):
        number()(t, f"conversion.thresholds[{i}]")
    first = conv["first_T_reaching_reference"]
    integer(1, max_T, none=True)(first, "conversion.first_T_reaching_reference")
    if (first is None) != (conv["steps_ratio"] is None):
        raise _fail("conversion.steps_ratio", "null exactly when 'first_T_reaching_reference' is",
                    conv["steps_ratio"])


def _checkpoint(plan: Plan, value: Any, field: str, expected: Path | None) -> None:
    """A recorded checkpoint must be this run's own (where it writes it, inside its folder, through no link) and,
    when it is there, whole: a real checkpoint whose files match their hashes."""
    if expected is None:
        if value is not None:
            raise _fail(field, "null (this row has no checkpoint)", value)
        return
    if not isinstance(value, str) or ".." in Path(value).parts \
            or os.path.abspath(value) != os.path.abspath(expected):
        raise _fail(field, f"this run's checkpoint {expected}", value)
    inside = Path(os.path.abspath(expected)).relative_to(os.path.abspath(plan.out))
    here = Path(os.path.abspath(plan.out))
    for part in inside.parts:
        here = here / part
        try:
            mode = here.lstat().st_mode
        except FileNotFoundError:
            return  # gone: the phase is trained again
        except OSError as exc:
            raise _Bad(f"'{field}': cannot read {here}: {exc.strerror or exc}") from None
        if stat.S_ISLNK(mode):
            raise _Bad(f"'{field}' leads through a link ({here}) out of {plan.out}")
    try:
        files.read_json(here, "checkpoint JSON")  # bounded and depth-limited before the loader parses it
        checkpoint.load(here)
    except SnnDeployError as exc:
        raise _Bad(f"'{field}' is not a whole snndeploy checkpoint: {str(exc)[:150]}") from None
