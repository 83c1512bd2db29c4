"""Training: the noisy single-step SNN, BPTT and ANN baselines (``train``), checkpoints (``checkpoint``), test accuracy
of a PyTorch network (``accuracy``), torchrun (``distributed``)."""
