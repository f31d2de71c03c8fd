"""Rules about how a Dockerfile uses uv: the lockfile, the cache, dev dependencies, start-up."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from uvdock.dockerfile import expand
from uvdock.dockerfile.syntax import Instruction, Stage
from uvdock.lint.options import PIP_OPTIONS_WITH_VALUE, UV_OPTIONS_WITH_VALUE
from uvdock.lint.rules.base import (
    Analysis,
    Command,
    Hit,
    as_pip,
    copy_sources,
    env_true,
    for_development,
    has_flag,
    insert_after,
    known_image,
    one_hit_per_run,
    program,
    read_small,
    rule,
    uv_subcommand,
    whole_context,
)

UV_GUIDE = "uv's Docker guide, https://docs.astral.sh/uv/guides/integration/docker/"


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
            for w in _package_args(words, keep_uv=True)
        }
        only_tools = bool(names) and names <= TOOLING and not _requirement_files(words)
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


def _uv_cache_dir(command: Command) -> str | None:
    """uv's cache directory for this command, when the environment says it (else ~/.cache/uv)."""
    if command.env.get("UV_CACHE_DIR"):
        return command.env["UV_CACHE_DIR"].rstrip("/")
    if command.env.get("XDG_CACHE_HOME"):
        return command.env["XDG_CACHE_HOME"].rstrip("/") + "/uv"
    for index, word in enumerate(command.words):
        if word == "--cache-dir" and index + 1 < len(command.words):
            return command.words[index + 1].rstrip("/")
        if word.startswith("--cache-dir="):
            return word.split("=", 1)[1].rstrip("/")
    return None


def _uv_cache_mounted(command: Command) -> bool:
    """A cache mount on uv's cache directory or on a directory above it (``/root/.cache``)."""
    cache_dir = _uv_cache_dir(command)
    for mount in command.instruction.mounts:
        if mount.type != "cache" or not mount.target:
            continue
        target = expand(mount.target, command.env).rstrip("/") or "/"
        if cache_dir is not None:
            if cache_dir == target or cache_dir.startswith(target.rstrip("/") + "/"):
                return True
        elif target.endswith(("/.cache/uv", "/.cache")) or target in (".cache/uv", ".cache"):
            return True
    return False


def _no_cache(command: Command) -> bool:
    """``--no-cache`` (``-n``, or pip's spelling ``--no-cache-dir``, which uv accepts)."""
    return has_flag(command.words, "--no-cache", "-n", "--no-cache-dir") or env_true(
        command.env, "UV_NO_CACHE"
    )


def _writes_uv_cache(command: Command) -> bool:
    sub = uv_subcommand(command.words)
    return sub in (("sync",), ("pip", "install"), ("pip", "sync"), ("tool", "install"))


CACHE_REMOVED = re.compile(
    r"\buv\s+cache\s+clean\b|"
    r"\brm\b[^;&|\n]*?\s(?:\S*/)?(?:\.cache(?:/uv)?|\$\{?UV_CACHE_DIR\}?)/?(?=\s|$|;|&|\|)"
)


@rule(
    "UV104",
    "uv-cache-in-image",
    "warning",
    summary="uv installs without a cache mount and without `--no-cache`: "
    "its cache stays in a layer",
    why="""
uv keeps every downloaded wheel in its cache (`/root/.cache/uv`). In a stage whose
layers are the final image, that cache ships with the image: often as large as the
environment itself. A BuildKit cache mount keeps it out of the layer and makes
rebuilds fast; `UV_NO_CACHE=1` or `--no-cache` at least keeps it out.
""",
    bad="RUN uv sync --locked --no-dev",
    good="""
RUN --mount=type=cache,target=/root/.cache/uv \\
    uv sync --locked --no-dev
""",
    source=f'{UV_GUIDE} ("Caching"); hadolint DL3042 is the pip equivalent (PY228)',
)
def uv_cache_in_image(analysis: Analysis) -> Iterator[Hit]:
    final = analysis.final
    if final is None:
        return
    image_stages = {s.index for s in analysis.lineage(final)}
    for stage, command in analysis.commands:
        if stage.index not in image_stages or not _writes_uv_cache(command) or command.opaque:
            continue
        if _uv_cache_mounted(command) or _no_cache(command):
            continue
        script = command.instruction.args + "".join(h.content for h in command.instruction.heredocs)
        if CACHE_REMOVED.search(script):
            continue
        if _guarded_by_missing_file(analysis, command, _requirement_files(command.words)):
            continue
        yield Hit(
            span=analysis.keyword_span(command.instruction),
            message="uv's cache stays in this layer of the final image; add "
            f"{_cache_mount_advice(analysis, stage, command)} (or set UV_NO_CACHE=1)",
        )


