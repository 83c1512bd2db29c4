"""Install hints from where snndeploy was installed (PEP 610 direct_url.json) and on a Jetson (JetPack's TensorRT)."""

import json
import shlex

import pytest

from snndeploy.core import install
from snndeploy.core.install import Origin, onnxruntime_gpu_install, parse_direct_url, pip_install, tensorrt_install

CLONE = "/home/me/src/snndeploy"
WHEEL = "/home/me/dist/snndeploy-0.1.0-py3-none-any.whl"


def record(**fields) -> str:
    return json.dumps(fields)


@pytest.mark.parametrize(("text", "origin"), [
    (record(url=f"file://{CLONE}", dir_info={"editable": True}), Origin("editable", CLONE)),
    (record(url=f"file://{CLONE}", dir_info={}), Origin("folder", CLONE)),
    (record(url=f"file://{WHEEL}", archive_info={"hashes": {"sha256": "ab"}}), Origin("wheel", WHEEL)),
    (record(url="file:///home/me/my%20src/snndeploy", dir_info={"editable": True}),
     Origin("editable", "/home/me/my src/snndeploy")),
    (record(url="https://github.com/me/snndeploy.git", vcs_info={"vcs": "git", "commit_id": "0a1b2c"}),
     Origin("url", "git+https://github.com/me/snndeploy.git@0a1b2c")),
])
def test_each_install_record_gives_its_origin(text, origin):
    assert parse_direct_url(text) == origin


@pytest.mark.parametrize("text", [
    None, "", "{", "[]", "null", '"file:///x"', "x" * (install.MAX_DIRECT_URL + 1),
    "[" * 100_000 + "]" * 100_000,  # nesting a recursive parser would die on
    record(url=f"file://{CLONE}", dir_info={"editable": True}) + "garbage",
    record(url=42, dir_info={}),
    record(url=["file:///x"], dir_info={}),
    record(url=f"file://{CLONE}", dir_info="editable"),
    record(url=f"file://{CLONE}", dir_info={"editable": "yes"}),
    record(url=f"file://{CLONE}"),  # none of dir_info / archive_info / vcs_info
    record(url=f"file://{CLONE}", dir_info={}, archive_info={}),  # two of them
    record(url="file:///x/evil\n;rm -rf ~", dir_info={}),  # control characters
    record(url="file:///x/%0a%1b[31m", dir_info={}),  # percent-encoded ones
    record(url="file://" + "/a" * 5000, dir_info={}),  # longer than any path
    record(url="file://otherhost/x", dir_info={}),
    record(url="file:relative/path", dir_info={}),
    record(url="file:///x/snndeploy.tar.gz", archive_info={}),  # a local archive that is not a wheel
    record(url="ftp://x/snndeploy.whl", archive_info={}),
    record(url="https://x/a b.whl", archive_info={}),
    record(url="https://github.com/me/s", vcs_info={"vcs": "cvs"}),
    record(url="https://github.com/me/s", vcs_info=[]),
])
def test_hostile_or_foreign_records_fall_back_to_unknown(text):
    assert parse_direct_url(text) == install.UNKNOWN


def test_non_utf8_bytes_fall_back():
    assert parse_direct_url(b"\xff\xfe{") == install.UNKNOWN


