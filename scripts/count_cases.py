"""Count the bad-input and fault-injection cases of the test suite, as collected by pytest (nothing is run).

    python scripts/count_cases.py [--list] [pytest paths...]

Every collected test case (each parametrization counts once) falls into one kind, first match wins:

* the hostile suite (tests/hostile): the kind its ``hostile(kind)`` marker names;
* hypothesis tests: ``generated``, counted as cases and as examples (``max_examples`` of the test's settings,
  which default to the profile loaded by tests/conftest.py; hypothesis draws at most that many);
* any other test by the words of its name and parameters (``KEYWORDS`` below, in order), else ``other``.

docs/robustness.md cites the table this prints; ``--list`` prints every case with its kind instead."""

from __future__ import annotations

import contextlib
import io
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# (kind, words of which the test's name must hold one): the words the suite's test names use for each kind of case,
# tried in order; "write-fault" needs a word of writing, "manifest" and "option" a word of REFUSAL (a test that reads
# a good file is neither)
KEYWORDS = [
    ("kill", {"kill", "killed", "kills"}),
    ("disk-full", {"disk", "enospc"}),
    ("write-fault", {"failure", "failed"}),
    ("lock", {"lock", "locks", "locked", "writers", "race", "racing"}),
    ("planted", {"symlink", "link", "linked", "fifo", "fifos", "foreign"}),
    ("bomb", {"bomb", "bombs", "deep", "nested"}),
    ("manifest", {"checkpoint", "checkpoints", "sidecar", "sidecars", "metadata", "json", "state", "record",
                  "records", "facts", "fields", "field", "manifest", "plan", "plans", "graph", "graphs", "onnx",
                  "config", "yaml", "version", "versions", "weights", "zero", "scales"}),
    ("option", set()),
]
REFUSAL = {"bad", "refuse", "refused", "refuses", "refusal", "rejects", "reject", "error", "errors", "invalid",
           "wrong", "damaged", "mutated", "fuzzed", "hostile", "tampered", "truncated", "corrupt", "broken",
           "disagrees", "unknown", "oversized", "range"}
WRITING = {"write", "writes", "writing"}
ORDER = ["kill", "disk-full", "write-fault", "lock", "planted", "bomb", "manifest", "option", "generated", "other"]


class _Collect:
    """A pytest plugin that keeps the collected items."""

    def __init__(self) -> None:
        self.items: list[pytest.Item] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.items = list(session.items)


def examples(item: pytest.Item) -> int | None:
    """The most examples hypothesis draws for ``item``, or None if it is not a hypothesis test."""
    fn = getattr(item, "obj", None)
    if not getattr(fn, "is_hypothesis_test", False):
        return None
    from hypothesis import settings

    chosen = getattr(fn, "_hypothesis_internal_use_settings", None) or settings.default
    return int(chosen.max_examples)


def kind_of(item: pytest.Item) -> str:
    """The kind of one collected case (see the module's docstring)."""
    marker = item.get_closest_marker("hostile")
    if marker is not None and marker.args:
        return str(marker.args[0])
    if examples(item) is not None:
        return "generated"
    words = set(re.split(r"[^a-z0-9]+", item.name.lower()))
    for kind, marks in KEYWORDS:
        needs = REFUSAL if kind in ("manifest", "option") else WRITING if kind == "write-fault" else None
        if (not marks or words & marks) and (needs is None or words & needs):
            return kind
    return "other"


def collect(paths: list[str]) -> list[pytest.Item]:
    """The items pytest collects under ``paths`` (its own output swallowed)."""
    plugin = _Collect()
    with contextlib.redirect_stdout(io.StringIO()):
        code = pytest.main(["--collect-only", "-p", "no:cacheprovider", *paths], plugins=[plugin])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        sys.exit(f"collection failed (pytest exit {int(code)}); run `pytest --collect-only` to see why")
    return plugin.items


def main(argv: list[str]) -> None:
    listing = "--list" in argv
    paths = [a for a in argv if a != "--list"] or [str(ROOT / "tests")]
    items = collect(paths)
    if listing:
        for item in items:
            print(f"{kind_of(item):10} {item.nodeid}")
        return
    cases, hostile, drawn = Counter(), Counter(), 0
    for item in items:
        k = kind_of(item)
        cases[k] += 1
        hostile[k] += item.get_closest_marker("hostile") is not None
        drawn += examples(item) or 0
    print(f"{'kind':11} {'cases':>6} {'of them in tests/hostile':>25}")
    for k in ORDER:
        print(f"{k:11} {cases[k]:>6} {hostile[k]:>25}")
    print(f"{'all':11} {sum(cases.values()):>6} {sum(hostile.values()):>25}")
    print(f"hypothesis: {cases['generated']} tests drawing at most {drawn} examples per run "
          f"(profile: {settings_profile()})")


def settings_profile() -> str:
    """The hypothesis profile tests/conftest.py loaded (by SNNDEPLOY_HYPOTHESIS, default ci)."""
    import os

    return os.environ.get("SNNDEPLOY_HYPOTHESIS", "ci")


if __name__ == "__main__":
    main(sys.argv[1:])