def _cache_mount_advice(analysis: Analysis, stage: Stage, command: Command) -> str:
    """The cache mount that would cover this command's uv cache."""
    cache_dir = _uv_cache_dir(command)
    if cache_dir is not None:
        return f"`--mount=type=cache,target={cache_dir}`"
    user = None
    for member in reversed(analysis.lineage(stage)):
        for item in member.instructions:
            if item is command.instruction:
                break
            if item.keyword == "USER" and item.args.strip():
                user = item.args.strip().split(":", 1)[0]
    if user in (None, "root", "0"):
        return "`--mount=type=cache,target=/root/.cache/uv`"
    return (
        f"a cache mount on the cache of user {user} (set UV_CACHE_DIR=/tmp/uv-cache and "
        "`--mount=type=cache,target=/tmp/uv-cache,uid=...`)"
    )


@rule(
    "UV105",
    "cache-mount-link-mode",
    "info",
    summary="a uv cache mount without `UV_LINK_MODE=copy`",
    why="""
uv links files from its cache into the environment by default. A cache mount is a
different filesystem from the layer, so hard links fail: uv warns ("Failed to hardlink
files; falling back to full copy") on every build and copies anyway. Setting
`UV_LINK_MODE=copy` (or `--link-mode=copy`) says so up front, and the venv never refers
to files in the mount.
""",
    bad="""
RUN --mount=type=cache,target=/root/.cache/uv \\
    uv sync --locked
""",
    good="""
ENV UV_LINK_MODE=copy
RUN --mount=type=cache,target=/root/.cache/uv \\
    uv sync --locked
""",
    source=f'{UV_GUIDE} ("Caching")',
    fixable=True,
)
def cache_mount_link_mode(analysis: Analysis) -> Iterator[Hit]:
    # One mount, one setting: one finding per RUN, with an edit for each uv command in it.
    yield from one_hit_per_run(
        analysis,
        (
            command
            for stage, command in analysis.commands
            if _links_from_mount(analysis, stage, command)
        ),
        message="a uv cache mount without UV_LINK_MODE=copy: uv warns and copies on every "
        "build; set UV_LINK_MODE=copy (or pass --link-mode=copy)",
        insert=" --link-mode=copy",
        after=lambda command: uv_subcommand(command.words) or ("sync",),
    )


def _links_from_mount(analysis: Analysis, stage: Stage, command: Command) -> bool:
    if not _writes_uv_cache(command) or not _uv_cache_mounted(command):
        return False
    if _no_cache(command) or command.opaque:
        return False  # --no-cache: uv never uses the mount
    if not known_image(analysis.root_image(stage)):
        return False  # another base image may set UV_LINK_MODE
    if command.env.get("UV_LINK_MODE", "").lower() == "copy":
        return False
    return not has_flag(command.words, "--link-mode")


DEV_EXCLUSION_FLAGS = ("--no-dev", "--only-group", "--no-default-groups", "--only-dev")


