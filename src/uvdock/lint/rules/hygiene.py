"""Rules about Dockerfile hygiene that matter for Python images: apt, apk, ADD, paths, names."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from uvdock.dockerfile.syntax import Instruction, Stage
from uvdock.lint.findings import Edit
from uvdock.lint.rules.base import Analysis, Command, Hit, insert_after, one_hit_per_run, rule
from uvdock.lint.rules.variables import meant_variable
from uvdock.lint.rules.words import as_pip, known_image, program

# apt-get options that take a value: the word after them is not the subcommand.
APT_VALUE_OPTIONS = frozenset({"-o", "--option", "-c", "--config-file", "-t",
                               "--target-release", "--default-release", "-a",
                               "--host-architecture"})  # fmt: skip
# A line of apt configuration that turns recommends off, as written into apt.conf.d.
APT_NO_RECOMMENDS = re.compile(
    r"""APT::Install-Recommends\s*\\?["']?\s*(?:0|false)\b""", re.IGNORECASE
)


def apt_subcommand(words: tuple[str, ...]) -> str | None:
    """``install``, ``update``... of an ``apt-get``/``apt`` command line, else None."""
    if program(words) not in ("apt-get", "apt"):
        return None
    index = 1
    while index < len(words) and words[index].startswith("-"):
        index += 2 if words[index] in APT_VALUE_OPTIONS else 1
    return words[index] if index < len(words) else None


def final_image_commands(analysis: Analysis) -> Iterator[tuple[Stage, Command]]:
    """The commands of the stages whose layers are the final image's (none without a final
    stage): what they leave behind ships with the image."""
    final = analysis.final
    if final is None:
        return
    image_stages = {s.index for s in analysis.lineage(final)}
    yield from ((s, c) for s, c in analysis.commands if s.index in image_stages)


def _text_before(command: Command) -> str:
    """The script of the command's RUN up to the command (the whole RUN when unknown)."""
    item, shell = command.instruction, command.shell
    if shell.offsets is None or shell.depth:
        return ""
    if command.heredoc is None:
        return item.args[: shell.offsets[0]]
    return item.args + command.heredoc.content[: shell.offsets[0]]


@functools.lru_cache(maxsize=8)
def _configures_no_recommends(text: str) -> bool:
    return "/etc/apt/apt.conf" in text and bool(APT_NO_RECOMMENDS.search(text))


def _recommends_off(analysis: Analysis, stage: Stage, command: Command) -> bool:
    """Whether an earlier RUN of the stage's lineage (or this RUN before the command) writes
    ``APT::Install-Recommends "0"`` (or ``"false"``) into apt's configuration."""
    if not _configures_no_recommends(analysis.dockerfile.text):
        return False  # no RUN does: the usual case, decided once per file
    for member in analysis.lineage(stage):
        for item in member.instructions:
            if item is command.instruction:
                text = _text_before(command)
            elif item.keyword == "RUN":
                text = item.args + "".join(h.content for h in item.heredocs)
            else:
                continue
            if "/etc/apt/apt.conf" in text and APT_NO_RECOMMENDS.search(text):
                return True
            if item is command.instruction:
                break
    return False


@rule(
    "PY211",
    "apt-install-recommends",
    "info",
    summary="`apt-get install` without `--no-install-recommends`",
    why="""
By default apt also installs every package the requested ones "recommend": often tens
of megabytes (documentation tools, extra libraries) that the image never uses.
`--no-install-recommends` installs what is required and nothing else. An earlier `RUN`
that writes `APT::Install-Recommends "0"` into `/etc/apt/apt.conf.d` does the same for
every later install, which is then left alone.
""",
    bad="RUN apt-get update && apt-get install -y libpq5",
    good="RUN apt-get update && apt-get install -y --no-install-recommends libpq5",
    source='Docker docs, "Best practices: apt-get"; hadolint DL3015',
    aliases=("DL3015",),
    fixable=True,
)
def apt_install_recommends(analysis: Analysis) -> Iterator[Hit]:
    for stage, command in analysis.commands:
        words = command.words
        if apt_subcommand(words) != "install":
            continue
        if "--no-install-recommends" in words or any("Install-Recommends" in w for w in words):
            continue
        if _recommends_off(analysis, stage, command):
            continue
        # The fix goes right after this command's own `install` (`apt-get -y install` too).
        install = analysis.words_span(command, "install")
        span = analysis.words_span(command, command.argv[0], "install") or install
        yield Hit(
            span=span or analysis.command_span(command),
            message="apt-get install without --no-install-recommends pulls in recommended "
            "packages the image does not need; add --no-install-recommends",
            fix=(insert_after(install, " --no-install-recommends"),) if install else (),
        )


