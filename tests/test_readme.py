"""The README as a newcomer reads it: every command in a block marked runnable (```` ```bash runnable ````) runs
as written, in order, on the bundled sample; the command-line synopsis names every option of every command."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\S*)([^\n]*)\n(.*?)^```", re.S | re.M)


def blocks(text: str) -> list[tuple[str, str, str]]:
    """(language, info words after it, body) of every fenced block."""
    return [(m.group(1), m.group(2).strip(), m.group(3)) for m in FENCE.finditer(text)]


def commands(body: str) -> list[str]:
    """Shell commands of a block: comment lines dropped, backslash continuations joined."""
    out, current = [], ""
    for line in body.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        out.append(" ".join(current.split()))
        current = ""
    return out


def runnable() -> list[str]:
    return [c for lang, info, body in blocks(README.read_text()) if lang == "bash" and "runnable" in info.split()
            for c in commands(body)]


def test_parser_reads_fences_comments_and_continuations():
    text = "x\n```bash runnable\n# a comment\nsnndeploy train \\\n  --epochs 2\n\nsnndeploy eval r\n```\n" \
           "```bash\nnot this\n```\n"
    assert [c for lang, info, b in blocks(text) if "runnable" in info.split() for c in commands(b)] == \
        ["snndeploy train --epochs 2", "snndeploy eval r"]


def test_readme_has_a_runnable_walkthrough_of_every_main_command():
    run = " ; ".join(runnable())
    for name in ("train", "eval", "export", "check", "infer", "bench", "stats"):
        assert re.search(rf"\bsnndeploy {name}\b", run), f"no runnable `snndeploy {name}` in the README"


# --- what the walkthrough needs installed ------------------------------------------------------------------------

# the extras a walkthrough command needs, beside the runtime every install has: by command, and by what it reads
# (a run folder or checkpoint needs PyTorch; an .onnx graph run by eval/infer/bench needs ONNX Runtime)
COMMAND_EXTRAS = {"train": {"train"}, "export": {"train"}, "stats": {"train"}, "quantize": {"int8"}}
RUNS_ARTIFACTS = {"eval", "infer", "bench"}
PIP_EXTRAS = re.compile(r"^(?:-e\s*)?\.\[([\w,-]+)\]$")


def pip_extras(cmd: str) -> set[str] | None:
    """The snndeploy extras a `pip install -e '.[a,b]'` command (or one part of an `&&` chain) installs; None when
    ``cmd`` is no pip install of this repository."""
    found = None
    for part in cmd.split("&&"):
        words = shlex.split(part)
        if words[:2] != ["pip", "install"]:
            continue
        for word in words[2:]:
            if m := PIP_EXTRAS.match(word):
                found = (found or set()) | set(m.group(1).split(","))
            elif word == ".":
                found = found or set()
    return found


def needed_extras(cmd: str) -> set[str]:
    """The extras one `snndeploy ...` command needs (COMMAND_EXTRAS, RUNS_ARTIFACTS); empty for anything else."""
    words = shlex.split(cmd)
    if words[:1] != ["snndeploy"] or len(words) < 2:
        return set()
    name, args = words[1], [w for w in words[2:] if not w.startswith("-")]
    needs = set(COMMAND_EXTRAS.get(name, ()))
    if name in RUNS_ARTIFACTS:
        if any(a.endswith(".onnx") for a in args):
            needs.add("cpu")
        if any(a.startswith("runs/") or a.endswith(".safetensors") for a in args):
            needs.add("train")
    return needs


def quick_start_extras(text: str) -> set[str]:
    """The extras quick-start command 1 (the first command of the Quick start section's block) installs."""
    section = re.search(r"^## Quick start\n(.*?)(?=^## |\Z)", text, re.S | re.M).group(1)
    first = next(commands(body) for lang, _, body in blocks(section) if lang == "bash")[0]
    extras = pip_extras(first)
    assert extras is not None, f"quick-start command 1 installs nothing: {first}"
    return extras


def missing_extras(text: str) -> list[str]:
    """The runnable commands of ``text`` that need an extra neither quick-start command 1 nor an earlier pip line of
    the runnable blocks installs, each as 'command (needs x)'."""
    have, out = quick_start_extras(text), []
    for cmd in (c for lang, info, body in blocks(text) if lang == "bash" and "runnable" in info.split()
                for c in commands(body)):
        have |= pip_extras(cmd) or set()
        if lacking := needed_extras(cmd) - have:
            out.append(f"{cmd} (needs {', '.join(sorted(lacking))})")
    return out


def not_installed(extras: set[str]) -> list[str]:
    """The requirements of snndeploy's ``extras`` that are not installed here (an unknown extra is one entry)."""
    known = importlib.metadata.metadata("snndeploy").get_all("Provides-Extra") or []
    out = [f"extra {e} (snndeploy has no such extra)" for e in sorted(extras - set(known))]
    for line in importlib.metadata.requires("snndeploy") or []:
        req = Requirement(line)
        if req.marker is None or not any(req.marker.evaluate({"extra": e}) for e in extras):
            continue
        try:
            version = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            out.append(line)
            continue
        if not req.specifier.contains(version, prereleases=True):
            out.append(f"{line} (installed: {version})")
    return out


def test_extras_parser_reads_pip_lines_and_commands():
    assert pip_extras("pip install -e '.[train,cpu]' && snndeploy train") == {"train", "cpu"}
    assert pip_extras("pip install -e .[int8]") == {"int8"}
    assert pip_extras("pip install -e .") == set()
    assert pip_extras("pip install --no-deps 'nvidia-pytriton==0.7.0'") is None
    assert pip_extras("snndeploy train") is None
    assert needed_extras("snndeploy quantize a.onnx --calib 64 -o b.onnx") == {"int8"}
    assert needed_extras("snndeploy eval runs/walk --T 1,5") == {"train"}
    assert needed_extras("snndeploy bench runs/walk exports/x.onnx --T 1") == {"train", "cpu"}
    assert needed_extras("snndeploy check exports/x.onnx --trt 10.3") == set()


def test_missing_extras_finds_a_command_no_install_covers():
    quick = "## Quick start\n```bash\npip install -e '.[train,cpu]' && snndeploy train\n```\n## Walkthrough\n"
    walk = "```bash runnable\nsnndeploy train\nsnndeploy quantize x.onnx\n```\n"
    assert missing_extras(quick + walk) == ["snndeploy quantize x.onnx (needs int8)"]
    assert missing_extras(quick + walk.replace("runnable\n", "runnable\npip install -e '.[int8]'\n")) == []
    late = walk.replace("x.onnx\n", "x.onnx\npip install -e '.[int8]'\n")  # installed only after it is needed
    assert missing_extras(quick + late) == ["snndeploy quantize x.onnx (needs int8)"]


def test_walkthrough_runs_from_the_quick_start_install():
    """Every extra a walkthrough command needs is installed by quick-start command 1 or by a pip line of the
    walkthrough before it (issue 21: `quantize` needs [int8], which command 1 does not install)."""
    assert not missing_extras(README.read_text()), "README walkthrough needs extras nothing installs: " + \
        "; ".join(missing_extras(README.read_text()))


def test_walkthrough_installs_are_installed_here():
    """The test suite does not pip-install: what a runnable block's pip lines install must already be installed in
    the test environment, so that running the rest of the block tests the install it asks for."""
    extras = set().union(*(pip_extras(c) or set() for c in runnable()))
    assert not not_installed(extras), "installed by the README walkthrough, missing here: " + \
        "; ".join(not_installed(extras))


@pytest.mark.slow
def test_readme_runnable_commands_run_as_written(tmp_path):
    """Each command, in order, in a fresh folder that sees the repository's samples/ (as a clone's root would); a
    pip line of this repository is checked (its extras are installed here), not run."""
    (tmp_path / "samples").symlink_to(ROOT / "samples")
    env = {**os.environ, "COLUMNS": "140"}
    bin_dir = str(Path(sys.executable).parent)  # the snndeploy script installed next to this interpreter
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    for cmd in runnable():
        if (extras := pip_extras(cmd)) is not None and cmd.startswith("pip "):
            assert " && " not in cmd, f"a pip line of the walkthrough installs and nothing more: {cmd}"
            assert not not_installed(extras), f"not installed here: {not_installed(extras)} ({cmd})"
            continue
        assert not cmd.startswith(("pip ", "git ")), f"installs are not runnable here: {cmd}"
        proc = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=900)
        assert proc.returncode == 0, f"README command failed ({proc.returncode}): {cmd}\n{proc.stdout[-2000:]}" \
                                     f"\n{proc.stderr[-2000:]}"


