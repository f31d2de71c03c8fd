"""Rules about `uv sync`: it installs from the lock (UV102), and the dependencies come
before the source (UV103)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from uvdock.dockerfile.syntax import Instruction, Stage
from uvdock.lint.rules.base import Analysis, Command, Hit, insert_after, rule
from uvdock.lint.rules.uv_common import UV_GUIDE, package_args, requirement_files
from uvdock.lint.rules.words import (
    as_pip,
    copy_sources,
    env_true,
    has_flag,
    known_image,
    program,
    uv_subcommand,
    whole_context,
)


def _is_locked(command: Command) -> bool:
    return (
        has_flag(command.words, "--locked", "--frozen")
        or env_true(command.env, "UV_LOCKED")
        or env_true(command.env, "UV_FROZEN")
    )


def _context_locks(analysis: Analysis) -> list[str]:
    """``uv.lock`` files of the build context (relative paths, a few levels deep), found
    once per file (UV102 asks for each `uv sync`)."""
    return analysis.once("context-locks", lambda: _find_context_locks(analysis))


def _find_context_locks(analysis: Analysis) -> list[str]:
    root = analysis.context.root
    if root is None:
        return []
    if analysis.context.has_uv_lock:
        return ["uv.lock"]
    found: list[str] = []
    for pattern in ("*/uv.lock", "*/*/uv.lock", "*/*/*/uv.lock"):
        found.extend(p.relative_to(root).as_posix() for p in root.glob(pattern))
    return found


def _relocks(command: Command) -> bool:
    return uv_subcommand(command.words) == ("lock",) and not has_flag(
        command.words, "--check", "--locked", "--check-exists", "--dry-run"
    )


def _locked_in_build(analysis: Analysis, stage: Stage, command: Command) -> bool:
    """Whether ``uv lock`` (not ``--check``) ran earlier in the stage or its parents."""
    if not analysis.once("relocks", lambda: any(_relocks(c) for _, c in analysis.commands)):
        return False  # no `uv lock` anywhere: decided once, not by a scan per command
    return any(_relocks(other) for other in analysis.earlier_commands(stage, command))


def _earlier_sync_answers_for(analysis: Analysis, stage: Stage, command: Command) -> bool:
    """Whether an earlier `uv sync` checks the lock for this `uv run` (with --locked), or is
    reported by UV102 itself (no --locked, no --frozen)."""
    for other in analysis.earlier_commands(stage, command):
        if uv_subcommand(other.words) != ("sync",):
            continue
        # --locked checked the lock; --frozen did not, so a later run may still re-lock; a
        # sync with neither is reported itself, and its --locked fixes the run too.
        frozen = has_flag(other.words, "--frozen") or env_true(other.env, "UV_FROZEN")
        if not frozen:
            return True
    return False


def _lock_reaches(analysis: Analysis, stage: Stage, command: Command) -> bool | None:
    """Whether a uv.lock is in the stage when ``command`` runs (None: cannot tell).

    A bind mount of it (or of the whole context) on the RUN, or an earlier
    COPY/ADD of the whole context, of uv.lock itself (or a glob that matches
    it), or of a context directory that holds one.
    """
    for mount in command.instruction.mounts:
        if mount.type != "bind":
            continue
        if mount.fields.get("from"):
            return None
        source = (mount.source or ".").strip("/") or "."
        if source == "." or source.endswith("uv.lock"):
            return True
    locks = _context_locks(analysis)
    unknown = False
    for member in analysis.lineage(stage):
        for item in member.instructions:
            if member is stage and item is command.instruction:
                break
            if item.keyword not in ("COPY", "ADD"):
                continue
            if item.flag("from") is not None:
                # From another stage or image: not followed, except uv's own binaries.
                binaries = {s.rstrip("/").rsplit("/", 1)[-1] for s in copy_sources(item)}
                unknown = unknown or not binaries <= {"uv", "uvx"}
                continue
            brings = _copy_brings_lock(analysis, item, locks)
            if brings is not False:
                return brings
    return None if unknown else False


def _copy_brings_lock(analysis: Analysis, item: Instruction, locks: list[str]) -> bool | None:
    import fnmatch  # noqa: PLC0415 - only for the few files that get here

    for source in copy_sources(item):
        cleaned = source.strip("/").removeprefix("./") or "."
        if "$" in cleaned:
            return None
        # A glob (`uv.lock*`) brings a lock only if the context has one.
        matches = cleaned in (".", "*") or fnmatch.fnmatch("uv.lock", cleaned)
        if matches and (analysis.context.root is None or locks):
            return True
        if any(lock == cleaned + "/uv.lock" for lock in locks):
            return True
    return False


@rule(
    "UV102",
    "sync-without-lock",
    "warning",
    summary="`uv sync` (or `uv run`) in a RUN without `--locked` or `--frozen`",
    why="""
