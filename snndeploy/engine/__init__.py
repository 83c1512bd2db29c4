"""TensorRT engines: ONNX -> plan + sidecar JSON (built through Polygraphy's loaders)."""
