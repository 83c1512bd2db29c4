"""A new backend is one runner class plus one row of the kinds table: a toy kind registered from this file alone
(a `.toy` file of class centroids, run with NumPy) shows in `bench` rows, `eval` accuracy, `infer` answers and
`snndeploy --version`, without a change anywhere else; unregistered afterwards."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import bad, invoke

from snndeploy.core.errors import SnnDeployError
from snndeploy.core.facts import ArtifactFacts
from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.data.datasets import iterate_arrays, load_dataset, normalize_array
from snndeploy.runners import ArtifactKind, Runner, backends, kind_of, kinds, register, unregister

LIMIT = 64  # test images the commands below score


class ToyRunner(Runner):
    """Nearest class centroid: logits are minus the squared distance of the normalised image to each class's
    mean training image. The file is an .npz: ``centroids`` [classes, pixels] and ``facts`` (JSON)."""

    backend = "toy"

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        with np.load(self.path) as data:
            self.centroids = data["centroids"].astype(np.float32)
            self._facts = ArtifactFacts.from_dict(json.loads(str(data["facts"])), str(self.path))
        self.session: np.ndarray | None = None

    @property
    def facts(self) -> ArtifactFacts:
        return self._facts

    def _activate_impl(self) -> None:
        self.session = self.centroids

    def _deactivate_impl(self) -> None:
        self.session = None

    def _infer_impl(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return logits(self.session, feeds["images"])


def logits(centroids: np.ndarray, images: np.ndarray) -> np.ndarray:
    x = images.reshape(len(images), -1)
    return -((x[:, None, :] - centroids[None]) ** 2).sum(-1).astype(np.float32)


TOY = ArtifactKind("toy", "a toy centroid model (.toy)", "toy model", (".toy",), "toy", ToyRunner, ("fp32",),
                   ("cpu",), "pip install toy-backend", (("numpy", ("numpy",)),))


@pytest.fixture
def toy(tmp_path):
    """The toy row registered (removed again after the test) and a .toy file fitted on the sample's train split;
    returns the file and the expected logits of the first LIMIT test images."""
    register(TOY)
    try:
        data = load_dataset("sample")
        x = normalize_array(data.train.images, data.spec).reshape(len(data.train), -1)
        centroids = np.stack([x[data.train.labels == c].mean(0) for c in range(data.spec.num_classes)])
        facts = ArtifactFacts(model="toy-centroids", data=data.spec, neuron=NeuronConfig(), T=1, stage=3,
                              noise="frozen")
        path = tmp_path / "model.toy"
        with open(path, "wb") as fh:  # a handle: np.savez would add .npz to a path
            np.savez(fh, centroids=centroids, facts=json.dumps(facts.to_dict()))
        ((images, labels),) = iterate_arrays(load_dataset("sample", limit_test=LIMIT).test, data.spec, LIMIT)
        expected = float((logits(centroids.astype(np.float32), images).argmax(1) == labels).mean())
        yield path, expected, data.test.images[:3]
    finally:
        unregister("toy")


def test_the_row_is_in_the_table_only_while_registered(toy):
    path, _, _ = toy
    assert kind_of(path) is TOY and "toy" in backends() and kinds()[-1] is TOY
    assert TOY.unavailable("cpu") is None and TOY.unavailable("cuda") == "toy runs on cpu, not cuda"
    with pytest.raises(SnnDeployError, match="clashes with 'toy'"):
        register(TOY)


def test_unregister_removes_the_row(tmp_path):
    register(TOY)
    unregister("toy")
    assert "toy" not in backends() and TOY not in kinds()
    (tmp_path / "m.toy").write_bytes(b"")
    with pytest.raises(SnnDeployError, match="unknown artifact type"):
        kind_of(tmp_path / "m.toy")
    with pytest.raises(SnnDeployError, match="built in"):
        unregister("onnx")


def test_bench_measures_the_new_kind(toy, tmp_path):
    path, expected, _ = toy
    r = invoke("bench", path, "--batch", "1,4", "--limit-test", LIMIT, "--iters", 2, "--json", tmp_path / "b.json",
               "--work", tmp_path / "work")
    assert r.exit_code == 0, r.output
    rows = json.loads((tmp_path / "b.json").read_text())["results"]
    assert [(row["backend"], row["batch"], row["status"]) for row in rows] == [("toy", 1, "ok"), ("toy", 4, "ok")]
    assert all(row["accuracy"] == expected and row["p50_ms"] > 0 and row["T"] == 1 for row in rows)
    assert expected > 0.5  # centroids of the sample's digits: far above chance, so the rows measured the model


def test_eval_scores_the_new_kind(toy, tmp_path):
    path, expected, _ = toy
    r = invoke("eval", path, "--limit-test", LIMIT, "--json", tmp_path / "e.json")
    assert r.exit_code == 0, r.output
    (row,) = json.loads((tmp_path / "e.json").read_text())["results"]
    assert row["backend"] == "toy" and row["accuracy"] == expected and row["T"] == 1
    assert row["repeats"] == 1 and row["repeats_note"].startswith("frozen noise")


def test_infer_answers_with_the_new_kind(toy, tmp_path):
    path, _, images = toy
    np.save(tmp_path / "three.npy", images)
    r = invoke("infer", path, tmp_path / "three.npy", "--json", "-")
    assert r.exit_code == 0, r.output
    answer = json.loads(r.output)
    spec = load_dataset("sample").spec
    with np.load(path) as data:
        want = logits(data["centroids"].astype(np.float32), normalize_array(images, spec)).argmax(1)
    assert answer["backend"] == "toy" and [p["index"] for p in answer["predictions"]] == want.tolist()


def test_version_lists_the_new_kinds_library(toy):
    r = invoke("--version")
    assert r.exit_code == 0, r.output
    assert f"numpy {np.__version__}" in r.output.splitlines()[1]
    unregister("toy")
    assert "numpy" not in invoke("--version").output
    register(TOY)  # for the fixture to remove


def test_a_second_backend_for_an_existing_kind_is_one_row(toy, tmp_path):
    """A backend that runs another kind's files: a row without suffixes, made from that kind by SameFile."""
    from snndeploy.runners import Recipe

    class SlowToyRunner(ToyRunner):
        backend = "toy-again"

    again = ArtifactKind("toy-again", "the toy model on a second runtime", "toy model", (), "toy-again",
                         SlowToyRunner, ("fp32",), ("cpu",), "pip install toy-again",
                         made_from=(Recipe("toy", "snndeploy.runners.produce:SameFile"),))
    register(again)
    try:
        path, expected, _ = toy
        assert kind_of(path) is TOY  # files still open with their own kind
        r = invoke("bench", path, "--backend", "toy,toy-again", "--batch", 2, "--limit-test", LIMIT, "--iters", 1,
                   "--json", tmp_path / "b.json", "--work", tmp_path / "work")
        assert r.exit_code == 0, r.output
        rows = json.loads((tmp_path / "b.json").read_text())["results"]
        assert [(row["backend"], row["file"], row["accuracy"]) for row in rows] == [
            ("toy", str(path), expected), ("toy-again", str(path), expected)]
    finally:
        unregister("toy-again")


