"""Rules about the build context: what ``.dockerignore`` sends to the builder."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from uvdock.dockerfile.syntax import Instruction, Span
from uvdock.lint.context import BuildContext
from uvdock.lint.rules.base import Analysis, Command, Hit, rule
from uvdock.lint.rules.words import (
    copy_sources,
    env_true,
    has_flag,
    program,
    uv_subcommand,
    whole_context,
)

MUST_EXCLUDE = (".venv", ".git", ".env")


def _whole_context_copy(analysis: Analysis) -> Instruction | None:
    for item in analysis.dockerfile.instructions:
        if item.keyword not in ("COPY", "ADD") or item.flag("from") is not None:
            continue
        words = list(item.exec_form) if item.exec_form is not None else item.args.split()
        if len(words) >= 2 and any(whole_context(w) for w in words[:-1]):  # noqa: PLR2004
            return item
    return None


def _line_span(line: int, text: str) -> Span:
    return Span(start_line=line, start_col=1, end_line=line, end_col=len(text) + 1)


@rule(
    "UV111",
    "dockerignore-incomplete",
    "warning",
    summary="the whole context is copied, and `.dockerignore` is missing or lets `.venv`, "
    "`.git` or `.env` through",
    why="""
`COPY . /app` sends everything in the directory. Without a `.dockerignore` that
excludes them, the host's `.venv` (built for another platform, and large) lands in the
image and can shadow the one built inside it, `.git` adds the whole history, and `.env`
publishes local secrets with the image. In a uv project (`pyproject.toml` and
`uv.lock`) `.venv` must be excluded even when the checkout has none yet: `uv sync` and
`uv run` create it on every developer machine and CI runner.
""",
    bad="""
# .dockerignore absent
COPY . /app
""",
    good="""
# .dockerignore
.venv
.git
.env
""",
    source='uv\'s Docker guide (".dockerignore"); Docker docs, "Build context"',
)
def dockerignore_incomplete(analysis: Analysis) -> Iterator[Hit]:
    context = analysis.context
    if context.root is None:
        return
    copy = _whole_context_copy(analysis)
    if copy is None:
        return
    if context.dockerignore is None:
        yield Hit(
            span=analysis.keyword_span(copy),
            message="the whole context is copied and there is no .dockerignore: the host's "
            ".venv, .git and .env go into the image; add one (uvdock init writes it)",
        )
        return
    # uv creates .venv in every checkout of a uv project (uv sync, uv run): that this one
    # has none yet does not make the .dockerignore right for the next developer or CI.
    uv_project = context.pyproject is not None and context.has_uv_lock
    missing = [
        name
        for name in MUST_EXCLUDE
        if context.ignored(name) is None
        and ((context.root / name).exists() or (name == ".venv" and uv_project))
    ]
    if missing:
        yield Hit(
            span=analysis.keyword_span(copy),
            message=f".dockerignore does not exclude {', '.join(missing)}, and the whole "
            "context is copied; add them to .dockerignore"
            + (" (uv creates .venv in every checkout)" if ".venv" in missing else ""),
        )


# How a file of the context reaches the build: named (``COPY uv.lock ./``: the COPY fails
# when the file is excluded), or within a broader source (``COPY . .``, a directory, a glob:
# an excluded file is silently left out).
NAMED, BROAD = "named", "broad"


def _covers(source: str, name: str) -> str | None:
    """Whether a COPY/ADD or bind-mount ``source`` (context-relative) sends file ``name``."""
    parts = [p for p in source.strip().strip("/").split("/") if p not in ("", ".")]
    wanted = name.split("/")
    if len(parts) > len(wanted) or any(
        not fnmatch.fnmatchcase(w, p) for p, w in zip(parts, wanted, strict=False)
    ):
        return None
    if len(parts) == len(wanted) and parts == wanted:
        return NAMED
    return BROAD


def context_sources(analysis: Analysis) -> Iterator[tuple[Instruction, str]]:
    """(instruction, source) of everything taken from the build context: COPY/ADD without
    ``--from``, and RUN bind mounts without ``from=`` (their source defaults to the root)."""
    for item in analysis.dockerfile.instructions:
        if item.keyword in ("COPY", "ADD") and item.flag("from") is None and not item.heredocs:
            for source in copy_sources(item):
                if "$" not in source and "://" not in source and not source.startswith("git@"):
                    yield item, source
        elif item.keyword == "RUN":
            for mount in item.mounts:
                if mount.type == "bind" and "from" not in mount.fields:
                    yield item, mount.source or "."


def sends(analysis: Analysis, name: str) -> str | None:
    """How the Dockerfile sends context file ``name`` into the build (NAMED, BROAD), or None.

    A Dockerfile that takes nothing from the context at all (a fragment, or files that
    come another way) is taken to send everything: nothing contradicts it.
    """
    found: str | None = None
    anything = False
    for _, source in context_sources(analysis):
        anything = True
        how = _covers(source, name)
        if how == NAMED:
            return NAMED
        found = found or how
    return found if anything else BROAD


PROJECT_COMMANDS = frozenset({"sync", "run", "export", "lock", "tree", "build", "add", "remove",
                              "version"})  # fmt: skip
LOCK_COMMANDS = frozenset({"sync", "run", "export", "lock", "tree"})


def _uv(command: Command) -> tuple[str, ...] | None:
    return uv_subcommand(command.words)


def _project_path(words: tuple[str, ...]) -> bool:
    """Whether an install command (``uv pip install``, ``pip install``) installs the project
    in the working directory (``.``, ``./``, ``-e .``)."""
    return any(w in (".", "./") or w.startswith(("-e.", "--editable=.")) for w in words[1:])


def _pip_install(command: Command) -> bool:
    """``pip install`` (pip, pip3, python -m pip), not uv's."""
    words = command.words
    name = program(words)
    if name in ("python", "python3") and words[1:3] == ("-m", "pip"):
        words = words[2:]
    elif name not in ("pip", "pip3"):
        return False
    return "install" in words[1:]


