"""What a network's logits say about one image: the predicted class and a confidence, read the way the
network was trained to produce them. `snndeploy infer` and the Triton sample (samples/triton_client.py) both
report these numbers, so the same logits give the same answer everywhere.

* Cross-entropy training (``loss="ce"``): the confidence is the softmax probability of the predicted class,
  in [1/classes, 1] (1/classes when every logit is equal).
* MSE training (``loss="mse"``, the default of ``snndeploy train``): the readout was trained to equal the
  one-hot target (1 for the true class, 0 for the others), so the predicted class's readout itself is the
  score, clipped to [0, 1]: 1 means the readout reached the target exactly. It is not a calibrated probability,
  and the scores of one image need not add up to 1.
* Unknown training (an artifact whose facts carry no ``training``): read as ``FALLBACK_LOSS``.

The predicted class is the largest logit in every case (the first of equal ones), never the largest clipped
score, which would tie every readout above 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .config import LOSSES, TrainConfig
from .errors import SnnDeployError
from .facts import ArtifactFacts

# the loss `snndeploy train` uses unless told otherwise: the likeliest for an artifact that does not say
FALLBACK_LOSS = TrainConfig.loss


def trained_loss(facts: ArtifactFacts) -> str:
    """The loss the artifact's network was trained with, or FALLBACK_LOSS when its facts do not say."""
    return FALLBACK_LOSS if facts.training is None else facts.training.loss


def confidence(logits: Any, loss: str) -> tuple[np.ndarray, np.ndarray]:
    """Predicted class index (int64 [N]) and its confidence (float64 [N]) for logits [N, classes] of a network
    trained with ``loss`` ("mse" or "ce"; see the module docstring for what the confidence means)."""
    if loss not in LOSSES:
        raise SnnDeployError(f"unknown loss {loss!r}; choose one of: {', '.join(LOSSES)}")
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] < 1:
        raise SnnDeployError(f"logits must have shape [N, classes], got {list(z.shape)}")
    index = z.argmax(1)
    top = np.take_along_axis(z, index[:, None], 1)[:, 0]
    if loss == "ce":
        # softmax of the largest logit: 1 / sum(exp(z - max)), shifted so that no exp overflows
        return index, 1.0 / np.exp(z - top[:, None]).sum(1)
    return index, np.clip(top, 0.0, 1.0)
