"""Export: checkpoint -> ONNX graphs and Triton repositories (``exporter``), and the torch-free parts that
runtimes read: graph metadata (``metadata``), the TensorRT static check (``check``), names, Triton configs.

Nothing is imported here, so that reading an exported graph never loads PyTorch."""
