"""What the uv rules share: the guide they cite, the packages and requirement files an
install command names, and an install that a missing file guards."""

from __future__ import annotations

import re
from collections.abc import Sequence

from uvdock.lint.options import PIP_OPTIONS_WITH_VALUE, UV_OPTIONS_WITH_VALUE
from uvdock.lint.rules.base import Analysis, Command
from uvdock.lint.rules.words import program, uv_subcommand

UV_GUIDE = "uv's Docker guide, https://docs.astral.sh/uv/guides/integration/docker/"


def package_args(command_words: tuple[str, ...], *, keep_uv: bool = False) -> list[str]:
    """Package arguments of an install command (options and their values skipped)."""
    argv = list(command_words)
    sub = uv_subcommand(command_words)
    name = program(command_words)
    table = PIP_OPTIONS_WITH_VALUE if name in ("pip", "pip3") else UV_OPTIONS_WITH_VALUE
    if name == "uvx":
        words = argv[1:]
    elif sub in (("pip", "install"), ("tool", "install")):
        words = argv[argv.index(sub[1]) + 1 :]
    elif sub == ("tool", "run"):
        words = argv[argv.index("run") + 1 :]
    elif name in ("pip", "pip3", "pipx") and "install" in argv:
        words = argv[argv.index("install") + 1 :]
    else:
        return []
    packages: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            option = word.split("=", 1)[0]
            skip = "=" not in word and option in table
            continue
        if name in ("pip", "pip3") and word == "uv" and not keep_uv:
            continue  # UV101 reports `pip install uv` without a version
        packages.append(word)
        if name == "uvx" or sub == ("tool", "run"):
            break  # the rest are the tool's own arguments
    return packages


REQUIREMENT_OPTIONS = ("-r", "--requirement", "--requirements")


def requirement_files(words: Sequence[str]) -> list[str]:
    files = [words[i + 1] for i, w in enumerate(words[:-1]) if w in REQUIREMENT_OPTIONS]
    files += [
        w.split("=", 1)[1]
        for w in words
        if "=" in w and w.split("=", 1)[0] in REQUIREMENT_OPTIONS[1:]
    ]
    return files


def guarded_by_missing_file(analysis: Analysis, command: Command, files: list[str]) -> bool:
    """``if [ -f requirements.txt ]; then ... -r requirements.txt``, and the context has no
    such file (nor does the build write it): the command never runs."""
    root = analysis.context.root
    if root is None:
        return False
    script = command.instruction.args + "".join(h.content for h in command.instruction.heredocs)
    tested = set(re.findall(r"(?:\[|\btest)\s+-[fe]\s+[\"']?([\w./-]+)", script))
    return any(name in tested and not (root / name.lstrip("/")).exists() for name in files)
