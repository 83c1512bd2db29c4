"""Bounded reads of regular files only (snndeploy/core/files.py): FIFOs, links to devices, folders, files over
the size limit and deeply nested JSON are one line each, never a hang, an endless read or a RecursionError."""

import os

import pytest
from hang import no_hang

from snndeploy.core import files
from snndeploy.core.errors import SnnDeployError


def test_a_regular_file_reads_whole(tmp_path):
    p = tmp_path / "a.json"
    p.write_text('{"a": [1, 2]}')
    assert files.read_json(p, "state") == {"a": [1, 2]}
    assert files.read_bytes(p, "state", "json") == b'{"a": [1, 2]}'
    assert files.check_regular(p, "state", "json") == 13


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("reader", [lambda p: files.read_bytes(p, "weights", "tensors"),
                                    lambda p: files.read_json(p, "checkpoint JSON"),
                                    lambda p: files.check_regular(p, "graph", "graph")])
def test_a_fifo_is_refused_at_once(tmp_path, reader):
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(SnnDeployError, match="not a regular file"):
        no_hang(lambda: reader(fifo))


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_link_to_an_endless_device_is_refused(tmp_path):
    link = tmp_path / "model.safetensors"
    link.symlink_to("/dev/zero")
    with pytest.raises(SnnDeployError, match="not a regular file"):
        no_hang(lambda: files.read_bytes(link, "weights", "tensors"))


def test_a_folder_and_a_missing_file_are_one_line(tmp_path):
    with pytest.raises(SnnDeployError, match="not a regular file"):
        files.read_bytes(tmp_path, "weights", "tensors")
    with pytest.raises(SnnDeployError, match="not found"):
        files.read_bytes(tmp_path / "nope", "weights", "tensors")


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (3 << 20))
    monkeypatch.setenv(files.MAX_FILE_ENV, "2")
    with pytest.raises(SnnDeployError, match="over the 2 MB limit"):
        files.read_json(big, "state")
    monkeypatch.setenv(files.MAX_FILE_ENV, "zero")
    with pytest.raises(SnnDeployError, match=files.MAX_FILE_ENV):
        files.read_json(big, "state")


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000,
                                  "[" * 65 + "]" * 65])
def test_deep_nesting_is_one_line(tmp_path, text):
    with pytest.raises(SnnDeployError, match="nests more than 64 levels"):
        files.loads_json(text, "state")


@pytest.mark.parametrize("text", ["[NaN]", '{"a": Infinity}', "{", "\xff"])
def test_what_snndeploy_never_writes_is_not_json(text):
    with pytest.raises(SnnDeployError, match="not valid JSON"):
        files.loads_json(text.encode("latin-1") if text == "\xff" else text, "state")
