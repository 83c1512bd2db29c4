"""Data bundled with the package: ``mnist_sample.npz``, the default ``sample`` dataset (see samples/README.md)."""
