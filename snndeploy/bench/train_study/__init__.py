"""The training-cost study (``snndeploy bench train``): methods, worker processes, the study, its report."""
