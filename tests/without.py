"""Run the snndeploy CLI in a subprocess where some packages cannot be imported, as on an install without them
(the edge device's runtime without PyTorch, an install without the [int8] extra's ModelOpt)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# sys.modules[name] = None makes `import name` fail with ModuleNotFoundError, as where it is not installed
_CLI = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None
from snndeploy.cli.main import main
sys.argv = ["snndeploy", *sys.argv[2:]]
main()
"""
# the smallest bench that still measures: T 2, batch 1, 8 test images, 1 timed iteration
FAST = ("--T", "2", "--batch", "1", "--limit-test", "8", "--iters", "1")


def snndeploy_without(missing: tuple[str, ...], *args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``snndeploy ARGS`` run where the packages ``missing`` cannot be imported."""
    return subprocess.run([sys.executable, "-c", _CLI, ",".join(missing), *map(str, args)], capture_output=True,
                          text=True, timeout=240, cwd=cwd)