Without `--locked` (or `--frozen`), `uv sync` quietly re-resolves when `uv.lock` no
longer matches `pyproject.toml` and installs whatever that resolution gives: the image
then differs from what was tested, and nothing fails. `--locked` makes the build fail
instead, with a message that says to run `uv lock`. (`UV_LOCKED=1` in the environment
does the same.)
""",
    bad="""
COPY pyproject.toml uv.lock ./
RUN uv sync --no-dev
""",
    good="""
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev
""",
    source=f'{UV_GUIDE} ("Intermediate layers"); uv docs, `uv sync --locked`',
    fixable=True,
)
def sync_without_lock(analysis: Analysis) -> Iterator[Hit]:
    for stage, command in analysis.commands:
        sub = uv_subcommand(command.words)
        if sub not in (("sync",), ("run",)) or _is_locked(command) or command.opaque:
            continue
        if sub == ("run",) and (
            has_flag(command.words, "--no-sync", "--no-project", "--script", "--isolated")
            or env_true(command.env, "UV_NO_SYNC")
        ):
            continue
        word = sub[0]
        if word == "run" and _earlier_sync_answers_for(analysis, stage, command):
            continue  # the lock was checked by that sync; the run finds nothing to resolve
        if _locked_in_build(analysis, stage, command):
            continue  # `uv lock` ran in this build: the lock matches (UV118 reports re-locking)
        # uv.lock named outright (not `uv.lock*`, which may match nothing) means the
        # lock lives elsewhere than this context: then the context is not the one used.
        no_lock = (
            analysis.context.root is not None
            and not _context_locks(analysis)
            and not re.search(r"uv\.lock(?![*?\[\w])", analysis.dockerfile.text)
        )
        if no_lock and word == "run":
            continue  # a tool or script run where there is no project to lock
        if no_lock:
            yield Hit(
                span=analysis.command_span(command),
                message="the build context has no uv.lock: `uv sync` resolves the dependencies "
                "anew at every build; commit uv.lock and sync with --locked",
            )
            continue
        reaches = _lock_reaches(analysis, stage, command)
        if reaches is False:
            yield Hit(
                span=analysis.command_span(command),
                message=f"uv.lock is not copied (or mounted) before `uv {word}`, so it resolves "
                "the dependencies anew; bring uv.lock in and add --locked",
            )
            continue
        span = analysis.words_span(command, word)
        stale = _stale_lock(analysis)
        if stale is not None:
            yield Hit(
                span=analysis.command_span(command),
                message=f"uv.lock is out of date ({stale}), and `uv {word}` without --locked "
                "re-resolves it silently in the build; run `uv lock`, then add --locked",
            )
            continue
        fix = (insert_after(span, " --locked"),) if span is not None and reaches else ()
        yield Hit(
            span=analysis.command_span(command),
            message=f"`uv {word}` without `--locked`: a stale uv.lock is re-resolved silently; "
            "add `--locked` (or `--frozen` to skip the check)",
            fix=fix,
        )


def _stale_lock(analysis: Analysis) -> str | None:
    """Why the context's uv.lock no longer matches its pyproject.toml, or None (fresh or
    unknown): adding --locked to a build with a stale lock would make it fail. Checked once
    per file: it reads the lock and every member's pyproject.toml."""
    return analysis.once("stale-lock", lambda: _check_stale_lock(analysis))