@rule(
    "UV107",
    "dev-dependencies-in-image",
    "warning",
    summary="a `uv sync` whose environment reaches the final image keeps the dev dependencies",
    why="""
`uv sync` installs the `dev` dependency group by default. When that environment is the
one the final image runs (synced in the final stage, or copied into it), test runners,
linters and their dependencies ship to production: a larger image and a larger attack
surface. Pass `--no-dev` (or set `UV_NO_DEV=1`).
""",
    bad="RUN uv sync --locked",
    good="RUN uv sync --locked --no-dev",
    source="astral-sh/uv-docker-example (Dockerfile, multistage.Dockerfile); uv docs, "
    '"Dependency groups"',
    fixable=True,
)
def dev_dependencies_in_image(analysis: Analysis) -> Iterator[Hit]:
    from uvdock.lint.rules.runtime import starts_development_server  # noqa: PLC0415

    final = analysis.final
    if final is None or for_development(analysis, final):
        return  # a test or development image wants its dev dependencies
    if starts_development_server(analysis, final):
        return  # runserver, --reload: a development image (PY223 says so if it is not)
    effective = _effective_syncs(analysis)
    for stage, command in analysis.commands:
        if stage.index not in analysis.reaching_final:
            continue
        if uv_subcommand(command.words) != ("sync",) or command.opaque:
            continue
        words = command.words
        if has_flag(words, *DEV_EXCLUSION_FLAGS, "--all-groups", "--dev") or _names_group(
            words, "dev"
        ):
            continue  # the groups are chosen explicitly (--group X adds to the defaults)
        if id(command) not in effective:
            continue  # a later `uv sync` of the same environment decides what stays
        if env_true(command.env, "UV_NO_DEV") or env_true(command.env, "UV_NO_DEFAULT_GROUPS"):
            continue
        if _excludes_dev_group(words) or not _installs_dev_group(analysis, words):
            continue
        span = analysis.words_span(command, "sync")
        if _starts_with_uv_run(analysis, final):
            # `uv run` at start syncs again and would put the dev group back at every start.
            yield Hit(
                span=analysis.command_span(command),
                message="this environment reaches the final image with the dev dependency "
                "group, and the container's `uv run` syncs it again at start; set "
                "`ENV UV_NO_DEV=1` before this RUN (both honour it)",
            )
            continue
        yield Hit(
            span=analysis.command_span(command),
            message="this environment reaches the final image with the dev dependency group; "
            "add --no-dev",
            fix=(insert_after(span, " --no-dev"),) if span else (),
        )


def _effective_syncs(analysis: Analysis) -> set[int]:
    """The `uv sync` commands whose result stays: uv sync is exact (it removes what the
    next sync does not want), so in each stage's lineage only the last one counts, and the
    ones before it too when it is --inexact."""
    kept: list[Command] = []
    own = {
        stage.index: [
            c for c in analysis.stage_commands(stage) if uv_subcommand(c.words) == ("sync",)
        ]
        for stage in analysis.stages
    }
    for stage in analysis.stages:
        syncs = [c for member in reversed(analysis.lineage(stage)) for c in own[member.index]]
        if not syncs:
            continue
        last = len(syncs) - 1
        while last > 0 and has_flag(syncs[last].words, "--inexact"):
            last -= 1
        kept.extend(syncs[last:])
    return {id(c) for c in kept}


def _names_group(words: Sequence[str], group: str) -> bool:
    return any(
        (word == "--group" and index + 1 < len(words) and words[index + 1] == group)
        or word == f"--group={group}"
        for index, word in enumerate(words)
    )


def _starts_with_uv_run(analysis: Analysis, final: Stage) -> bool:
    from uvdock.lint.rules.runtime import start_commands  # noqa: PLC0415

    _, started = start_commands(analysis, final)
    return any(
        uv_subcommand(argv) == ("run",) and not has_flag(argv, "--no-sync", "--no-dev")
        for argv in started
    )


def _excludes_dev_group(words: Sequence[str]) -> bool:
    """``--no-group dev`` (or ``--no-group=dev``) leaves the dev group out, as --no-dev does."""
    for index, word in enumerate(words):
        if word == "--no-group" and index + 1 < len(words) and words[index + 1] == "dev":
            return True
        if word == "--no-group=dev":
            return True
    return False


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _synced_pyprojects(analysis: Analysis, words: Sequence[str]) -> list[dict[str, object]] | None:
    """The pyproject.toml tables whose dependency groups this ``uv sync`` installs.

    The context's own, or with ``--package NAME`` that workspace member's (found
    in the context); None when the context does not say.
    """
    root = analysis.context.root
    data = analysis.context.pyproject
    if root is None or data is None:
        return None
    packages = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--package"]
    packages += [w.split("=", 1)[1] for w in words if w.startswith("--package=")]
    if not packages:
        return [dict(data)]
    import tomllib  # noqa: PLC0415 - only for workspace members

    wanted = {_normalized(p) for p in packages}
    found: list[dict[str, object]] = []
    for pattern in ("*/pyproject.toml", "*/*/pyproject.toml", "*/*/*/pyproject.toml"):
        for path in root.glob(pattern):
            text = read_small(path)
            try:
                member = tomllib.loads(text) if text is not None else {}
            except tomllib.TOMLDecodeError:
                continue
            name = member.get("project", {}).get("name")
            if isinstance(name, str) and _normalized(name) in wanted:
                found.append(member)
    return found or None


def _requirement_name(requirement: object) -> str:
    text = requirement if isinstance(requirement, str) else ""
    return _normalized(re.split(r"[\s<>=!~;\[@(]", text.strip(), maxsplit=1)[0])


