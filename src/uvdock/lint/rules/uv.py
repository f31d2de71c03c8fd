"""Rules about how a Dockerfile uses uv: the lockfile, the cache, dev dependencies, start-up."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from uvdock.lint.findings import Edit
from uvdock.lint.rules.base import (
    Analysis,
    Command,
    Hit,
    copy_sources,
    env_true,
    has_flag,
    insert_after,
    program,
    rule,
    uv_subcommand,
)
from uvdock.lint.syntax import Instruction, Stage

UV_GUIDE = "uv's Docker guide, https://docs.astral.sh/uv/guides/integration/docker/"


def _is_locked(command: Command) -> bool:
    argv = command.argv
    return (
        has_flag(argv, "--locked", "--frozen")
        or env_true(command.env, "UV_LOCKED")
        or env_true(command.env, "UV_FROZEN")
    )


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
    bad="RUN uv sync --no-dev",
    good="RUN uv sync --locked --no-dev",
    source=f'{UV_GUIDE} ("Intermediate layers"); uv docs, `uv sync --locked`',
    fixable=True,
)
def sync_without_lock(analysis: Analysis) -> Iterator[Hit]:
    for _, command in analysis.commands:
        sub = uv_subcommand(command.argv)
        if sub not in (("sync",), ("run",)) or _is_locked(command):
            continue
        if sub == ("run",) and has_flag(command.argv, "--no-sync"):
            continue
        word = sub[0]
        span = analysis.find_in(command.instruction, re.compile(rf"\buv\b[^\n]*?\b{word}\b"))
        fix: tuple[Edit, ...] = ()
        if span is not None:
            fix = (insert_after(span, " --locked"),)
        yield Hit(
            span=span or analysis.keyword_span(command.instruction),
            message=f"`uv {word}` without `--locked`: a stale uv.lock is re-resolved silently; "
            "add `--locked` (or `--frozen` to skip the check)",
            fix=fix,
        )


def _whole_context(item: Instruction) -> bool:
    """``COPY . <dest>`` (or ADD) of the whole build context."""
    if item.keyword not in ("COPY", "ADD") or item.flag("from") is not None:
        return False
    words = list(item.exec_form) if item.exec_form is not None else item.args.split()
    return len(words) >= 2 and any(w in (".", "./", "*") for w in words[:-1])  # noqa: PLR2004


def _installs_dependencies(command: Command) -> bool:
    sub = uv_subcommand(command.argv)
    if sub == ("sync",):
        return True
    if sub in (("pip", "install"), ("pip", "sync")):
        return True
    return program(command.argv) in ("pip", "pip3") and "install" in command.argv


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
        installs = analysis.stage_commands(stage)
        copied: Instruction | None = None
        for item in stage.instructions:
            if copied is None and _whole_context(item):
                copied = item
                continue
            if item.keyword != "RUN":
                continue
            own = [c for c in installs if c.instruction is item and _installs_dependencies(c)]
            if not own:
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


def _uv_cache_mounted(command: Command) -> bool:
    cache_dir = command.env.get("UV_CACHE_DIR", "")
    for mount in command.instruction.mounts:
        target = (mount.target or "").rstrip("/")
        if mount.type == "cache" and (".cache/uv" in target or (cache_dir and target == cache_dir)):
            return True
    return False


def _writes_uv_cache(command: Command) -> bool:
    sub = uv_subcommand(command.argv)
    return sub in (("sync",), ("pip", "install"), ("pip", "sync"), ("tool", "install"))


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
    source=f'{UV_GUIDE} ("Caching"); hadolint DL3042 is the pip equivalent',
    aliases=("DL3042",),
)
def uv_cache_in_image(analysis: Analysis) -> Iterator[Hit]:
    final = analysis.final
    if final is None:
        return
    image_stages = {s.index for s in analysis.lineage(final)}
    for stage, command in analysis.commands:
        if stage.index not in image_stages or not _writes_uv_cache(command):
            continue
        if _uv_cache_mounted(command) or has_flag(command.argv, "--no-cache", "-n"):
            continue
        if env_true(command.env, "UV_NO_CACHE"):
            continue
        script = command.instruction.args
        if "uv cache clean" in script or re.search(r"rm -r?f?r?\s+\S*\.cache/uv", script):
            continue
        yield Hit(
            span=analysis.keyword_span(command.instruction),
            message="uv's cache stays in this layer of the final image; add "
            "`--mount=type=cache,target=/root/.cache/uv` (or set UV_NO_CACHE=1)",
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
    for _, command in analysis.commands:
        if not _writes_uv_cache(command) or not _uv_cache_mounted(command):
            continue
        if command.env.get("UV_LINK_MODE", "").lower() == "copy":
            continue
        if has_flag(command.argv, "--link-mode"):
            continue
        sub = uv_subcommand(command.argv) or ("sync",)
        pattern = re.compile(r"\buv\b[^\n]*?\b" + r"\s+".join(sub) + r"\b")
        span = analysis.find_in(command.instruction, pattern)
        yield Hit(
            span=span or analysis.keyword_span(command.instruction),
            message="a uv cache mount without UV_LINK_MODE=copy: uv warns and copies on every "
            "build; set UV_LINK_MODE=copy (or pass --link-mode=copy)",
            fix=(insert_after(span, " --link-mode=copy"),) if span else (),
        )


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
    for stage, command in analysis.commands:
        if stage.index not in analysis.reaching_final:
            continue
        if uv_subcommand(command.argv) != ("sync",):
            continue
        if has_flag(command.argv, *DEV_EXCLUSION_FLAGS) or env_true(command.env, "UV_NO_DEV"):
            continue
        if _excludes_dev_group(command.argv):
            continue
        span = analysis.find_in(command.instruction, re.compile(r"\buv\b[^\n]*?\bsync\b"))
        yield Hit(
            span=span or analysis.keyword_span(command.instruction),
            message="this environment reaches the final image with the dev dependency group; "
            "add --no-dev",
            fix=(insert_after(span, " --no-dev"),) if span else (),
        )


def _excludes_dev_group(argv: Sequence[str]) -> bool:
    """``--no-group dev`` (or ``--no-group=dev``) leaves the dev group out, as --no-dev does."""
    for index, word in enumerate(argv):
        if word == "--no-group" and index + 1 < len(argv) and argv[index + 1] == "dev":
            return True
        if word == "--no-group=dev":
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
    for keyword in ("ENTRYPOINT", "CMD"):
        last = next((i for i in reversed(final.instructions) if i.keyword == keyword), None)
        if last is None:
            continue
        argv = _start_command(last)
        if program(argv) == "uv" and len(argv) > 1 and "run" in argv[1:3]:
            env = analysis.env_before(final, last)
            if has_flag(argv, "--no-sync") or env_true(env, "UV_NO_SYNC"):
                continue
            yield Hit(
                span=analysis.keyword_span(last),
                message=f"{keyword} starts with `uv run`, which syncs the venv at every start; "
                "run the program from the venv (PATH=/app/.venv/bin:$PATH) or add --no-sync",
            )


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
            if item.keyword != "COPY" or item.flag("from") is None:
                continue
            if any("site-packages" in source for source in copy_sources(item)):
                yield Hit(
                    span=analysis.keyword_span(item),
                    message="site-packages is copied without the console scripts in bin/ and "
                    "the interpreter it was built for; copy the whole virtual environment",
                )


UNPINNED_PROGRAMS = ("uv", "uvx", "pip", "pip3", "pipx")


def _package_args(command: Command) -> list[str]:
    """Package arguments of an install command (options and their values skipped)."""
    argv = list(command.argv)
    sub = uv_subcommand(command.shell.argv)
    name = program(command.argv)
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
    takes_value = {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "--python",
                   "-p", "--index-url", "-i", "--extra-index-url", "--target", "--prefix",
                   "--from", "--with", "-w", "--find-links", "-f", "--index"}  # fmt: skip
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word in takes_value:
            skip = True
            if word in ("-r", "--requirement", "-e", "--editable"):
                return []  # installs from a file or a path: not this rule's business
            continue
        if word.startswith("-"):
            continue
        packages.append(word)
        if name == "uvx" or sub == ("tool", "run"):
            break  # the rest are the tool's own arguments
    return packages


def _pinned(spec: str) -> bool:
    if spec.startswith((".", "/", "git+", "http://", "https://", "file:", "$")):
        return True  # a path, a URL or a variable: not a registry name
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
        if program(command.argv) not in UNPINNED_PROGRAMS:
            continue
        loose = [p for p in _package_args(command) if not _pinned(p)]
        if loose:
            yield Hit(
                span=analysis.keyword_span(command.instruction),
                message=f"{', '.join(loose)} installed without a version: builds change when a "
                "new release appears; pin it (name==version) or add it to pyproject.toml",
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
    for _, command in analysis.commands:
        argv = command.argv
        sub = uv_subcommand(argv)
        is_pip = program(argv) in ("pip", "pip3") and "install" in argv
        if sub not in (("pip", "install"), ("pip", "sync")) and not is_pip:
            continue
        files = [argv[i + 1] for i, w in enumerate(argv[:-1]) if w in ("-r", "--requirement")]
        files += [w.split("=", 1)[1] for w in argv if w.startswith("--requirement=")]
        if sub == ("pip", "sync"):
            files += [w for w in argv[argv.index("sync") + 1 :] if not w.startswith("-")]
        if any(f.endswith("pyproject.toml") for f in files):
            yield Hit(
                span=analysis.keyword_span(command.instruction),
                message="installing from pyproject.toml resolves the dependencies again and "
                "ignores uv.lock; install with `uv sync --locked`",
            )
        elif analysis.context.has_uv_lock and (files or (is_pip and "." in argv)):
            yield Hit(
                span=analysis.keyword_span(command.instruction),
                message="the project has a uv.lock, but this installs from "
                f"{', '.join(files) or 'the source'} instead; install with `uv sync --locked`",
            )


def _has_venv(analysis: Analysis, stage: Stage, before: Instruction) -> bool:
    for member in analysis.lineage(stage):
        for command in analysis.stage_commands(member):
            if member is stage and command.instruction.span.start_line >= before.span.start_line:
                break
            if uv_subcommand(command.argv) in (("venv",), ("sync",)):
                return True
            if program(command.argv) in ("python", "python3") and "venv" in command.argv:
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
        if uv_subcommand(command.argv) not in (("pip", "install"), ("pip", "sync")):
            continue
        argv = command.argv
        if has_flag(argv, "--system", "--python", "-p", "--target", "--prefix"):
            continue
        env = command.env
        if env_true(env, "UV_SYSTEM_PYTHON") or env.get("VIRTUAL_ENV") or env.get("UV_PYTHON"):
            continue
        if _has_venv(analysis, stage, command.instruction):
            continue
        yield Hit(
            span=analysis.keyword_span(command.instruction),
            message='`uv pip install` with no virtual environment fails ("No virtual '
            'environment found"); create one with `uv venv` (or `uv sync`), or pass --system',
        )
