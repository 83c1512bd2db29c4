"""snndeploy: train SNNs fast with noise at T=1, convert them to any T, deploy to ONNX / TensorRT."""

__version__ = "0.1.0"