def _dev_group_is_runtime(data: dict[str, object], groups: object) -> bool:
    """Whether everything in the dev group is a dependency of the project anyway (then
    --no-dev leaves the same environment)."""
    if not isinstance(groups, dict):
        return False
    dev = next((v for k, v in groups.items() if _normalized(k) == "dev"), None)
    project = data.get("project")
    runtime = project.get("dependencies") if isinstance(project, dict) else None
    if not isinstance(dev, list) or not dev or not isinstance(runtime, list):
        return False
    names = {_requirement_name(r) for r in runtime}
    return all(isinstance(r, str) and _requirement_name(r) in names for r in dev)


def _installs_dev_group(analysis: Analysis, words: Sequence[str]) -> bool:
    """Whether the project has a ``dev`` group that ``uv sync`` installs by default.

    With no context to read, the linter assumes it does (uv's default); with
    one, a project without a ``dev`` group (only ``test``, or ``dev`` as an
    extra) or whose ``default-groups`` leave it out installs none.
    """
    projects = _synced_pyprojects(analysis, words)
    if projects is None:
        return analysis.context.root is None
    for data in projects:
        groups = data.get("dependency-groups")
        names = {_normalized(g) for g in groups} if isinstance(groups, dict) else set()
        uv_table = data.get("tool", {})
        uv_table = uv_table.get("uv", {}) if isinstance(uv_table, dict) else {}
        if not isinstance(uv_table, dict):
            uv_table = {}
        if uv_table.get("dev-dependencies"):
            names.add("dev")
        if "dev" not in names or _dev_group_is_runtime(data, groups):
            continue
        defaults = uv_table.get("default-groups", ["dev"])
        if defaults == "all" or (
            isinstance(defaults, list) and "dev" in {_normalized(str(d)) for d in defaults}
        ):
            return True
    return False


def _start_command(item: Instruction) -> tuple[str, ...]:
    if item.exec_form is not None:
        return item.exec_form
    return tuple(item.args.split())


@rule(
    "UV108",
    "uv-run-at-start",
    "warning",
    summary="the container starts with `uv run` without `--no-sync`",
    why="""
`uv run` syncs the environment before it runs the command: at every container start it
checks (and may change) the venv, downloads what is missing, and installs the dev
dependencies, which the image was built without. As a non-root user or on a read-only
filesystem that sync fails. Run the program from the venv (`PATH=/app/.venv/bin:$PATH`,
`CMD ["uvicorn", ...]`), or at least use `uv run --no-sync` (or `UV_NO_SYNC=1`).
""",
    bad='CMD ["uv", "run", "uvicorn", "app.main:app"]',
    good="""
ENV PATH=/app/.venv/bin:$PATH
CMD ["uvicorn", "app.main:app"]
""",
    source="uv issues astral-sh/uv#17023 and astral-sh/uv-docker-example#82; "
    f'{UV_GUIDE} ("Using the environment")',
)
def uv_run_at_start(analysis: Analysis) -> Iterator[Hit]:
    from uvdock.lint.rules.runtime import start_commands  # noqa: PLC0415

    final = analysis.final
    if final is None:
        return
    where, started = start_commands(analysis, final)  # ENTRYPOINT + CMD, `sh -c` read
    if where is None:
        return
    env = analysis.env_before(final, None)
    for wrapped in started:
        argv = _without_wrappers(wrapped)
        if uv_subcommand(argv) != ("run",):
            continue
        if has_flag(argv, "--no-sync") or env_true(env, "UV_NO_SYNC"):
            continue
        if not _has_project(analysis, argv):
            continue  # no pyproject.toml and no inline script metadata: nothing to sync
        yield Hit(
            span=analysis.keyword_span(where),
            message=f"{where.keyword} starts with `uv run`, which syncs the venv at every start; "
            "run the program from the venv (PATH=/app/.venv/bin:$PATH) or add --no-sync",
        )
        return


def _without_wrappers(argv: tuple[str, ...]) -> tuple[str, ...]:
    """``exec``, ``tini --``, ``dumb-init``, ``env A=1`` in front of the program taken off."""
    words = list(argv)
    while words and (program(tuple(words)) in ("exec", "tini", "dumb-init", "env", "--")
                     or (words[0] != argv[0] and "=" in words[0])):  # fmt: skip
        words = words[1:]
    return tuple(words)


