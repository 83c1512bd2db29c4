"""Serving: snndeploy artifacts on a real Triton Inference Server (``server``), through their runners inside
Triton's Python backend (``backend``); where the server binary is (``install``)."""
