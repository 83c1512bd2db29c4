"""Runner.share_cores: ONNX Runtime's intra-op threads stop spinning (what `snndeploy serve` asks of every
runner); other runners take it as a no-op; it must come before activation."""

import pytest

from snndeploy.core.errors import SnnDeployError
from snndeploy.runners import open_runner

KEY = "session.intra_op.allow_spinning"


@pytest.fixture(scope="module")
def graph(tiny_run, tmp_path_factory):
    from snndeploy.export.exporter import ExportConfig, export

    (e,) = export(tiny_run.path, ExportConfig(out=str(tmp_path_factory.mktemp("g"))))
    return e.path


def test_onnxruntime_threads_stop_spinning(graph):
    with open_runner(graph) as plain, pytest.raises(RuntimeError, match="does not have configuration"):
        plain.session.get_session_options().get_session_config_entry(KEY)  # unset: ONNX Runtime spins
    runner = open_runner(graph)
    runner.share_cores()
    with runner:
        assert runner.session.get_session_options().get_session_config_entry(KEY) == "0"
        with pytest.raises(SnnDeployError, match="before activate"):
            runner.share_cores()


def test_a_checkpoint_runner_takes_it_as_a_no_op(tiny_run):
    runner = open_runner(tiny_run.path)
    runner.share_cores()
    with runner:
        assert runner.infer(__import__("numpy").zeros((1, 1, 28, 28), "float32")).shape == (1, 10)
