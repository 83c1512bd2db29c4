"""NVIDIA Triton Inference Server model repositories: REPO/<model>/config.pbtxt + REPO/<model>/1/<file>.

ONNX graphs are served by the `onnxruntime_onnx` platform; TensorRT engines by `tensorrt_plan`,
one plan per GPU compute capability (`cc_model_filenames`). Inputs, outputs, types, batching and
the normalisation a client needs come from the artifact's own metadata. config.pbtxt is built and
read with Triton's own model-config protobuf (from the optional `tritonclient` package).
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import shutil
import sys
import unicodedata
from pathlib import Path
from typing import Any

from ..core import atomic, files
from ..core.errors import SnnDeployError
from ..core.facts import DEFAULT_MAX_BATCH, ArtifactFacts
from ..core.install import hint
from ..core.lazy import lazy_import
from ..core.validate import show
from .naming import graph_name

PLATFORMS = {"onnxruntime_onnx": "", "tensorrt_plan": "_trt"}  # platform -> model name suffix
_INSTALL = hint("triton")
# NVIDIA's sm_XY naming: one or two major digits, one minor digit; "8.7" -> model_sm87.plan, never ambiguous
COMPUTE_CAPABILITY = re.compile(r"[1-9][0-9]?\.[0-9]")
# control characters (newline, carriage return, tab, NUL, ...), line and paragraph separators, lone surrogates
_NOT_IN_A_LINE = ("Cc", "Zl", "Zp", "Cs")
model_config_pb2 = lazy_import("tritonclient.grpc.model_config_pb2", _INSTALL)
text_format = lazy_import("google.protobuf.text_format", _INSTALL)


def model_name(facts: ArtifactFacts, platform: str = "onnxruntime_onnx") -> str:
    """Triton model name: the graph's name (as its ONNX file has it), ``_trt`` for a TensorRT engine, so that a
    graph and the engine built from it can share a repository."""
    if platform not in PLATFORMS:
        raise SnnDeployError(f"unknown Triton platform '{platform}'; choose one of: {', '.join(PLATFORMS)}")
    return graph_name(facts) + PLATFORMS[platform]


def model_config(name: str, platform: str, facts: ArtifactFacts, *, max_batch: int = DEFAULT_MAX_BATCH,
                 cc_files: dict[str, str] | None = None, default_file: str | None = None) -> Any:
    """The ``inference.ModelConfig`` message of one artifact."""
    for cc, file in (cc_files or {}).items():
        if not isinstance(cc, str) or not COMPUTE_CAPABILITY.fullmatch(cc):
            raise SnnDeployError(f"compute capability must be major.minor digits like \"8.7\", got {show(cc)}")
        _check_file_name(file, f"the plan for compute capability {cc}")
    if default_file is not None:
        _check_file_name(default_file, "the default model file")
    pb = model_config_pb2.load()
    static = facts.batch != "dynamic"
    cfg = pb.ModelConfig(name=name, platform=platform, max_batch_size=0 if static else max_batch)
    _add_io(cfg, facts, dict(facts.noise_inputs), optional_noise=False)
    if not static:
        cfg.dynamic_batching.SetInParent()
    if default_file:
        cfg.default_model_filename = default_file
    cfg.cc_model_filenames.update(cc_files or {})
    _add_parameters(cfg, facts)
    return cfg


def python_model_config(name: str, facts: ArtifactFacts, noise: dict[str, tuple[int, ...]], *, max_batch: int,
                        parameters: dict[str, str], queue_delay_us: int = 0, instances: int = 1) -> Any:
    """The ``inference.ModelConfig`` of an artifact served by Triton's Python backend through its snndeploy runner
    (``snndeploy.serve.backend``): the runner's inputs (``noise``: the per-sample shapes of the raw draws it takes,
    optional: drawn by the model when a
    request leaves them out), ``logits`` plus ``labels`` (predicted class index) and ``confidence`` (the one
    confidence definition, ``snndeploy.core.readout``), dynamic batching up to ``max_batch`` (the model splits
    what exceeds the artifact's own limit), ``instances`` model instances. ``parameters`` (where the artifact is,
    device, T, seed) reach the model's ``initialize``."""
    pb = model_config_pb2.load()
    cfg = pb.ModelConfig(name=name, backend="python", max_batch_size=max_batch)
    _add_io(cfg, facts, noise, optional_noise=True, batched=True)
    cfg.output.add(name="labels", data_type=pb.TYPE_INT64, dims=[1])
    cfg.output.add(name="confidence", data_type=pb.TYPE_FP32, dims=[1])
    cfg.dynamic_batching.max_queue_delay_microseconds = queue_delay_us
    cfg.instance_group.add(kind=pb.ModelInstanceGroup.KIND_CPU, count=instances)
    _add_parameters(cfg, facts)
    for key, value in parameters.items():
        cfg.parameters[key].string_value = value
    return cfg


