"""The one exception type the CLI turns into a one-line error."""


class SnnDeployError(Exception):
    """A user-facing error: bad input, a missing file, a foreign artifact."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, with its type: a library's error quoted in a one-line one."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
