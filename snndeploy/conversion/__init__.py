"""ANN-to-SNN conversion (``ann_to_snn``), the baseline of the paper's Table 2. The noise method's own conversion to
any T is the neuron's stage 2 / 3 (``snndeploy.neuron``)."""