def _check_stale_lock(analysis: Analysis) -> str | None:
    root = analysis.context.root
    if root is None or not analysis.context.has_uv_lock:
        return None
    from uvdock.project.freshness import check_workspace_freshness  # noqa: PLC0415

    try:
        verdict = check_workspace_freshness(root)
    except (OSError, ValueError):
        return None
    return verdict.reason if verdict.state == "stale" else None


def _whole_context(item: Instruction) -> bool:
    """``COPY . <dest>`` (or ADD) of the whole build context."""
    if item.keyword not in ("COPY", "ADD") or item.flag("from") is not None:
        return False
    words = list(item.exec_form) if item.exec_form is not None else item.args.split()
    return len(words) >= 2 and any(whole_context(w) for w in words[:-1])  # noqa: PLR2004


# Installing only these is setting up the tools, not the project's dependencies.
TOOLING = frozenset({"uv", "pip", "setuptools", "wheel", "pipx", "virtualenv"})


def _installs_dependencies(command: Command) -> bool:
    sub = uv_subcommand(command.words)
    if sub == ("sync",):
        return True
    words = as_pip(command.words) or command.words
    if sub in (("pip", "install"), ("pip", "sync")) or (
        program(words) == "pip" and "install" in words
    ):
        names = {
            re.split(r"[=<>~!\[@ ]", w, maxsplit=1)[0].lower()
            for w in package_args(words, keep_uv=True)
        }
        only_tools = bool(names) and names <= TOOLING and not requirement_files(words)
        return not only_tools
    return False


def _copies_environment(item: Instruction) -> bool:
    """``COPY --from=<stage>`` of a virtual environment or site-packages."""
    if item.keyword != "COPY" or item.flag("from") is None:
        return False
    return any(
        s.rstrip("/").endswith(("venv", ".venv")) or "site-packages" in s
        for s in copy_sources(item)
    )


@rule(
    "UV103",
    "source-before-dependencies",
    "warning",
    summary="the whole source is copied before the dependencies are installed",
    why="""
Docker reuses a layer only while everything it depends on is unchanged. When `COPY . .`
comes before the dependency install, every edit to any source file invalidates the
install, and each rebuild downloads and installs all dependencies again. Install the
dependencies first from `uv.lock` and `pyproject.toml` alone (bind mounts, with
`--no-install-project`), then copy the source and install the project.
""",
    bad="""
COPY . /app
RUN uv sync --locked --no-dev
""",
    good="""
RUN --mount=type=cache,target=/root/.cache/uv \\
    --mount=type=bind,source=uv.lock,target=uv.lock \\
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \\
    uv sync --locked --no-install-project --no-dev
COPY . /app
RUN --mount=type=cache,target=/root/.cache/uv uv sync --locked --no-dev
""",
    source=f'{UV_GUIDE} ("Intermediate layers"); Docker docs, "Optimize cache usage"',
    aliases=(),
)
def source_before_dependencies(analysis: Analysis) -> Iterator[Hit]:
    for stage in analysis.stages:
        if not known_image(analysis.root_image(stage)):
            continue  # a team's own base image may hold the dependencies already
        if any(
            _installs_dependencies(c)
            for parent in analysis.lineage(stage)[1:]
            for c in analysis.stage_commands(parent)
        ):
            continue  # a parent stage installed them: this stage only adds the project
        installs: dict[int, list[Command]] = {}
        for command in analysis.stage_commands(stage):
            if _installs_dependencies(command):
                installs.setdefault(id(command.instruction), []).append(command)
        copied: Instruction | None = None
        for item in stage.instructions:
            if copied is None and _whole_context(item):
                copied = item
                continue
            if copied is not None and _copies_environment(item):
                break  # the dependencies come from another stage's venv
            if item.keyword != "RUN":
                continue
            if id(item) not in installs:
                continue
            if copied is None:
                break  # dependencies come first: fine
            yield Hit(
                span=analysis.keyword_span(copied),
                message="the whole context is copied before the dependencies are installed "
                f"(line {item.span.start_line}): every source edit reinstalls them; install "
                "from uv.lock first (bind mounts, --no-install-project), then copy the source",
            )
            break