@rule(
    "PY212",
    "apt-lists-kept",
    "info",
    summary="`apt-get update` whose package lists stay in the final image",
    why="""
`apt-get update` downloads package lists (about 20 MB for Debian) into
`/var/lib/apt/lists`. Unless the same `RUN` removes them (or they live in a cache
mount), they stay in the layer of every image built from it.
""",
    bad="RUN apt-get update && apt-get install -y --no-install-recommends libpq5",
    good="""
RUN apt-get update \\
    && apt-get install -y --no-install-recommends libpq5 \\
    && rm -rf /var/lib/apt/lists/*
""",
    source='Docker docs, "Best practices: apt-get"; hadolint DL3009',
    aliases=("DL3009",),
)
def apt_lists_kept(analysis: Analysis) -> Iterator[Hit]:
    seen: set[int] = set()
    for _, command in final_image_commands(analysis):
        item = command.instruction
        argv = command.argv
        if id(item) in seen:
            continue
        if program(argv) not in ("apt-get", "apt") or "update" not in argv:
            continue
        seen.add(id(item))
        text = item.args + "".join(h.content for h in item.heredocs)
        cached = any(
            m.type == "cache" and (m.target or "").startswith("/var/lib/apt") for m in item.mounts
        )
        if cached or "/var/lib/apt/lists" in text:
            continue
        yield Hit(
            span=analysis.keyword_span(item),
            message="the apt package lists stay in this layer; end the RUN with "
            "`rm -rf /var/lib/apt/lists/*` (or use a cache mount on /var/lib/apt)",
        )


@rule(
    "PY213",
    "add-instead-of-copy",
    "warning",
    summary="`ADD` of local files, where `COPY` is meant",
    why="""
`ADD` also downloads URLs and unpacks local archives. Used for plain files it does
the same as `COPY`, except when a file happens to be a tar archive, which it silently
extracts. `COPY` says what is meant and does only that.
""",
    bad="ADD . /app",
    good="COPY . /app",
    source='Docker docs, "Best practices: ADD or COPY"; hadolint DL3020',
    aliases=("DL3020",),
)
def add_instead_of_copy(analysis: Analysis) -> Iterator[Hit]:
    for item in analysis.dockerfile.instructions:
        if item.keyword != "ADD" or item.heredocs:
            continue
        words = list(item.exec_form) if item.exec_form is not None else item.args.split()
        sources = words[:-1]
        remote = ("http://", "https://", "git@", "git://")
        archive = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar.zst")
        if sources and not any(s.startswith(remote) or s.endswith(archive) for s in sources):
            yield Hit(
                span=analysis.keyword_span(item),
                message="ADD of local files: use COPY (ADD also unpacks archives and fetches URLs)",
            )


@rule(
    "PY214",
    "relative-workdir",
    "warning",
    summary="`WORKDIR` with a relative path",
    why="""
A relative `WORKDIR` is resolved against the previous one, which may come from the base
image: the same Dockerfile then puts files in different places depending on the image.
Use an absolute path.
""",
    bad="WORKDIR app",
    good="WORKDIR /app",
    source="BuildKit check WorkdirRelativePath; hadolint DL3000",
    aliases=("DL3000", "WorkdirRelativePath"),
)
def relative_workdir(analysis: Analysis) -> Iterator[Hit]:
    for item in analysis.dockerfile.instructions:
        path = item.args.strip().strip("\"'")
        if item.keyword == "WORKDIR" and path and not path.startswith(("/", "$")):
            yield Hit(
                span=analysis.keyword_span(item),
                message=f"WORKDIR {path} is relative to whatever the previous WORKDIR was; "
                "use an absolute path",
            )