def _has_project(analysis: Analysis, argv: tuple[str, ...]) -> bool:
    """Whether `uv run` at start has something to sync: a pyproject.toml in the context, or
    a script with inline metadata (``# /// script``). True when the context is unknown."""
    root = analysis.context.root
    if root is None or analysis.context.pyproject is not None:
        return True
    if any(root.glob("*/pyproject.toml")) or any(root.glob("*/*/pyproject.toml")):
        return True
    for word in argv:
        if word.endswith(".py"):
            path = root / word.lstrip("/")
            for candidate in (path, root / path.name):
                if "# /// script" in (read_small(candidate) or ""):
                    return True
    return False


@rule(
    "UV109",
    "site-packages-copied",
    "warning",
    summary="`site-packages` copied from another stage instead of the virtual environment",
    why="""
Copying `site-packages` between stages leaves behind what installers put elsewhere: the
console scripts in `bin/` (`uvicorn`, `gunicorn`, `alembic`), data files, and the
`.pth`-based path setup. It also silently assumes both stages have the same Python at
the same path. Install into a virtual environment (`uv sync` makes `/app/.venv`) and
copy the whole venv into a final stage built FROM the same Python image.
""",
    bad="COPY --from=builder /usr/local/lib/python3.13/site-packages "
    "/usr/local/lib/python3.13/site-packages",
    good="COPY --from=builder /app/.venv /app/.venv",
    source=f'{UV_GUIDE} ("Non-editable installs", multistage example)',
)
def site_packages_copied(analysis: Analysis) -> Iterator[Hit]:
    for stage in analysis.stages:
        for item in stage.instructions:
            source_flag = item.flag("from")
            if item.keyword != "COPY" or source_flag is None or not source_flag.value:
                continue
            if not any(_whole_site_packages(source) for source in copy_sources(item)):
                continue  # one package or extension into a venv copied whole: nothing lost
            if _same_python_with_scripts(analysis, stage, source_flag.value):
                continue
            yield Hit(
                span=analysis.keyword_span(item),
                message="site-packages is copied without the console scripts in bin/ and "
                "the interpreter it was built for; copy the whole virtual environment",
            )


def _whole_site_packages(source: str) -> bool:
    """``.../site-packages``, ``.../site-packages/`` or ``.../site-packages/*``."""
    return source.rstrip("/*").endswith("site-packages")


def _same_python_with_scripts(analysis: Analysis, stage: Stage, source: str) -> bool:
    """Both stages start from the same image, and the scripts come along (a ``bin/``
    copied from the same stage) or the container starts Python itself."""
    builder = analysis.dockerfile.stage_named(source)
    if builder is None:
        return False
    built, runs = analysis.root_image(builder), analysis.root_image(stage)
    if built != runs:
        from uvdock.lint.rules.images import image_libc, image_python  # noqa: PLC0415

        same_python = image_python(built) is not None and image_python(built) == image_python(runs)
        if not same_python or image_libc(built) != image_libc(runs) or image_libc(built) is None:
            return False
    for other in stage.instructions:
        other_source = other.flag("from")
        if other.keyword != "COPY" or other_source is None or other_source.value != source:
            continue
        if any(s.rstrip("/").endswith("/bin") or "/bin/" in s for s in copy_sources(other)):
            return True
    final = analysis.final
    if final is None or stage is not final:
        return False
    starts = [i for i in final.instructions if i.keyword in ("ENTRYPOINT", "CMD")]
    argv = _start_command(starts[-1]) if starts else ()
    return program(argv).startswith("python")


UNPINNED_PROGRAMS = ("uv", "uvx", "pip", "pip3", "pipx")


def _package_args(command_words: tuple[str, ...], *, keep_uv: bool = False) -> list[str]:
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


# A git reference that moves: no reference at all, or a branch name.
MOVING_GIT_REFS = frozenset({"main", "master", "develop", "dev", "trunk", "head", "latest",
                             "stable", "nightly"})  # fmt: skip


def _pinned(spec: str) -> bool:
    spec = spec.strip("'\"")
    url = spec.split(" @ ", 1)[-1].strip() if " @ " in spec else spec
    if url.startswith("git+"):
        tail = url.split("#", 1)[0].rsplit("/", 1)[-1]
        ref = tail.rsplit("@", 1)[1] if "@" in tail else ""
        return bool(ref) and ref.lower() not in MOVING_GIT_REFS
    if spec.startswith((".", "/", "~", "http://", "https://", "file:", "$")) or "/" in spec:
        return True  # a path, a URL or a variable: not a registry name
    if spec.endswith((".whl", ".tar.gz", ".zip")):
        return True
    return "==" in spec or "@" in spec or "===" in spec


