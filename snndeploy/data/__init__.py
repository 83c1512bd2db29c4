"""Data: datasets kept in memory (``datasets``, with the bundled sample in ``sample``) and the user's inputs to
``infer`` (``inputs``)."""