def _reads_project(analysis: Analysis) -> bool:
    """Whether a command reads ``pyproject.toml``: a uv project command, or an install of
    ``.`` or of ``-r pyproject.toml``."""
    for _, command in analysis.commands:
        sub = _uv(command)
        if sub is not None and sub[0] in PROJECT_COMMANDS:
            return True
        if (sub == ("pip", "install") or _pip_install(command)) and (
            _project_path(command.words) or any(w.endswith("pyproject.toml") for w in command.words)
        ):
            return True
    return False


def uses_project(analysis: Analysis) -> bool:
    """Whether the image uses the context's project: copies or mounts ``pyproject.toml`` or the
    whole context, or a command reads the project (:func:`_reads_project`)."""
    if any(_covers(source, "pyproject.toml") for _, source in context_sources(analysis)):
        return True
    return _reads_project(analysis)


def _builds_project(analysis: Analysis) -> bool:
    """Whether a command builds the project itself (what reads its readme and license)."""
    for _, command in analysis.commands:
        sub, words = _uv(command), command.words
        if sub == ("sync",) and not has_flag(
            words, "--no-install-project", "--no-install-workspace", "--only-group", "--only-dev"
        ):
            return True
        if (
            sub == ("run",)
            and not has_flag(words, "--no-project", "--no-sync")
            and not env_true(command.env, "UV_NO_SYNC")
        ):
            return True
        if sub == ("build",) or (
            (sub == ("pip", "install") or _pip_install(command)) and _project_path(words)
        ):
            return True
    return False


def _needs(analysis: Analysis, name: str, referenced: tuple[str, ...]) -> bool:
    """Whether the build needs context file ``name``: a COPY names it (and fails without it),
    or a broader COPY/bind mount sends it and a command reads it."""
    how = sends(analysis, name)
    if how is None:
        return False
    if how == NAMED:
        return True
    if name == "uv.lock":
        return any(
            (sub := _uv(c)) is not None and sub[0] in LOCK_COMMANDS for _, c in analysis.commands
        )
    if name == "pyproject.toml":
        return _reads_project(analysis)
    if name == ".python-version":
        # Sent by a broad COPY, it only steers uv's choice of Python; leaving it out on purpose
        # makes uv use the image's interpreter, which is often the point.
        return False
    return name in referenced and _builds_project(analysis)


# Build backends that stop when the readme or license file pyproject.toml names is missing
# (setuptools only warns: "SetuptoolsWarning: File ... cannot be found").
STRICT_BACKENDS = ("hatchling.build", "flit_core.buildapi", "uv_build", "pdm.backend")


def _fails_without_readme(context: BuildContext) -> bool:
    if not context.packaged:
        return False
    system = (context.pyproject or {}).get("build-system", {})
    backend = system.get("build-backend") if isinstance(system, dict) else None
    return isinstance(backend, str) and backend in STRICT_BACKENDS


@rule(
    "UV113",
    "dockerignore-excludes-project-files",
    "error",
    summary="`.dockerignore` excludes `uv.lock`, `pyproject.toml`, `.python-version` or a "
    "file `pyproject.toml` names",
    why="""
The build needs these files: `uv sync --locked` fails without `uv.lock` ("Unable to find
lockfile"), the project cannot be built without `pyproject.toml`, the build backend
fails when the `readme` or license file that `pyproject.toml` names is missing
(hatchling: "Readme file does not exist"; flit, uv_build and pdm too; setuptools only
warns), and a `COPY .python-version` fails without
it. Excluding them (often by a broad pattern such as `*.md` or `.*`) breaks
the build in a way that is hard to trace back. A file counts only when the Dockerfile
needs it: a `COPY` names it (and fails without it), or `COPY .`, a directory, a glob or a
bind mount sends it and a command reads it. So the readme only when the project itself is
built (not with `uv sync --no-install-project` alone), `.python-version` only when a `COPY`
names it (left out of a broad `COPY .`, it makes uv use the image's Python, often on
purpose), and nothing the Dockerfile never copies or mounts.
""",
    bad="""
# .dockerignore
*.md
""",
    good="""
# .dockerignore
*.md
!README.md
""",
    source="BuildKit check CopyIgnoredFile; hatchling's readme validation",
    aliases=("CopyIgnoredFile",),
)
def dockerignore_excludes_project_files(analysis: Analysis) -> Iterator[Hit]:
    context = analysis.context
    if context.root is None or context.dockerignore is None or not uses_project(analysis):
        return
    referenced = context.referenced_files if _fails_without_readme(context) else ()
    for name in ("uv.lock", "pyproject.toml", ".python-version", *referenced):
        if not (context.root / name).exists():
            continue
        pattern = context.ignored(name)
        if pattern is None or context.dockerignore_path is None:
            continue
        if not _needs(analysis, name, referenced):
            continue
        text = "!" + pattern.pattern if not pattern.exclude else pattern.pattern
        yield Hit(
            path=context.dockerignore_path,
            span=_line_span(pattern.line, text),
            message=f".dockerignore line {pattern.line} ({pattern.pattern}) excludes {name}, "
            f"which the build needs; add `!{name}` after it",
        )
