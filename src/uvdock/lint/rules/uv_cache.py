"""Rules about uv's cache: kept out of the image (UV104), linked from a cache mount by copy
(UV105)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from uvdock.dockerfile import expand
from uvdock.dockerfile.syntax import Stage
from uvdock.lint.rules.base import Analysis, Command, Hit, one_hit_per_run, rule
from uvdock.lint.rules.hygiene import final_image_commands
from uvdock.lint.rules.uv_common import UV_GUIDE, guarded_by_missing_file, requirement_files
from uvdock.lint.rules.words import env_true, has_flag, known_image, uv_subcommand


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
    for stage, command in final_image_commands(analysis):
        if not _writes_uv_cache(command) or command.opaque:
            continue
        if _uv_cache_mounted(command) or _no_cache(command):
            continue
        script = command.instruction.args + "".join(h.content for h in command.instruction.heredocs)
        if CACHE_REMOVED.search(script):
            continue
        if guarded_by_missing_file(analysis, command, requirement_files(command.words)):
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
