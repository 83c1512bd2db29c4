"""Optional dependencies imported on first use, with a one-line install hint when missing.

After Polygraphy's ``mod.lazy_import``: a module object that stands in for the real one until an
attribute is read, so a command that never touches TensorRT never needs it installed.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any

from .errors import SnnDeployError
from .install import Hint


class NotInstalled(SnnDeployError, ModuleNotFoundError):
    """An optional library that is not installed: one line for a command (a SnnDeployError), and, being a
    ModuleNotFoundError, a status row for bench (as a producer whose module cannot be imported is);
    ``install`` says how to install it."""

    def __init__(self, message: str, name: str, install: str | Hint | None = None) -> None:
        super().__init__(message, name=name)
        self.install = install


class LazyModule:
    """A module imported on first attribute access; a missing one raises SnnDeployError with ``install``."""

    def __init__(self, name: str, install: str | Hint) -> None:
        self._name, self._install = name, install
        self._module: ModuleType | None = None

    def load(self) -> ModuleType:
        """The real module, imported now if it was not yet."""
        if self._module is None:
            try:
                self._module = importlib.import_module(self._name)
            except ImportError:
                raise SnnDeployError(f"{self._name} is not installed: {self._install}") from None
        return self._module

    def available(self) -> bool:
        """Whether the module can be imported (without importing it)."""
        if self._module is not None:
            return True
        try:
            return importlib.util.find_spec(self._name) is not None
        except (ImportError, ValueError):
            return False

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        return getattr(self.load(), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name}>"


def lazy_import(name: str, install: str | Hint) -> LazyModule:
    """A LazyModule for ``name``; ``install`` is the command that provides it (a Hint: computed when shown)."""
    return LazyModule(name, install)
