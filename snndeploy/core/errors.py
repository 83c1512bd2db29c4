"""The one exception type the CLI turns into a one-line error."""

import reprlib


class SnnDeployError(Exception):
    """A user-facing error: bad input, a missing file, a foreign artifact."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, with its type: a library's error quoted in a one-line one."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__



def short(value: object, limit: int = 100) -> str:
    """A bounded quote of ``value`` (about ``limit`` characters) for a one-line message: a value from a file or an
    option, which must stay short however big it is (a YAML alias bomb expands to gigabytes). ``reprlib``
    never walks more than a few items per level, so even an exponentially shared structure costs nothing."""
    quote = reprlib.Repr()
    quote.maxlevel, quote.maxstring, quote.maxother = 3, limit, limit
    quote.maxlist = quote.maxtuple = quote.maxdict = quote.maxset = 6
    text = quote.repr(value)
    return text if len(text) <= limit + 3 else text[:limit] + "..."
