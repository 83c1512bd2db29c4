"""The one exception type the CLI turns into a one-line error."""


class SnnDeployError(Exception):
    """A user-facing error: bad input, a missing file, a foreign artifact."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, with its type: a library's error quoted in a one-line one."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def short(value: object, limit: int = 100) -> str:
    """``repr(value)`` cut to about ``limit`` characters: a value from a file or an option quoted in a message,
    which must stay one short line however big the value is (a YAML alias bomb expands to gigabytes)."""
    if isinstance(value, list | tuple | dict | set) and len(value) > limit:
        return f"<{type(value).__name__} of {len(value):,} items>"
    text = repr(value) if not isinstance(value, str) or len(value) <= limit else repr(value[:limit])
    return text if len(text) <= limit + 3 else text[:limit] + "..."