# a kind whose runner's module imports a backend that is not installed here
ABSENT = ArtifactKind("absent", "a model of an absent backend (.absent)", "stub model", (".absent",), "absent",
                      "snndeploy_absent_backend:AbsentRunner", ("fp32",), ("cpu",), "pip install absent-backend")


def test_a_kind_whose_backend_is_missing_is_a_status_row_and_one_line(toy, tmp_path):
    """bench measures what runs and keeps a row for what does not; eval and infer of it say what to install."""
    path, _, images = toy
    register(ABSENT)
    try:
        (tmp_path / "m.absent").write_bytes(b"")
        r = invoke("bench", tmp_path / "m.absent", path, "--batch", 1, "--limit-test", LIMIT, "--iters", 1,
                   "--json", tmp_path / "b.json", "--work", tmp_path / "work")
        assert r.exit_code == 0, r.output
        rows = json.loads((tmp_path / "b.json").read_text())["results"]
        why = "snndeploy_absent_backend is not installed (pip install absent-backend)"
        assert [(row["backend"], row["status"]) for row in rows] == [("absent", why), ("toy", "ok")]
        one_line = f"error: m.absent is a stub model: {why}\n"
        assert bad("eval", tmp_path / "m.absent") == one_line
        np.save(tmp_path / "x.npy", images)
        assert bad("infer", tmp_path / "m.absent", tmp_path / "x.npy") == one_line
    finally:
        unregister("absent")
