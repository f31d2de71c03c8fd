"""Rules about Dockerfile hygiene that matter for Python images: apt, ADD, paths."""

from __future__ import annotations

import re
from collections.abc import Iterator

from uvdock.lint.rules.base import Analysis, Hit, insert_after, program, rule


def _apt_installs(analysis: Analysis) -> Iterator[tuple[int, object]]:
    for stage, command in analysis.commands:
        argv = command.argv
        if program(argv) in ("apt-get", "apt") and "install" in argv:
            yield stage.index, command


@rule(
    "PY211",
    "apt-install-recommends",
    "info",
    summary="`apt-get install` without `--no-install-recommends`",
    why="""
By default apt also installs every package the requested ones "recommend": often tens
of megabytes (documentation tools, extra libraries) that the image never uses.
`--no-install-recommends` installs what is required and nothing else.
""",
    bad="RUN apt-get update && apt-get install -y libpq5",
    good="RUN apt-get update && apt-get install -y --no-install-recommends libpq5",
    source='Docker docs, "Best practices: apt-get"; hadolint DL3015',
    aliases=("DL3015",),
    fixable=True,
)
def apt_install_recommends(analysis: Analysis) -> Iterator[Hit]:
    for _, command in analysis.commands:
        argv = command.argv
        if program(argv) not in ("apt-get", "apt") or "install" not in argv:
            continue
        if "--no-install-recommends" in argv or any("Install-Recommends" in w for w in argv):
            continue
        span = analysis.find_in(command.instruction, re.compile(r"\bapt(?:-get)?\s+install\b"))
        yield Hit(
            span=span or analysis.keyword_span(command.instruction),
            message="apt-get install without --no-install-recommends pulls in recommended "
            "packages the image does not need; add --no-install-recommends",
            fix=(insert_after(span, " --no-install-recommends"),) if span else (),
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
    final = analysis.final
    if final is None:
        return
    image_stages = {s.index for s in analysis.lineage(final)}
    seen: set[int] = set()
    for stage, command in analysis.commands:
        item = command.instruction
        argv = command.argv
        if stage.index not in image_stages or id(item) in seen:
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
