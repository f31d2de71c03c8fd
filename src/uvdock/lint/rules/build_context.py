"""Rules about the build context: what ``.dockerignore`` sends to the builder."""

from __future__ import annotations

from collections.abc import Iterator

from uvdock.lint.rules.base import Analysis, Hit, rule, uv_subcommand
from uvdock.lint.syntax import Instruction, Span

MUST_EXCLUDE = (".venv", ".git", ".env")


def _whole_context_copy(analysis: Analysis) -> Instruction | None:
    for item in analysis.dockerfile.instructions:
        if item.keyword not in ("COPY", "ADD") or item.flag("from") is not None:
            continue
        words = list(item.exec_form) if item.exec_form is not None else item.args.split()
        if len(words) >= 2 and any(w in (".", "./") for w in words[:-1]):  # noqa: PLR2004
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


def _installs_project(analysis: Analysis) -> bool:
    for _, command in analysis.commands:
        if uv_subcommand(command.argv) in (("sync",), ("pip", "install"), ("export",)):
            return True
    return False


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
(hatchling: "Readme file does not exist"), and without `.python-version` tools pick
another Python. Excluding them (often by a broad pattern such as `*.md` or `.*`) breaks
the build in a way that is hard to trace back.
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
    if context.root is None or context.dockerignore is None or not _installs_project(analysis):
        return
    needed = ["uv.lock", "pyproject.toml", ".python-version"]
    if context.packaged:
        needed += list(context.referenced_files)
    for name in needed:
        if not (context.root / name).exists():
            continue
        pattern = context.ignored(name)
        if pattern is None or context.dockerignore_path is None:
            continue
        text = "!" + pattern.pattern if not pattern.exclude else pattern.pattern
        yield Hit(
            path=context.dockerignore_path,
            span=_line_span(pattern.line, text),
            message=f".dockerignore line {pattern.line} ({pattern.pattern}) excludes {name}, "
            f"which the build needs; add `!{name}` after it",
        )
