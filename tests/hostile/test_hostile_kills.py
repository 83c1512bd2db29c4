"""Kills inside third-party writes (issue 20, item 8): a process dies while safetensors writes a checkpoint's
tensor file, or while an ONNX graph is written, after writing part of it (and, as safetensors does, part of a
``.tmpXXXXXX`` file of its own beside it). The previous artifact must still load, and the next command must
leave nothing in the folder that is not an artifact's own file."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import textwrap

import pytest
from hostile_helpers import copy_run, kind, run_python, snndeploy

# The child patches the writers, then runs `snndeploy ARGS...`; the KILL_AT-th write of a tensor file (any
# safetensors write) or of a graph (anything over 100 kB written into FOLDER, whatever its temp name) writes half of
# its bytes (and half of a library-style temp file beside it) and ends the process without cleanup.
KILLER = textwrap.dedent("""
    import os, sys, pathlib
    kill_at, folder, args = int(sys.argv[1]), os.path.realpath(sys.argv[2]), sys.argv[3:]
    count = [0]

    def die_halfway(path, data):
        count[0] += 1
        if count[0] != kill_at:
            return False
        path = pathlib.Path(path)
        real_write_bytes(path.parent / ".tmpK1LL3D", data[: len(data) // 2])
        with open(path, "wb") as fh:
            fh.write(data[: len(data) // 2])
        os._exit(137)

    def graph_write(path, data):
        return os.path.realpath(path).startswith(folder + os.sep) and len(data) > 100_000

    import safetensors.torch as st
    real_serialize = st.serialize_file
    def serialize_file(tensors, filename, metadata=None):
        real_serialize(tensors, filename, metadata=metadata)  # the whole file, to know its bytes
        data = pathlib.Path(filename).read_bytes()
        die_halfway(filename, data)
    st.serialize_file = serialize_file

    import onnx
    real_save = onnx.save_model
    def save_model(proto, f, *a, **k):
        data = proto.SerializeToString()
        if isinstance(f, (str, os.PathLike)) and graph_write(f, data):
            die_halfway(f, data)
        return real_save(proto, f, *a, **k)
    onnx.save = onnx.save_model = save_model
    real_write_bytes = pathlib.Path.write_bytes
    def write_bytes(self, data):
        if graph_write(self, data):
            die_halfway(self, bytes(data))
        return real_write_bytes(self, data)
    pathlib.Path.write_bytes = write_bytes

    sys.argv = ["snndeploy", *args]
    from snndeploy.cli.main import main
    main()
""")
RUN_FILES = re.compile(r"model\.json|\.lock|curves\.png|(model|train_state)\.[0-9a-f]{16}\.safetensors")


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _everything(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@kind("kill")
@pytest.mark.parametrize("kill_at", [1, 2], ids=["in the weights write", "in the training-state write"])
def test_killed_inside_safetensors_leaves_the_last_checkpoint_and_the_resume_cleans_up(tmp_path, tiny, kill_at):
    from snndeploy.training import checkpoint as ckpt

    run = copy_run(tiny.run, tmp_path / "run")
    weights = run / json.loads((run / "model.json").read_text())["weights"]["file"]
    sha = _sha(weights)
    killed = run_python(KILLER, kill_at, run, "train", "--resume", "--epochs", 2, "-q", "-o", run)
    assert killed.returncode == 137, killed.stderr[-3000:]
    assert _sha(weights) == sha and ckpt.load(run)  # the previous checkpoint, whole
    assert [n for n in _everything(run) if not RUN_FILES.fullmatch(n)]  # the killed write left its part
    done = snndeploy("train", "--resume", "--epochs", 2, "-q", "-o", run)
    assert done.returncode == 0, done.stderr[-3000:]
    left = [n for n in _everything(run) if not RUN_FILES.fullmatch(n)]
    assert not left, f"left behind: {left}"
    assert len(ckpt.load(run).extra["history"]) == 2


@kind("kill")
def test_killed_inside_an_onnx_write_leaves_the_last_graph_and_the_next_export_cleans_up(tmp_path, tiny):
    import onnx

    out = tmp_path / "ex"
    out.mkdir()
    shutil.copy(tiny.onnx, out / tiny.onnx.name)
    sha = _sha(out / tiny.onnx.name)
    killed = run_python(KILLER, 1, out, "export", tiny.run, "--T", 2, "-o", out, "--overwrite")
    assert killed.returncode == 137, killed.stderr[-3000:]
    assert _sha(out / tiny.onnx.name) == sha and onnx.load(out / tiny.onnx.name)  # the previous graph, whole
    assert _everything(out) != [tiny.onnx.name]  # the killed write left its part
    done = snndeploy("export", tiny.run, "--T", 2, "-o", out, "--overwrite")
    assert done.returncode == 0, done.stderr[-3000:]
    assert _everything(out) == [tiny.onnx.name]
    onnx.checker.check_model(onnx.load(out / tiny.onnx.name))
