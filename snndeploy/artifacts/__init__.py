"""The PyTorch-free formats of exported artifacts: ONNX metadata (``metadata``), names (``naming``), engine sidecars
(``sidecar``) and Triton model repositories (``triton``, ``triton_engine``)."""
