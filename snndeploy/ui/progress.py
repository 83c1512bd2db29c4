"""A thin rich progress bar that can be switched off (tests, scripts, non-rank-0 processes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

R = TypeVar("R")


class Bar:
    """Context manager around rich.Progress with a status text per task."""

    def __init__(self, enabled: bool = True) -> None:
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), TextColumn("{task.fields[status]}"))
        # Piped or redirected, rich cannot redraw a bar in place: it would print each bar's last state after the
        # lines the commands print where no bar is drawn, then the table; so a bar is drawn on a terminal only.
        self.enabled = enabled and self._progress.console.is_terminal
        self._progress.disable = not self.enabled

    def __enter__(self) -> Bar:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.__exit__(*exc)

    def start(self, description: str, total: int | None) -> int:
        """Add a task of ``total`` steps (None: one step of unknown length, shown as a pulsing bar and its time)."""
        return self._progress.add_task(description, total=total, status="")

    def advance(self, task: int, status: str = "", steps: int = 1) -> None:
        """``steps`` steps done."""
        self._progress.update(task, advance=steps, status=status)

    def step(self, description: str, work: Callable[[], R], done: Callable[[R], str] = lambda _: "done") -> R:
        """One slow piece of work of unknown length (an export, an engine build) as a task of its own: returns
        what ``work()`` returns, the task's final status ``done(result)``."""
        task = self.start(description, None)
        result = work()
        self.finish(task, done(result))
        return result

    def finish(self, task: int, status: str) -> None:
        """Mark a task complete with a final status."""
        total = self._progress.tasks[task].total
        self._progress.update(task, total=total or 1, completed=total or 1, status=status)