def test_each_origin_gives_a_command_that_works_from_there(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert pip_install("int8", where=Origin("editable", CLONE), cwd=elsewhere) == f"pip install -e '{CLONE}[int8]'"
    assert pip_install("int8", where=Origin("editable", str(tmp_path)), cwd=tmp_path) == "pip install -e '.[int8]'"
    assert pip_install("train", where=Origin("folder", CLONE), cwd=elsewhere) == f"pip install '{CLONE}[train]'"
    assert pip_install("cpu", where=Origin("wheel", WHEEL), cwd=elsewhere) == f"pip install '{WHEEL}[cpu]'"
    wheel = tmp_path / "dist" / "snndeploy-0.1.0-py3-none-any.whl"
    assert pip_install("cpu", where=Origin("wheel", str(wheel)), cwd=tmp_path) == \
        "pip install 'dist/snndeploy-0.1.0-py3-none-any.whl[cpu]'"
    assert pip_install("triton", where=Origin("url", "git+https://h/s.git@ab")) == \
        "pip install 'snndeploy[triton] @ git+https://h/s.git@ab'"
    assert pip_install("train", where=Origin("source", CLONE), cwd=elsewhere) == f"pip install -e '{CLONE}[train]'"
    unknown = pip_install("int8", where=install.UNKNOWN)
    assert "pip install -e '.[int8]'" in unknown and "wheel" in unknown and "index" in unknown


def test_a_path_with_quotes_stays_one_shell_word():
    path = "/home/it's mine/snndeploy"
    command = pip_install("int8", where=Origin("editable", path), cwd=None)
    assert shlex.split(command) == ["pip", "install", "-e", f"{path}[int8]"]


def test_an_unknown_extra_is_a_bug():
    with pytest.raises(ValueError):
        pip_install("nope", where=install.UNKNOWN)


def test_jetson_detection(tmp_path):
    release = tmp_path / "nv_tegra_release"
    assert not install.on_jetson(release, machine="x86_64", kernel="6.8.0-45-generic")
    assert not install.on_jetson(release, machine="aarch64", kernel="6.8.0-1012-raspi")
    assert install.on_jetson(release, machine="aarch64", kernel="5.15.148-tegra")
    release.write_text("# R36 (release), REVISION: 4.3\n")
    assert install.on_jetson(release, machine="x86_64", kernel="6.8.0")


def test_tensorrt_comes_from_jetpack_on_a_jetson():
    jetson = tensorrt_install(jetson=True, where=Origin("wheel", WHEEL))
    assert "[gpu]" not in jetson and "[tensorrt]" not in jetson and "JetPack" in jetson
    assert "python3-libnvinfer" in jetson
    assert "--system-site-packages" in jetson and "pip install polygraphy 'cuda-bindings==12.*'" in jetson
    desktop = tensorrt_install(jetson=False, where=Origin("wheel", WHEEL))
    # not [gpu]: its onnxruntime-gpu would join the [cpu] extra's onnxruntime (two wheels of one module)
    assert desktop.startswith(f"pip install '{WHEEL}[tensorrt]'") and "onnxruntime" not in desktop
    assert "pip install" not in onnxruntime_gpu_install(jetson=True, where=Origin("wheel", WHEEL))


def test_hints_are_computed_when_shown(monkeypatch):
    monkeypatch.setattr(install, "origin", lambda: Origin("wheel", WHEEL))
    monkeypatch.setattr(install, "on_jetson", lambda: False)
    assert str(install.hint("train", "PyTorch")) == f"pip install '{WHEEL}[train]' (PyTorch)"
    assert str(install.hint("train", lead="CIFAR-10 needs torchvision")) == \
        f"CIFAR-10 needs torchvision: pip install '{WHEEL}[train]'"
    monkeypatch.setattr(install, "on_jetson", lambda: True)
    assert "JetPack" in f"{install.tensorrt_hint()}"


def test_the_installed_origin_is_read_without_error():
    install.origin.cache_clear()
    assert install.origin().kind in ("editable", "folder", "wheel", "url", "source", "unknown")


def test_an_oversized_direct_url_file_falls_back(monkeypatch, tmp_path):
    from importlib import metadata

    info = tmp_path / "snndeploy-0.1.0.dist-info"
    info.mkdir()
    (info / "direct_url.json").write_text(" " * (install.MAX_DIRECT_URL + 10) + record(url="file:///x", dir_info={}))
    monkeypatch.setattr(metadata, "distributions", lambda name: [metadata.PathDistribution(info)])
    install.origin.cache_clear()
    try:
        assert install.origin() == install.UNKNOWN
        (info / "direct_url.json").write_text(record(url=f"file://{CLONE}", dir_info={"editable": True}))
        install.origin.cache_clear()
        assert install.origin() == Origin("editable", CLONE)
    finally:
        install.origin.cache_clear()


def test_the_extras_are_pyprojects():
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")
    from pathlib import Path

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("not run from a source checkout")
    extras = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    assert set(install.EXTRAS) == set(extras)


def test_a_clones_egg_info_does_not_hide_the_install_record(monkeypatch, tmp_path):
    """Run from a clone's root, sys.path finds setuptools' snndeploy.egg-info there before pip's .dist-info: the
    hint must still come from the .dist-info's record (it once fell back to the generic hint)."""
    from importlib import metadata

    egg = tmp_path / "clone" / "snndeploy.egg-info"
    egg.mkdir(parents=True)
    (egg / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: snndeploy\nVersion: 0.1.0\n")
    info = tmp_path / "site" / "snndeploy-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: snndeploy\nVersion: 0.1.0\n")
    (info / "direct_url.json").write_text(record(url=f"file://{CLONE}", dir_info={"editable": True}))
    found = list(metadata.distributions(name="snndeploy", path=[str(egg.parent), str(info.parent)]))
    assert [d._path.name for d in found] == ["snndeploy.egg-info", "snndeploy-0.1.0.dist-info"]
    monkeypatch.setattr(metadata, "distributions", lambda name: found)
    install.origin.cache_clear()
    try:
        assert install.origin() == Origin("editable", CLONE)
    finally:
        install.origin.cache_clear()
