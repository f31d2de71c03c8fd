"""Rules about installs outside `uv sync` (`uv pip`, pip, `uvx`): pinned (UV112), from
`uv.lock` when there is one (UV115), into an environment (UV117)."""

from __future__ import annotations

from collections.abc import Iterator

from uvdock.dockerfile.syntax import Stage
from uvdock.lint.rules.base import Analysis, Command, Hit, read_small, rule
from uvdock.lint.rules.start import start_commands
from uvdock.lint.rules.uv_common import (
    UV_GUIDE,
    guarded_by_missing_file,
    package_args,
    requirement_files,
)
from uvdock.lint.rules.words import as_pip, env_true, has_flag, known_image, program, uv_subcommand

UNPINNED_PROGRAMS = ("uv", "uvx", "pip", "pip3", "pipx")


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
        loose = [p for p in package_args(words) if not _pinned(p)]
        if loose:
            yield Hit(
                span=analysis.keyword_span(command.instruction),
                message=f"{', '.join(loose)} installed without a pinned version: builds change "
                "when a new release appears; pin it (name==version) or add it to pyproject.toml",
            )
    yield from _unpinned_tool_at_start(analysis)


def _unpinned_tool_at_start(analysis: Analysis) -> Iterator[Hit]:
    """``CMD uvx tool``: the newest release is fetched when the container starts."""

    final = analysis.final
    if final is None:
        return
    where, started = start_commands(analysis, final)
    for argv in started:
        if program(argv) != "uvx" and uv_subcommand(argv) != ("tool", "run"):
            continue
        loose = [p for p in package_args(argv) if not _pinned(p)]
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
        files = requirement_files(words)
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
        if guarded_by_missing_file(analysis, command, files):
            continue
        yield Hit(
            span=analysis.keyword_span(command.instruction),
            message="the project has a uv.lock, but this installs from "
            f"{', '.join(files) or 'the source'} instead; install with `uv sync --locked`",
        )


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