@rule(
    "UV112",
    "unpinned-package",
    "warning",
    summary="`uv pip install`, `uv tool install`, `uvx` or `pip install` of a package "
    "without a version",
    why="""
A package installed by name alone gets whatever version is newest on the day of the
build: two builds of the same Dockerfile differ, and a broken release breaks the image
without a change on your side. Pin the version (`ruff==0.8.4`, `uvx ruff@0.8.4`), or
better, add the package to `pyproject.toml` so `uv.lock` pins it with hashes.
""",
    bad="RUN uv pip install --system gunicorn",
    good="RUN uv pip install --system gunicorn==23.0.0",
    source='hadolint DL3013 (pip); uv docs, "Tools" (`uvx tool@version`)',
    aliases=("DL3013",),
)
def unpinned_package(analysis: Analysis) -> Iterator[Hit]:
    for _, command in analysis.commands:
        words = as_pip(command.words) or command.words
        if program(words) not in UNPINNED_PROGRAMS:
            continue
        loose = [p for p in _package_args(words) if not _pinned(p)]
        if loose:
            yield Hit(
                span=analysis.keyword_span(command.instruction),
                message=f"{', '.join(loose)} installed without a pinned version: builds change "
                "when a new release appears; pin it (name==version) or add it to pyproject.toml",
            )
    yield from _unpinned_tool_at_start(analysis)


def _unpinned_tool_at_start(analysis: Analysis) -> Iterator[Hit]:
    """``CMD uvx tool``: the newest release is fetched when the container starts."""
    from uvdock.lint.rules.runtime import start_commands  # noqa: PLC0415

    final = analysis.final
    if final is None:
        return
    where, started = start_commands(analysis, final)
    for argv in started:
        if program(argv) != "uvx" and uv_subcommand(argv) != ("tool", "run"):
            continue
        loose = [p for p in _package_args(argv) if not _pinned(p)]
        if loose and where is not None:
            yield Hit(
                span=analysis.keyword_span(where),
                message=f"the container runs {loose[0]} through uvx without a version: each "
                f"start fetches the newest release; pin it ({loose[0]}@X.Y.Z) or install it "
                "in the image",
            )


@rule(
    "UV115",
    "lockfile-ignored",
    "warning",
    summary="dependencies resolved again instead of installed from `uv.lock`",
    why="""
`uv pip install -r pyproject.toml` resolves the project's dependencies again at build
time, and `pip install -r requirements.txt` installs a different list from the one in
`uv.lock`: either way, the image does not contain what the lock (and your tests) say.
With a `uv.lock` in the project, install with `uv sync --locked`.
""",
    bad="RUN uv pip install --system -r pyproject.toml",
    good="""
RUN --mount=type=bind,source=uv.lock,target=uv.lock \\
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \\
    uv sync --locked --no-install-project --no-dev
""",
    source=f'{UV_GUIDE}; uv docs, "Locking and syncing"',
)
def lockfile_ignored(analysis: Analysis) -> Iterator[Hit]:
    for stage, command in analysis.commands:
        words = as_pip(command.words) or command.words
        sub = uv_subcommand(words)
        is_pip = program(words) == "pip" and "install" in words
        if sub not in (("pip", "install"), ("pip", "sync")) and not is_pip:
            continue
        files = _requirement_files(words)
        if sub == ("pip", "sync"):
            files += [w for w in words[words.index("sync") + 1 :] if not w.startswith("-")]
        no_lock = analysis.context.root is not None and not analysis.context.has_uv_lock
        if any(f.endswith("pyproject.toml") for f in files) and not no_lock:
            yield Hit(
                span=analysis.keyword_span(command.instruction),
                message="installing from pyproject.toml resolves the dependencies again and "
                "ignores uv.lock; install with `uv sync --locked`",
            )
            continue
        from_source = "." in words and (is_pip or sub == ("pip", "install"))
        if not analysis.context.has_uv_lock or not (files or from_source):
            continue
        if _lock_exact(analysis, command, files) or "-" in files:
            continue  # hashed/exported, or a generated list on stdin (not the project's)
        if any(
            uv_subcommand(other.words) == ("sync",)
            for other in analysis.earlier_commands(stage, command)
        ):
            continue  # the lock is installed; this adds packages the lock does not hold
        if _guarded_by_missing_file(analysis, command, files):
            continue
        yield Hit(
            span=analysis.keyword_span(command.instruction),
            message="the project has a uv.lock, but this installs from "
            f"{', '.join(files) or 'the source'} instead; install with `uv sync --locked`",
        )


