"""What `snndeploy bench train` measures: its options with their defaults and the `--quick` preset (free of
PyTorch at import, so the CLI's help reads its defaults from here), and how a resumed run's options compare."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from ...core.config import METHODS
from ...core.device import check_device_name
from ...core.errors import SnnDeployError, short
from ...core.neuron_config import check_T
from ...core.validate import option_name

# `--quick`: a first look in minutes (paper CNN on the bundled sample: under 5 minutes on 2 cores); options given
# explicitly override each value. lr 1e-3: at the paper's 1e-4, 2 epochs of 1000 images stay at chance accuracy
QUICK: dict[str, Any] = {"epochs": 2, "limit_train": 1000, "limit_test": 500, "lr": 1e-3, "repeats": 1,
                         "calib_images": 256, "conversion_max_T": 64, "peer_batches": 5}


@dataclass(frozen=True)
class TrainCostConfig:
    """What `snndeploy bench train` measures."""
    model: str = "paper-cnn"
    dataset: str = "sample"
    data_dir: str | None = None
    T: int = 10
    epochs: int = 10
    target: float = 0.92
    stop_at_target: bool = False  # halt each method at the target, as the paper's Fig. 5 does
    batch_size: int = 64
    lr: float = 1e-4
    limit_train: int | None = None
    limit_test: int | None = None
    seed: int = 0
    device: str = "cpu"
    augment: bool = False
    methods: tuple[str, ...] = ("noise", "bptt", "ann")
    uniform: bool = True  # also train with uniform noise (Fig. 7)
    peer: bool = True  # SpikingJelly multi-step LIF BPTT at T, when installed
    peer_batches: int = 20
    calib_images: int = 512
    conversion_max_T: int = 512
    repeats: int = 3  # noise draws averaged in the stage-3 sweeps
    out: str = "runs/bench-train"

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise SnnDeployError(f"unknown method '{unknown[0]}'; choose from: {', '.join(METHODS)}")
        if not self.methods or len(set(self.methods)) != len(self.methods):
            raise SnnDeployError(f"methods must be a non-empty list without repeats, got {','.join(self.methods)}")
        check_T(self.T, option_name("T"))  # the steps of bptt training and of stage-3 evaluation
        if not 0 < self.target <= 1:
            raise SnnDeployError(f"target accuracy must be in (0, 1], got {self.target}")
        from ...data.datasets import DATASETS  # PyTorch: imported when a configuration is made, not for the CLI's help
        from ...models import MODELS

        if self.model not in MODELS:
            raise SnnDeployError(f"unknown model '{self.model}'; choose one of: {', '.join(MODELS)}")
        if self.dataset not in DATASETS:
            raise SnnDeployError(f"unknown dataset '{self.dataset}'; choose one of: {', '.join(DATASETS)}")
        for name in ("epochs", "batch_size", "peer_batches", "calib_images", "conversion_max_T", "repeats"):
            if getattr(self, name) < 1:
                raise SnnDeployError(f"{option_name(name)} must be >= 1, got {getattr(self, name)}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise SnnDeployError(f"--lr must be a positive number, got {self.lr}")
        check_device_name(self.device)


def config_from_options(quick: bool = False, **given: Any) -> TrainCostConfig:
    """The configuration from the options a user gave (None: not given), over the QUICK preset when ``quick``,
    over the defaults."""
    chosen = {k: v for k, v in given.items() if v is not None}
    return TrainCostConfig(**{**(QUICK if quick else {}), **chosen})


def config_record(cfg: TrainCostConfig) -> dict[str, Any]:
    """The configuration as JSON (what a resumed run must match)."""
    return {**dataclasses.asdict(cfg), "methods": list(cfg.methods)}


def _option(key: str) -> str:
    return "--T" if key == "T" else f"--{key.replace('_', '-')}"


def differing_options(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """'--epochs (was 2, now 10)' for each setting (output folder aside) that differs between two records."""
    keys = [k for k in now if k != "out" and before.get(k) != now[k]] + [k for k in before if k not in now]
    # the earlier values come from a file anyone can edit: quoted within bounds
    return [f"{_option(k)} (was {_quote(before.get(k))}, now {_quote(now.get(k))})" for k in keys]


def _quote(value: Any) -> str:
    """A value as the message shows it: as is when short, else cut (by reprlib, never written out whole)."""
    text = short(value, 40)
    return str(value) if len(text) <= 40 and "..." not in text else text