@rule(
    "PY215",
    "copy-to-relative-without-workdir",
    "info",
    summary="`COPY` to a relative destination before any `WORKDIR`",
    why="""
Without a `WORKDIR`, a relative `COPY` destination is relative to the base image's
working directory (often `/`), so files land in the filesystem root or wherever the base
image chose. Set `WORKDIR` first, or copy to an absolute path.
""",
    bad="""
FROM python:3.13-slim
COPY app/ app/
""",
    good="""
FROM python:3.13-slim
WORKDIR /app
COPY app/ app/
""",
    source="hadolint DL3045",
    aliases=("DL3045",),
)
def copy_to_relative_without_workdir(analysis: Analysis) -> Iterator[Hit]:
    for stage in analysis.stages:
        if not known_image(analysis.root_image(stage)):
            continue  # another base image may set the WORKDIR the COPY relies on
        has_workdir = any(
            i.keyword == "WORKDIR" for s in analysis.lineage(stage)[1:] for i in s.instructions
        )
        for item in stage.instructions:
            if item.keyword == "WORKDIR":
                has_workdir = True
            if item.keyword != "COPY" or has_workdir or item.heredocs:
                continue
            words = list(item.exec_form) if item.exec_form is not None else item.args.split()
            if len(words) >= 2 and not words[-1].startswith(("/", "$")):  # noqa: PLR2004
                yield Hit(
                    span=analysis.keyword_span(item),
                    message=f"COPY to {words[-1]} before any WORKDIR: the destination depends on "
                    "the base image; set WORKDIR first or use an absolute path",
                )


@rule(
    "PY226",
    "apk-cache-kept",
    "info",
    summary="`apk add` without `--no-cache`",
    why="""
`apk add` downloads Alpine's package index into `/var/cache/apk`, where it stays in the
layer (a few megabytes) unless the same `RUN` removes it. `apk add --no-cache` fetches
the index without storing it, so there is nothing to clean up. `apk update` stores the
index too, whatever the `apk add` after it does: drop it (`apk add --no-cache` fetches
a fresh index) or remove `/var/cache/apk/*` in the same `RUN`.
""",
    bad="""
FROM python:3.13-alpine
RUN apk add libpq
""",
    good="""
FROM python:3.13-alpine
RUN apk add --no-cache libpq
""",
    source='hadolint DL3019; Alpine wiki, "Local APK cache"',
    aliases=("DL3019",),
    fixable=True,
)
def apk_cache_kept(analysis: Analysis) -> Iterator[Hit]:
    updated: set[int] = set()  # RUNs reported for their `apk update`
    for _, command in final_image_commands(analysis):
        words = command.words
        if program(words) != "apk":
            continue
        subcommand = [w for w in words[1:] if not w.startswith("-")][:1]
        if subcommand not in (["add"], ["update"]) or "--no-cache" in words:
            continue
        item = command.instruction
        text = item.args + "".join(h.content for h in item.heredocs)
        cached = any(
            m.type == "cache"
            and (m.target or "").rstrip("/") in ("/var/cache/apk", "/etc/apk/cache")
            for m in item.mounts
        )
        if cached or "/var/cache/apk" in text or id(item) in updated:
            continue
        if subcommand == ["update"] or _apk_update_in(analysis, item):
            # `apk update` stores the index whatever `apk add` does afterwards: `--no-cache` on
            # the add alone would leave it, so there is no one-word fix.
            updated.add(id(item))
            update = next((c for _, c in analysis.commands if _is_apk_update(c, item)), command)
            yield Hit(
                span=analysis.command_span(update),
                message="apk update keeps the package index in /var/cache/apk; drop it and use "
                "`apk add --no-cache` (which fetches the index without storing it), or end the "
                "RUN with `rm -rf /var/cache/apk/*`",
            )
            continue
        span = analysis.words_span(command, "apk", "add")
        yield Hit(
            span=span or analysis.keyword_span(item),
            message="apk add keeps the package index in /var/cache/apk; use `apk add --no-cache`",
            fix=(insert_after(span, " --no-cache"),) if span else (),
        )


def _is_apk_update(command: Command, item: Instruction) -> bool:
    words = command.words
    return (
        command.instruction is item
        and program(words) == "apk"
        and [w for w in words[1:] if not w.startswith("-")][:1] == ["update"]
        and "--no-cache" not in words
    )


def _apk_update_in(analysis: Analysis, item: Instruction) -> bool:
    return any(_is_apk_update(c, item) for _, c in analysis.commands)