def _synopsis() -> str:
    """The synopsis blocks: unlabelled fences whose lines start with `snndeploy `."""
    return "\n".join(body for lang, _, body in blocks(README.read_text())
                     if lang == "" and body.lstrip().startswith("snndeploy "))


def _options() -> dict[str, list[list[str]]]:
    """'snndeploy bench run' -> the flags of each of its options (['--out', '-o'], ['--augment', '--no-augment'])."""
    import typer.main

    from snndeploy.cli.main import app

    out: dict[str, list[str]] = {}

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, f"{path} {name}")
            return
        out[path] = [[*p.opts, *p.secondary_opts] for p in cmd.params
                     if getattr(p, "param_type_name", "") == "option" and "--help" not in p.opts]

    walk(typer.main.get_command(app), "snndeploy")
    return out


def test_synopsis_names_every_option_of_every_command():
    synopsis = _synopsis()
    # a command's lines: from its `snndeploy <name>` line to the next command's
    entries = re.split(r"\n(?=snndeploy )", "\n" + synopsis)
    missing = []
    for command, options in _options().items():
        # `snndeploy bench ARTIFACTS...` is how `bench run` is written (bench's default subcommand)
        words = command.removesuffix(" run").split()
        entry = next((e for e in entries if e.split()[:len(words)] == words and
                      (command != "snndeploy bench run" or e.split()[2] != "train")), None)
        if entry is None:
            missing.append(f"{command} (no synopsis line)")
            continue
        tokens = set(re.findall(r"(?<![\w-])--?[A-Za-z0-9][A-Za-z0-9-]*", entry))
        missing += [f"{command} {flags[0]}" for flags in options if not tokens & set(flags)]
    assert not missing, "README synopsis misses: " + ", ".join(missing)