def _guarded_by_missing_file(analysis: Analysis, command: Command, files: list[str]) -> bool:
    """``if [ -f requirements.txt ]; then ... -r requirements.txt``, and the context has no
    such file (nor does the build write it): the command never runs."""
    root = analysis.context.root
    if root is None:
        return False
    script = command.instruction.args + "".join(h.content for h in command.instruction.heredocs)
    tested = set(re.findall(r"(?:\[|\btest)\s+-[fe]\s+[\"']?([\w./-]+)", script))
    return any(name in tested and not (root / name.lstrip("/")).exists() for name in files)


REQUIREMENT_OPTIONS = ("-r", "--requirement", "--requirements")


def _requirement_files(words: Sequence[str]) -> list[str]:
    files = [words[i + 1] for i, w in enumerate(words[:-1]) if w in REQUIREMENT_OPTIONS]
    files += [
        w.split("=", 1)[1]
        for w in words
        if "=" in w and w.split("=", 1)[0] in REQUIREMENT_OPTIONS[1:]
    ]
    return files


def _lock_exact(analysis: Analysis, command: Command, files: list[str]) -> bool:
    """Whether the requirements are uv.lock exported: with hashes that pin every file
    (``--require-hashes``), written by ``uv export`` in the build, or committed as
    ``uv export`` wrote them (its header says so)."""
    if has_flag(command.words, "--require-hashes") or any(
        env_true(command.env, name) for name in ("UV_REQUIRE_HASHES", "PIP_REQUIRE_HASHES")
    ):
        return True
    if not files:
        return False
    names = {f.rsplit("/", 1)[-1] for f in files}
    for _, other in analysis.commands:
        if other is command:
            break
        if uv_subcommand(other.words) == ("export",) and any(
            name in other.shell.text for name in names
        ):
            return True
    root = analysis.context.root
    if root is None:
        return False
    for name in files:
        head = (read_small(root / name.lstrip("/")) or "")[:400]
        if "uv export" not in head:
            return False
    return True


def _has_venv(analysis: Analysis, stage: Stage, before: Command) -> bool:
    """A venv made earlier in the stage (or its parents), the same RUN included."""
    for command in analysis.earlier_commands(stage, before):
        words = command.words
        if uv_subcommand(words) in (("venv",), ("sync",)):
            return True
        if program(words).startswith("python") and "venv" in words:
            return True
        if program(words) == "virtualenv":
            return True
    return False


@rule(
    "UV117",
    "pip-install-without-environment",
    "error",
    summary="`uv pip install` with no virtual environment and no `--system`",
    why="""
Unlike pip, `uv pip install` never installs into the system Python by default: without
an active or `.venv` virtual environment, `--system`, `--python` or `UV_SYSTEM_PYTHON=1`
it stops with "No virtual environment found". Create a venv first (`uv venv`, or better
`uv sync --locked`), or say `--system` explicitly.
""",
    bad="RUN uv pip install -r requirements.txt",
    good="""
RUN uv venv /opt/venv
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH
RUN uv pip install -r requirements.txt
""",
    source='uv docs, "Using environments" (uv pip and virtual environments)',
)
def pip_install_without_environment(analysis: Analysis) -> Iterator[Hit]:
    for stage, command in analysis.commands:
        if uv_subcommand(command.words) not in (("pip", "install"), ("pip", "sync")):
            continue
        words = command.words
        if command.opaque or has_flag(words, "--system", "--python", "-p", "--target", "--prefix"):
            continue
        env = command.env
        if env_true(env, "UV_SYSTEM_PYTHON") or env.get("VIRTUAL_ENV") or env.get("UV_PYTHON"):
            continue
        if not known_image(analysis.root_image(stage)):
            continue
        if _has_venv(analysis, stage, command):
            continue
        yield Hit(
            span=analysis.keyword_span(command.instruction),
            message='`uv pip install` with no virtual environment fails ("No virtual '
            'environment found"); create one with `uv venv` (or `uv sync`), or pass --system',
        )
