"""The one exception type the CLI turns into a one-line error."""


class SnnDeployError(Exception):
    """A user-facing error: bad input, a missing file, a foreign artifact."""
