"""A thin rich progress bar that can be switched off (tests, scripts, non-rank-0 processes)."""

from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class Bar:
    """Context manager around rich.Progress with a status text per task."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), TextColumn("{task.fields[status]}"), disable=not enabled)

    def __enter__(self) -> Bar:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.__exit__(*exc)

    def start(self, description: str, total: int) -> int:
        """Add a task."""
        return self._progress.add_task(description, total=total, status="")

    def advance(self, task: int, status: str = "") -> None:
        """One step done."""
        self._progress.update(task, advance=1, status=status)

    def finish(self, task: int, status: str) -> None:
        """Mark a task complete with a final status."""
        self._progress.update(task, completed=self._progress.tasks[task].total, status=status)
