"""Output files of eval / infer / stats / bench (--json, --csv, --md, --plot) and bench's --work folder: an
existing one is refused without --overwrite, before any work."""

import numpy as np
import pytest
from cli_helpers import bad, invoke

from snndeploy.cli.common import check_output_file, check_work_folder
from snndeploy.core.errors import SnnDeployError


def test_an_existing_output_file_is_refused_unless_overwrite(tmp_path):
    path = tmp_path / "rows.json"
    check_output_file(str(path), "--json")  # nothing there yet
    path.write_text("kept")
    with pytest.raises(SnnDeployError) as caught:
        check_output_file(str(path), "--json")
    assert str(caught.value) == f"{path} already exists: --overwrite replaces it, or give --json another path"
    check_output_file(str(path), "--json", overwrite=True)
    link = tmp_path / "link.json"
    link.symlink_to(path)
    with pytest.raises(SnnDeployError, match="is not a regular file"):
        check_output_file(str(link), "--json", overwrite=True)


def test_a_used_work_folder_is_refused_unless_overwrite(tmp_path):
    work = tmp_path / "work"
    check_work_folder(str(work), "--work", False)
    work.mkdir()
    check_work_folder(str(work), "--work", False)  # empty
    (work / ".x.123-ab.snndeploy-tmp").mkdir()  # a killed write's temp folder is not a use
    check_work_folder(str(work), "--work", False)
    (work / "fp32").mkdir()
    with pytest.raises(SnnDeployError, match="work already exists: --overwrite replaces it, or give --work another"):
        check_work_folder(str(work), "--work", False)
    check_work_folder(str(work), "--work", True)


@pytest.mark.parametrize("command", ["eval", "stats", "infer"])
def test_commands_refuse_an_existing_json_before_any_work(tiny_run, tmp_path, command):
    path = tmp_path / "out.json"
    path.write_text("kept")
    images = tmp_path / "images.npy"
    np.save(images, np.zeros((1, 1, 28, 28), np.float32))
    err = bad(command, tiny_run.path.parent, *([images] if command == "infer" else []), "--json", path)
    assert "already exists: --overwrite replaces it, or give --json another path" in " ".join(err.split())
    assert path.read_text() == "kept"


def test_bench_refuses_a_used_work_folder_and_existing_outputs(tiny_run, tmp_path):
    work = tmp_path / "work"
    (work / "fp32").mkdir(parents=True)
    (work / "fp32" / "x.onnx").write_text("kept")
    err = bad("bench", tiny_run.path.parent, "--work", work, "--T", 1, "--batch", 1, "--iters", 1)
    assert "already exists: --overwrite replaces it, or give --work another path" in " ".join(err.split())
    md = tmp_path / "rows.md"
    md.write_text("kept")
    assert "give --md another path" in " ".join(bad("bench", tiny_run.path.parent, "--md", md).split())
    assert md.read_text() == "kept" and (work / "fp32" / "x.onnx").read_text() == "kept"
    r = invoke("bench", tiny_run.path.parent, "--work", work, "--T", 1, "--batch", 1, "--iters", 1,
               "--backend", "onnxruntime", "--limit-test", 32, "--overwrite", "--md", md)
    assert r.exit_code == 0, r.output
    assert md.read_text() != "kept" and (work / "fp32" / "x.onnx").read_text() == "kept"  # not ours: kept