PIP_CACHE_REMOVED = re.compile(
    r"\bpip3?\s+cache\s+purge\b|"
    r"\brm\b[^;&|\n]*?\s(?:\S*/)?\.cache(?:/pip)?/?(?=\s|$|;|&|\|)"
)


@rule(
    "PY228",
    "pip-cache-in-image",
    "warning",
    summary="`pip install` without `--no-cache-dir` in a stage of the final image",
    why="""
pip keeps every wheel it downloads or builds in its cache (`~/.cache/pip`). In a stage
whose layers are the final image, that cache ships with it, often tens of megabytes
that nothing ever reads again. `pip install --no-cache-dir` (or `PIP_NO_CACHE_DIR=1`)
keeps it out; a BuildKit cache mount on `/root/.cache/pip` keeps it out and makes
rebuilds fast.
""",
    bad="RUN pip install gunicorn==23.0.0",
    good="RUN pip install --no-cache-dir gunicorn==23.0.0",
    source='hadolint DL3042; pip docs, "Caching"',
    aliases=("DL3042",),
    fixable=True,
)
def pip_cache_in_image(analysis: Analysis) -> Iterator[Hit]:
    # One layer, one cache: one finding per RUN, with an edit for each pip install in it.
    yield from one_hit_per_run(
        analysis,
        (
            command
            for stage, command in final_image_commands(analysis)
            if _keeps_pip_cache(analysis, stage, command)
        ),
        message="pip's cache stays in this layer of the final image; add --no-cache-dir "
        "(or a cache mount on /root/.cache/pip)",
        insert=" --no-cache-dir",
        after=lambda _: ("install",),
    )


def _keeps_pip_cache(analysis: Analysis, stage: Stage, command: Command) -> bool:
    words = as_pip(command.words)
    if words is None or "install" not in words or "--help" in words or "-h" in words:
        return False
    if not known_image(analysis.root_image(stage)):
        return False  # another base image may set PIP_NO_CACHE_DIR (Red Hat's s2i images do)
    if command.opaque or "--no-cache-dir" in words or command.env.get("PIP_NO_CACHE_DIR"):
        return False
    item = command.instruction
    cache_dir = command.env.get("PIP_CACHE_DIR", "").rstrip("/")
    mounted = any(
        m.type == "cache"
        and m.target
        and (
            (cache_dir and cache_dir.startswith(m.target.rstrip("/")))
            or m.target.rstrip("/").endswith((".cache", ".cache/pip"))
        )
        for m in item.mounts
    )
    text = item.args + "".join(h.content for h in item.heredocs)
    return not (mounted or PIP_CACHE_REMOVED.search(text))


@rule(
    "PY225",
    "misspelled-variable",
    "warning",
    summary="an ENV/ARG name one or two letters away from a variable Python or uv reads",
    why="""
Python and uv read their settings from exactly spelled variables: `PYTHONBUFFERED=1`,
`PYTHONDONTWRITEBYCODE=1` or `UV_COMPILE_BYTE_CODE=1` are set without an error and
silently do nothing, so the image keeps the behaviour they were meant to change
(buffered logs, `.pyc` files, no bytecode compilation). A name that is not one of
theirs but is at most two letters from one is taken for a typo, unless the Dockerfile
uses it as its own variable (`$NAME`).
""",
    bad="ENV PYTHONBUFFERED=1",
    good="ENV PYTHONUNBUFFERED=1",
    source='Python docs, "Command line and environment"; uv docs, "Environment variables"',
    fixable=True,
)
def misspelled_variable(analysis: Analysis) -> Iterator[Hit]:
    text = analysis.dockerfile.text
    for item in analysis.dockerfile.instructions:
        if item.keyword not in ("ENV", "ARG"):
            continue
        for name, _ in analysis.variables(item):
            meant = meant_variable(name)
            if meant is None or re.search(r"\$\{?" + re.escape(name) + r"\b", text):
                continue
            span = analysis.find_in(item, re.compile(r"(?<![\w$])" + re.escape(name) + r"(?!\w)"))
            yield Hit(
                span=span or analysis.keyword_span(item),
                message=f"{name} is not a variable Python or uv reads, so it does nothing; "
                f"did you mean {meant}?",
                fix=(Edit(span=span, text=meant),) if span else (),
            )
