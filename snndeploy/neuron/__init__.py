"""The neuron layer: each op's PyTorch form and ONNX emission (``ops``), and the one step that
composes them for every mode (``step``); noise banks (``bank``) and the fused training step (``fused``)."""

from .bank import NoiseBank, bank_for, bank_rows
from .fused import noisy_fire
from .ops import (
           FUNCTIONS,
           OPS,
           Charge,
           Fire,
           NeuronOp,
           Noise,
           NoiseWindow,
           PotentialNorm,
           Reset,
           ResidualNoise,
           draw,
           unit,
           unit_rows,
)
from .step import MODES, StepOps, TorchOps, keeps_potential, run_steps, step

__all__ = ["FUNCTIONS", "MODES", "OPS", "Charge", "Fire", "NeuronOp", "Noise", "NoiseBank", "NoiseWindow",
           "PotentialNorm", "Reset", "ResidualNoise", "StepOps", "TorchOps", "bank_for", "bank_rows", "draw",
           "keeps_potential", "noisy_fire", "run_steps", "step", "unit", "unit_rows"]