def test_synopsis_commands_parse():
    """Every synopsis entry names a real command (a renamed command shows up here)."""
    known = set(_options())
    for entry in re.split(r"\n(?=snndeploy )", "\n" + _synopsis()):
        words = shlex.split(entry.replace("|", " ").replace("[", " ").replace("]", " "))
        if words and words[0] == "snndeploy" and not words[1].startswith("-"):
            names = [" ".join(words[:n]) for n in (3, 2)] + [" ".join(words[:2]) + " run"]
            assert any(n in known for n in names), f"README synopsis names an unknown command: {words[:3]}"


# --- every repository path, module and anchor the documentation cites exists ----------------------------------

DOCS = (README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "samples" / "README.md")
SPAN = re.compile(r"(`+)(.+?)\1", re.S)  # an inline code span, of any number of backticks
REPO_PATH = re.compile(r"(?<![\w./$~-])(?:snndeploy|tests|docs|benchmarks|samples|scripts|\.ci)/[\w./*-]*")
MODULE = re.compile(r"(?<![\w./-])snndeploy(?:\.[a-z_][a-z0-9_]*)+(?:\.[A-Za-z_]\w*)?")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def cited(text: str) -> tuple[set[str], set[str], set[str]]:
    """(repository paths, dotted snndeploy names, link targets) a Markdown text cites. Paths and names count
    inside code (fenced blocks and inline spans), where the docs write them; links anywhere outside code."""
    fenced = [body for _, _, body in blocks(text)]
    prose = FENCE.sub("", text)
    spans = [m.group(2) for m in SPAN.finditer(prose)]
    code = "\n".join(fenced + spans)
    paths = {m.group(0).rstrip(".,;:") for m in REPO_PATH.finditer(code)}
    names = {m.group(0) for m in MODULE.finditer(code)}
    links = {m.group(1) for m in LINK.finditer(SPAN.sub("", prose))}
    return paths, names, links


