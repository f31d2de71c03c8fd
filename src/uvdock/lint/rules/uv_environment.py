"""Rules about the environment the final image runs: without the dev dependencies (UV107),
not synced again at start by `uv run` (UV108), copied whole, not as site-packages (UV109)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from uvdock.dockerfile.syntax import Instruction, Stage
from uvdock.lint.rules.base import (
    Analysis,
    Command,
    Hit,
    for_development,
    insert_after,
    read_small,
    rule,
)
from uvdock.lint.rules.start import start_commands, starts_development_server
from uvdock.lint.rules.uv_common import UV_GUIDE
from uvdock.lint.rules.words import copy_sources, env_true, has_flag, program, uv_subcommand

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