def _add_io(cfg: Any, facts: ArtifactFacts, noise: dict[str, tuple[int, ...]], *, optional_noise: bool,
            batched: bool = False) -> None:
    """``images``, the raw-draw inputs of a ``--noise input`` artifact and ``logits``; a fixed-batch graph's
    dims include its batch unless the model is ``batched`` (served through a runner, which takes any batch)."""
    pb = model_config_pb2.load()
    data = facts.data
    lead = [int(facts.batch)] if facts.batch != "dynamic" and not batched else []
    cfg.input.add(name="images", data_type=pb.TYPE_FP32, dims=lead + [int(d) for d in data.input_shape])
    for tensor, shape in noise.items():
        cfg.input.add(name=tensor, data_type=pb.TYPE_FP32, dims=lead + [int(d) for d in shape],
                      optional=optional_noise)
    cfg.output.add(name="logits", data_type=pb.TYPE_FP32, dims=lead + [data.num_classes], label_filename="labels.txt")


def _add_parameters(cfg: Any, facts: ArtifactFacts) -> None:
    """What a client needs to prepare images and read answers: mean, std, T, stage and the whole facts record."""
    data = facts.data
    params = {"mean": ",".join(map(str, data.mean)), "std": ",".join(map(str, data.std)),
              "T": str(facts.T), "stage": str(facts.stage), "snndeploy": json.dumps(facts.to_dict())}
    for key, value in params.items():
        cfg.parameters[key].string_value = value


def config_pbtxt(name: str, platform: str, facts: ArtifactFacts, **options: Any) -> str:
    """The text of config.pbtxt for one artifact (options as for ``model_config``)."""
    return text_format.load().MessageToString(model_config(name, platform, facts, **options))


def read_config(path: Path) -> Any:
    """A config.pbtxt parsed into ``inference.ModelConfig``, or a one-line error."""
    pb, tf = model_config_pb2.load(), text_format.load()
    text = files.read_text(path, "Triton model config", "config")  # a regular file of at most 1 MB
    try:
        return tf.Parse(text, pb.ModelConfig())
    except (tf.ParseError, RecursionError) as exc:  # RecursionError: messages nested thousands deep
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SnnDeployError(f"{path} is not a Triton model config ({why}); move it away or use another "
                             "repository") from None


def check_class_names(names: Any) -> tuple[str, ...]:
    """The class names as labels.txt lists them, one per line in output order: each a non-empty string on one line
    (no control character or line separator) and every one different, or a one-line error."""
    if not isinstance(names, (tuple, list)) or not names:
        raise SnnDeployError(f"a Triton model needs its class names for labels.txt, got {show(names)}")
    seen: set[str] = set()
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            raise SnnDeployError(f"class name {i} must be a non-empty string, got {show(name)}; labels.txt holds one "
                                 "name per line")
        if any(unicodedata.category(c) in _NOT_IN_A_LINE for c in name):
            raise SnnDeployError(f"class name {i} {show(name)} holds a line break or another control character; "
                                 "labels.txt holds one name per line, so it would misalign every label after it")
        if name in seen:
            raise SnnDeployError(f"class name {show(name)} appears twice; labels.txt needs one name per class")
        seen.add(name)
    return tuple(names)