def _path_exists(path: str) -> bool:
    path = path.split(":")[0]  # snndeploy/core/config.py:TrainConfig
    return any(ROOT.glob(path)) if "*" in path else (ROOT / path).exists()


def _name_exists(name: str) -> bool:
    """A module (snndeploy.core.readout) or a top-level name in one (snndeploy.training.train.train_epoch)."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:n])
        source = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if source.is_file():
            rest = parts[n:]
            if not rest:
                return True
            return len(rest) == 1 and re.search(rf"^(?:def|class) {rest[0]}\b|^{rest[0]}\s*[:=]|import .*\b{rest[0]}\b",
                                                source.read_text(), re.M) is not None
    return False


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(doc: Path) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", FENCE.sub("", doc.read_text()), re.M)}


def _broken(doc: Path) -> list[str]:
    paths, names, links = cited(doc.read_text())
    out = [f"path {p}" for p in sorted(paths) if not _path_exists(p)]
    out += [f"name {n}" for n in sorted(names) if not _name_exists(n)]
    for link in sorted(links):
        if "://" in link or link.startswith("mailto:"):
            continue
        target, _, anchor = link.partition("#")
        where = (doc.parent / target).resolve() if target else doc
        if not where.exists():
            out.append(f"link {link}")
        elif anchor and where.suffix == ".md" and anchor not in _anchors(where):
            out.append(f"anchor {link}")
    return out


def test_citation_finder_reads_code_links_and_anchors(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("# A title: `x`\n\nSee `snndeploy/core/errors.py` and `snndeploy/gone.py`, 10 samples/s,\n"
                   "`snndeploy.training.train.train_epoch`, `snndeploy.training.train.nothing_here`,\n"
                   "[ok](#a-title-x), [bad](#no-such), [file](missing.md).\n\n"
                   "```bash\npython benchmarks/gone.py\n```\n")
    assert _broken(doc) == ["path benchmarks/gone.py", "path snndeploy/gone.py",
                            "name snndeploy.training.train.nothing_here", "anchor #no-such", "link missing.md"]


def test_docs_cite_only_paths_modules_and_anchors_that_exist():
    """README.md, CONTRIBUTING.md, docs/*.md and samples/README.md: every repository path, snndeploy module and
    local link."""
    assert {"README.md", "CONTRIBUTING.md", "design.md", "benchmarks.md"} <= {d.name for d in DOCS}
    counted = sum(len(c) for d in DOCS for c in cited(d.read_text()))
    assert counted > 100, "the citation finder found almost nothing: is its pattern broken?"
    broken = [f"{d.relative_to(ROOT)}: {b}" for d in DOCS for b in _broken(d)]
    assert not broken, "documentation cites what does not exist:\n" + "\n".join(broken)


def test_readme_links_every_document_and_keeps_the_ci_command():
    text = README.read_text()
    _, _, links = cited(text)
    for doc in DOCS[1:]:
        assert str(doc.relative_to(ROOT)) in links, f"README.md does not link {doc.relative_to(ROOT)}"
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in text, f"the README's test command is not .ci/run's: {ci}"
    assert len(text.splitlines()) <= 300, "README.md is a front door: keep it under 300 lines, details in docs/"
