"""`eval --data-dir DIR/train` of a model trained on a folder DIR with its own train/ and test/ split: refused in
one line (read alone, DIR/train would be split 80/20 again and the accuracy measured on training images)."""

from pathlib import Path

from cli_helpers import invoke
from PIL import Image

from snndeploy.core.facts import ArtifactFacts
from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.core.spec import DataSpec
from snndeploy.models import build_model
from snndeploy.training import checkpoint


def _folder(root: Path) -> None:
    for half in ("train", "test"):
        for k, cls in enumerate(("cat", "dog")):
            for i in range(5):
                (root / half / cls).mkdir(parents=True, exist_ok=True)
                Image.new("L", (28, 28), 40 * k + i).save(root / half / cls / f"{i}.png")


def test_eval_of_the_training_half_is_refused(tmp_path):
    _folder(tmp_path / "data")
    spec = DataSpec("folder", 1, 28, 28, ("cat", "dog"), (0.5,), (0.25,))
    checkpoint.save(tmp_path / "run", build_model("small-cnn", (1, 28, 28), 2),
                    ArtifactFacts(model="small-cnn", data=spec, neuron=NeuronConfig()))
    r = invoke("eval", tmp_path / "run", "--T", 1, "--data-dir", tmp_path / "data" / "train")
    root = (tmp_path / "data").resolve()
    assert r.exit_code == 2, r.output
    assert r.stderr.strip() == f"error: folder dataset: {root}/train is the training half of {root}'s own split " \
                               f"(its train/ and test/ sub-folders): give --data-dir {root}", r.output
    assert invoke("eval", tmp_path / "run", "--T", 1, "--data-dir", tmp_path / "data").exit_code == 0