def _check_file_name(name: Any, what: str) -> str:
    """A plain file name inside a version folder (no folder part)."""
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name \
            or not name.isprintable():
        raise SnnDeployError(f"{what} must be a plain file name, got {show(name)}")
    return name


def write_model(repo: str | Path, facts: ArtifactFacts, platform: str, files: dict[str, bytes | Path], *,
                max_batch: int = DEFAULT_MAX_BATCH, cc_files: dict[str, str] | None = None,
                default_file: str | None = None) -> Path:
    """Write one model folder (config, labels, version 1 files) as a whole: it is assembled in a temporary folder
    inside the repository and renamed into place, so a failure leaves the repository as it was. Files of an
    existing folder that this model does not write (other versions, other GPUs' plans) are kept."""
    if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
        raise SnnDeployError(f"max batch must be >= 1, got {show(max_batch)}")
    names = check_class_names(facts.data.class_names)
    for file in files:
        _check_file_name(file, "a model file")
    name = model_name(facts, platform)
    text = config_pbtxt(name, platform, facts, max_batch=max_batch, cc_files=cc_files, default_file=default_file)
    contents: dict[str, bytes | Path] = {"config.pbtxt": text.encode("utf-8"),
                                         "labels.txt": ("\n".join(names) + "\n").encode("utf-8")}
    contents.update({f"1/{file}": content for file, content in files.items()})
    folder = Path(repo) / name
    _publish(folder, contents)
    return folder


def python_model_file(root: Path | None = None) -> bytes:
    """A served model's ``model.py``: the backend's class, imported from the snndeploy at ``root`` (the one
    that wrote the repository: the stub's own import path need not find it first), or from whatever snndeploy
    the server's Python has (a repository exported for another machine)."""
    lines = ['"""Served by snndeploy: the artifact named in config.pbtxt\'s parameters, through its runner."""', ""]
    if root is not None:
        lines += ["import sys", "", f"sys.path.insert(0, {str(root)!r})", ""]
    lines.append("from snndeploy.serve.backend import TritonPythonModel  # noqa: E402, F401")
    return ("\n".join(lines) + "\n").encode()


def write_python_model(repo: str | Path, name: str, facts: ArtifactFacts, noise: dict[str, tuple[int, ...]],
                       files: dict[str, bytes | Path], *, max_batch: int, parameters: dict[str, str],
                       queue_delay_us: int = 0, instances: int = 1) -> Path:
    """Write one Python-backend model folder (config, labels, version 1 files) as a whole, as ``write_model``
    does; ``files`` holds ``model.py`` (and the artifact, where the folder carries it)."""
    if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
        raise SnnDeployError(f"max batch must be >= 1, got {show(max_batch)}")
    names = check_class_names(facts.data.class_names)
    for file in files:
        _check_file_name(file, "a model file")
    cfg = python_model_config(name, facts, noise, max_batch=max_batch, parameters=parameters,
                              queue_delay_us=queue_delay_us, instances=instances)
    contents: dict[str, bytes | Path] = {"config.pbtxt": text_format.load().MessageToString(cfg).encode("utf-8"),
                                         "labels.txt": ("\n".join(names) + "\n").encode("utf-8")}
    contents.update({f"1/{file}": content for file, content in files.items()})
    folder = Path(repo) / name
    _publish(folder, contents)
    return folder


