"""`snndeploy train` says what data it read before the first epoch (issue 21, item 6): classes, images per split
and how the split was made, image size and channels and any resizing, and a hint when the default lr is too small
for the run; nothing of it with -q."""

from pathlib import Path

from cli_helpers import invoke
from PIL import Image

from snndeploy.cli.train_cmd import data_summary
from snndeploy.core.config import TrainConfig
from snndeploy.data.datasets import load_dataset


def _folder(root: Path, classes=("circle", "square", "triangle"), per_class: int = 5, odd: int = 0) -> Path:
    """Gray 8x8 PNGs, one sub-folder per class; ``odd`` images of the last class are 6x6 (resized on loading to the
    size of the first image read, one of the first class)."""
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            side = 6 if k == len(classes) - 1 and i >= per_class - odd else 8
            Image.new("L", (side, side), 40 * k + i).save(root / name / f"{i}.png")
    return root


def _summary(output: str) -> list[str]:
    """The summary's lines: those before the epochs' table."""
    return [ln for ln in output.splitlines() if ln.split(":")[0] in ("data", "split", "images", "hint")]


def test_a_folder_run_prints_its_data_before_training(tmp_path):
    data = _folder(tmp_path / "shapes", odd=2)
    r = invoke("train", "--dataset", "folder", "--data-dir", data, "--epochs", 1, "-o", tmp_path / "run")
    assert r.exit_code == 0, r.output
    assert _summary(r.output) == [
        f"data: folder {data}: 3 classes (circle, square, triangle)",
        "split: 12 train / 3 test images from a random 80/20 split per class (seed 0; no train/ and test/ sub-folders)",
        "images: 1 x 8 x 8 (gray); 2 of 15 resized to 8 x 8 (the first image's size)",
        "hint: --lr 1e-4 for 1 step (1 batch x 1 epoch) barely moves the weights: try --lr 1e-3 (small datasets) "
        "or more --epochs"]
    assert r.output.index("images: ") < r.output.index("epoch")  # before the first epoch's table


def test_quiet_prints_no_summary(tmp_path):
    data = _folder(tmp_path / "shapes")
    r = invoke("train", "--dataset", "folder", "--data-dir", data, "--epochs", 1, "-o", tmp_path / "run", "-q")
    assert r.exit_code == 0, r.output
    assert _summary(r.output) == []


def test_own_split_and_image_size_and_a_given_lr(tmp_path):
    root = tmp_path / "shapes"
    _folder(root / "train", ("cat", "dog"))
    _folder(root / "val", ("cat", "dog"), per_class=2)
    r = invoke("train", "--dataset", "folder", "--data-dir", root, "--image-size", 8, "--epochs", 1, "--lr", 1e-4,
               "-o", tmp_path / "run")
    assert r.exit_code == 0, r.output
    assert _summary(r.output) == [f"data: folder {root}: 2 classes (cat, dog)",
                                  "split: 10 train / 4 test images from the folder's train/ and val/ sub-folders",
                                  "images: 1 x 8 x 8 (gray); none resized"]  # --lr given: no hint


def test_an_lr_from_the_config_file_gives_no_hint(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("lr: 1.0e-4\nepochs: 1\n")
    r = invoke("train", "--config", cfg, "--dataset", "folder", "--data-dir", _folder(tmp_path / "shapes"),
               "--image-size", 6, "-o", tmp_path / "run")
    assert r.exit_code == 0, r.output
    assert _summary(r.output)[2:] == ["images: 1 x 6 x 6 (gray); 15 of 15 resized to 6 x 6 (--image-size)"]


def test_many_classes_are_cut_and_a_long_run_gets_no_hint(tmp_path):
    names = tuple(f"class-{i:02d}" for i in range(11)) + ("a" * 40,)
    data = load_dataset("folder", _folder(tmp_path / "many", names, per_class=3), limit_train=9)
    cfg = TrainConfig(dataset="folder", data_dir=str(tmp_path / "many"), epochs=500, limit_train=9)
    lines = data_summary(cfg, data, lr_given=False)
    assert lines[0].endswith(f": 12 classes ({'a' * 21}..., class-00, class-01, class-02, class-03, class-04, "
                             "class-05, class-06, ... (4 more))")  # names cut to 24 characters, 8 names shown
    assert lines[1] == ("split: 9 train / 12 test images (--limit-train 9) from a random 80/20 split per class "
                        "(seed 0; no train/ and test/ sub-folders)")
    assert len(lines) == 3  # 500 steps at 1e-4: no hint


def test_the_sample_summary(tmp_path):
    data = load_dataset("sample", limit_train=640)
    assert data_summary(TrainConfig(limit_train=640, epochs=5), data, lr_given=False) == [
        "data: sample: 10 classes (0, 1, 2, 3, 4, 5, 6, 7, ... (2 more))",
        "split: 640 train / 1000 test images (--limit-train 640) from the dataset's own train and test sets",
        "images: 1 x 28 x 28 (gray)",
        "hint: --lr 1e-4 for 50 steps (10 batches x 5 epochs) barely moves the weights: try --lr 1e-3 (small "
        "datasets) or more --epochs"]
