"""Evaluation: accuracy tables of artifacts (``evaluate``), spiking statistics and energy (``stats``, ``macs``)."""
