"""The neuron layer: each op's PyTorch form and ONNX emission (``ops``), and the one step that
composes them for every mode (``step``)."""

from .ops import FUNCTIONS, OPS, Charge, Fire, NeuronOp, Noise, PotentialNorm, Reset, ResidualNoise, draw
from .step import MODES, StepOps, TorchOps, keeps_potential, run_steps, step

__all__ = ["FUNCTIONS", "MODES", "OPS", "Charge", "Fire", "NeuronOp", "Noise", "PotentialNorm", "Reset",
           "ResidualNoise", "StepOps", "TorchOps", "draw", "keeps_potential", "run_steps", "step"]
