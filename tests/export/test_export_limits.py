"""Export refuses, in one line and before any work, a T whose graph exceeds protobuf's 2 GB or whose export
would not fit in memory (issue 20, item 7)."""

import pytest
from conftest import make_checkpoint

from snndeploy.core.errors import SnnDeployError
from snndeploy.export.exporter import ExportConfig, check_fits, export, graph_cost, unchecked_model


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    return folder, make_checkpoint(folder, "small-cnn")


def test_graph_cost_predicts_the_graph(small):
    _, checkpoint = small
    cfg = ExportConfig(noise="frozen")
    cost, graph = graph_cost(checkpoint, cfg), unchecked_model(checkpoint, cfg, 20)
    assert cost.nodes.at(20) == len(graph.graph.node)
    assert cost.size.at(20) == pytest.approx(graph.ByteSize(), rel=0.01)


def test_a_T_whose_export_needs_more_memory_is_refused(small):
    _, checkpoint = small
    with pytest.raises(SnnDeployError, match=r"^--T 5000 needs about \d+\.\d GB to export small-cnn "
                                             r"\(4\.0 GB available\); the largest T that fits is [\d,]+$"):
        check_fits(checkpoint, ExportConfig(T=(5, 5000)), available=4_000_000_000)
    check_fits(checkpoint, ExportConfig(T=(5, 100)), available=4_000_000_000)  # normal T: accepted


def test_a_graph_over_protobufs_limit_is_refused_before_any_file(small, tmp_path):
    folder, _ = small
    with pytest.raises(SnnDeployError, match=r"^--T 20000 needs about 3\.1 GB as an ONNX graph of small-cnn "
                                             r"\(an ONNX file holds at most 2\.1 GB\); the largest T that fits is"):
        export(folder, ExportConfig(T=(20000,), out=str(tmp_path / "out")))
    assert not (tmp_path / "out").exists()