def _check_existing(folder: Path, contents: dict[str, bytes | Path]) -> None:
    """Refuse to write over a model folder that is a file or a link, whose files this write replaces are not
    regular files, or that holds version folders other than the one snndeploy writes: Triton's default version
    policy serves the highest version, so a kept ``2/`` would be served instead of this export."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise SnnDeployError(f"{folder} is not a model folder (a file or a link); move it away or use another "
                             "repository")
    if not folder.is_dir():
        return
    versions = {rel.split("/", 1)[0] for rel in contents if "/" in rel}
    foreign = sorted((p.name for p in folder.iterdir() if p.name.isdigit() and p.name not in versions),
                     key=lambda n: (len(n), n))
    if foreign:
        shown = ", ".join(f"{n}/" for n in foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise SnnDeployError(f"{folder} holds version folder(s) {shown} that snndeploy did not write; Triton would "
                             "serve the highest version, not this export: remove them or export into another "
                             "repository")
    for rel in contents:
        path = folder / rel
        if os.path.lexists(path) and (path.is_symlink() or not path.is_file()):
            raise SnnDeployError(f"{path} is not a regular file (a link, a FIFO or a folder) and would be replaced; "
                                 "move it away or export into another repository")


def _publish(folder: Path, contents: dict[str, bytes | Path]) -> None:
    """Assemble ``folder`` (relative path -> bytes or a file to copy) beside it, keep what an existing ``folder``
    holds besides, then swap it into place. On any failure the repository is left as it was.

    It is assembled inside a private temp folder of the repository (``snndeploy.core.atomic.temp_dir``, named with
    this process's id): one a killed export leaves is recognisably ours and goes at the next write."""
    created: list[Path] = []  # folders above the model that this call makes, removed again on failure
    try:
        try:
            _check_existing(folder, contents)
            created = [p for p in (folder.parent, *folder.parent.parents) if not p.exists()]
            with atomic.temp_dir(folder.parent, folder.name) as tmp:
                # mkdir honours the umask (temp_dir's own folder is 0700): Triton may run as another user
                staging = tmp / folder.name
                staging.mkdir()
                for rel, content in contents.items():
                    target = staging / rel
                    if isinstance(content, Path):
                        atomic.write_with(target, lambda out, src=content: shutil.copyfile(src, out))
                    else:
                        atomic.write_bytes(target, content)
                if folder.is_dir():
                    _carry_over(folder, staging, set(contents))
                _fsync_tree(staging)
                _swap_in(staging, folder)  # the old folder, if any, ends up in tmp: removed with it
                atomic.fsync_dir(folder.parent)
        except OSError as exc:
            raise SnnDeployError(f"cannot write {folder}: {exc.strerror or exc}") from None
    except BaseException:
        for path in created:  # innermost first: only folders this call made, and only while empty
            try:
                path.rmdir()
            except OSError:
                break
        raise


def _carry_over(old: Path, new: Path, written: set[str], prefix: str = "") -> None:
    """Hard-link (or copy) into ``new`` everything in ``old`` that this write does not replace."""
    for entry in sorted(old.iterdir()):
        rel = prefix + entry.name
        if rel in written:
            continue
        target = new / entry.name
        if entry.is_symlink():
            os.symlink(os.readlink(entry), target)
        elif entry.is_dir():
            if target.is_dir():  # a folder this write adds files to (the version folder)
                _carry_over(entry, target, written, rel + "/")
            else:
                shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry, target)


def _link_or_copy(src: str | Path, dst: str | Path) -> None:
    """A hard link (same file system: no bytes copied, and never written through), else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _fsync_tree(root: Path) -> None:
    """fsync every folder under ``root`` (the files were fsynced as they were written)."""
    for here, _, _ in os.walk(root):
        atomic.fsync_dir(Path(here))


def _swap_in(staging: Path, folder: Path) -> None:
    """Put ``staging`` at ``folder``. An existing folder is exchanged with it in one step where the system can
    (Linux renameat2 RENAME_EXCHANGE), leaving the old one at ``staging``; elsewhere it is moved aside first and
    moved back if the second rename fails."""
    if not os.path.lexists(folder):
        os.rename(staging, folder)
        return
    if _exchange(staging, folder):
        return
    aside = staging.with_name(staging.name + ".old")  # inside the same private temp folder
    os.rename(folder, aside)
    try:
        os.rename(staging, folder)
    except BaseException:
        os.rename(aside, folder)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False  # a C library older than glibc 2.28
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False  # a kernel or file system without RENAME_EXCHANGE
    raise OSError(err, os.strerror(err), str(b))
