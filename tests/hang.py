"""Calls that might block forever (a reader on a FIFO), run so that a hang fails the test instead of the suite."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def release_fifo(fifo: str | Path, flags: int = os.O_WRONLY) -> Callable[[], None]:
    """Opens ``fifo`` from the other side (for writing by default), which releases a call blocked opening it."""
    return lambda: os.close(os.open(fifo, flags | os.O_NONBLOCK))


def outcome_within(call: Callable[[], Any], release: Callable[[], None] | None = None,
                   seconds: float = 30.0) -> dict[str, Any]:
    """What ``call()`` returned ({"value": ...}) or raised ({"error": ...}), run in a thread. If it still blocks after
    ``seconds`` the test fails, after ``release()`` (see ``release_fifo``) has let the thread go."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            result["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        if release is not None:
            release()
        pytest.fail(f"the call still blocks after {seconds:g} s")
    return result


def no_hang(call: Callable[[], Any], seconds: float = 10.0) -> Any:
    """``call()``'s value, or its exception raised again; a call that blocks fails the test."""
    result = outcome_within(call, seconds=seconds)
    if "error" in result:
        raise result["error"]
    return result["value"]
