"""The server log in the work folder is opened only as a regular file (issue 20, item 4): a FIFO or a link planted
there is one line, never a blocked open or a write through the link, and only its tail is read for the error."""

import os
from pathlib import Path

import pytest
from hang import outcome_within, release_fifo

from snndeploy.core.errors import SnnDeployError
from snndeploy.serve.install import ServerInstall
from snndeploy.serve.server import LOG_TAIL, ServeConfig, TritonServer


def server(tmp_path: Path) -> TritonServer:
    install = ServerInstall(Path("/bin/true"), tmp_path / "backend", tmp_path / "stub", ())
    return TritonServer(tmp_path / "repo", tmp_path / "work", ServeConfig(http_port=1, grpc_port=2, metrics_port=3),
                        install)


@pytest.mark.parametrize("plant", ["fifo", "link"])
def test_a_planted_log_is_one_line(tmp_path, plant, monkeypatch):
    s = server(tmp_path)
    monkeypatch.setattr("snndeploy.serve.server.port_in_use", lambda host, port: False)
    s.work.mkdir()
    precious = tmp_path / "precious"
    precious.write_text("keep")
    if plant == "fifo":
        os.mkfifo(s.log)
    else:
        s.log.symlink_to(precious)
    out = outcome_within(s.start, release_fifo(s.log, os.O_RDONLY))  # the server opens its log for writing
    assert isinstance(out.get("error"), SnnDeployError), out
    assert "server log" in str(out["error"]) and "\n" not in str(out["error"])
    assert precious.read_text() == "keep" and s.process is None
    assert outcome_within(s.failure) == {"value": "no log"}


def test_failure_reads_the_tail_of_a_long_log(tmp_path):
    s = server(tmp_path)
    s.work.mkdir()
    s.log.write_bytes(b"E0101 x.cc:1] an old error\n" + b"." * (2 * LOG_TAIL) + b"\nE0101 y.cc:2] failed to load 'm'\n")
    assert s.failure() == "failed to load 'm'"
