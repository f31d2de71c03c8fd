"""The Dockerfile parser: BuildKit's rules, exact positions, and never an exception."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import uvdock.dockerfile as parser
from tests.support.paths import GUIDE, REPO_ROOT
from uvdock.dockerfile import KEYWORDS, expand, key_values, parse_dockerfile, parse_mount
from uvdock.dockerfile.syntax import Dockerfile, Flag, Instruction, Span

GOLDEN = sorted((REPO_ROOT / "tests" / "golden").glob("*/*/Dockerfile*"))


def span(start_line: int, start_col: int, end_line: int, end_col: int) -> Span:
    return Span(start_line=start_line, start_col=start_col, end_line=end_line, end_col=end_col)


def parse(text: str) -> Dockerfile:
    return parse_dockerfile(textwrap.dedent(text).lstrip("\n"))


def only(dockerfile: Dockerfile, keyword: str) -> Instruction:
    found = [i for i in dockerfile.instructions if i.keyword == keyword]
    assert len(found) == 1, found
    return found[0]


def messages(dockerfile: Dockerfile) -> list[str]:
    return [d.message for d in dockerfile.diagnostics]


def source_of(dockerfile: Dockerfile, where: Span) -> str:
    """The text a span covers (lines joined with \\n)."""
    lines = dockerfile.lines
    if where.start_line == where.end_line:
        return lines[where.start_line - 1][where.start_col - 1 : where.end_col - 1]
    parts = [lines[where.start_line - 1][where.start_col - 1 :]]
    parts += lines[where.start_line : where.end_line - 1]
    parts.append(lines[where.end_line - 1][: where.end_col - 1])
    return "\n".join(parts)


def all_spans(dockerfile: Dockerfile) -> list[Span]:
    spans = [d.span for d in dockerfile.diagnostics]
    for item in dockerfile.instructions:
        spans += [item.span, item.args_span]
        spans += [flag.span for flag in item.flags]
        spans += [heredoc.span for heredoc in item.heredocs]
        spans += [item.span_in_args(0, len(item.args)), item.span_in_args(len(item.args), 0)]
    return spans


def assert_inside(dockerfile: Dockerfile, where: Span) -> None:
    lines = dockerfile.lines or ("",)
    assert 1 <= where.start_line <= where.end_line <= len(lines), where
    assert 1 <= where.start_col <= len(lines[where.start_line - 1]) + 1, where
    assert 1 <= where.end_col <= len(lines[where.end_line - 1]) + 1, where
    if where.start_line == where.end_line:
        assert where.start_col <= where.end_col, where


# ---------------------------------------------------------------------------
# uvdock's own Dockerfiles


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: str(p.relative_to(REPO_ROOT / "tests")))
def test_golden_dockerfiles_parse_cleanly(path: Path) -> None:
    text = path.read_text()
    dockerfile = parse_dockerfile(text, path=str(path))
    assert dockerfile.diagnostics == ()
    expected = [
        m.group(1).lower() if m.group(1) else None
        for m in re.finditer(r"^FROM \S+(?: AS (\S+))?$", text, re.MULTILINE)
    ]
    assert [stage.name for stage in dockerfile.stages] == expected
    assert [s.index for s in dockerfile.stages] == list(range(len(expected)))
    assert dockerfile.final_stage is not None
    assert dockerfile.final_stage.name is None
    for item in dockerfile.instructions:
        assert item.stage is not None
        assert source_of(dockerfile, item.span).startswith(item.keyword_text)
        for where in all_spans(dockerfile):
            assert_inside(dockerfile, where)


GENERATED_RUN = """\
FROM builder AS project
COPY . /app
RUN --mount=type=cache,target=/root/.cache/uv \\
    UV_COMPILE_BYTECODE=0 \\
    uv sync --locked --no-dev --no-editable --no-build-isolation \\
    && /app/.venv/bin/python -I - ws-app ws-core <<'PY'
import importlib.metadata, os, sys
for name in sys.argv[1:]:
    print(name)
PY

FROM python:3.13-slim-trixie
"""


def test_heredoc_after_a_continued_line() -> None:
    dockerfile = parse_dockerfile(GENERATED_RUN)
    assert dockerfile.diagnostics == ()
    run = dockerfile.instructions[2]
    assert run.span == span(3, 1, 10, 3)
    assert [(f.name, f.value, f.span) for f in run.flags] == [
        ("mount", "type=cache,target=/root/.cache/uv", span(3, 5, 3, 46))
    ]
    assert run.args == (
        "UV_COMPILE_BYTECODE=0 "
        "    uv sync --locked --no-dev --no-editable --no-build-isolation "
        "    && /app/.venv/bin/python -I - ws-app ws-core <<'PY'"
    )
    assert run.args_span == span(4, 5, 6, 56)
    (heredoc,) = run.heredocs
    assert (heredoc.name, heredoc.expand, heredoc.strip_tabs) == ("PY", False, False)
    assert heredoc.span == span(7, 1, 10, 3)
    assert heredoc.content == (
        "import importlib.metadata, os, sys\nfor name in sys.argv[1:]:\n    print(name)\n"
    )
    assert dockerfile.stages[-1].from_instruction.span == span(12, 1, 12, 29)
    where = run.args.index("uv sync")
    assert run.span_in_args(where, where + 7) == span(5, 5, 5, 12)


def test_golden_heredoc_after_a_continued_line() -> None:
    text = (REPO_ROOT / "tests/golden/uv-workspace/custom/Dockerfile").read_text()
    lines = text.splitlines()
    marker = next(n for n, line in enumerate(lines, 1) if line.endswith("<<'PY'"))
    first = max(n for n, line in enumerate(lines[:marker], 1) if line.startswith("RUN "))
    last = next(n for n, line in enumerate(lines, 1) if n > marker and line == "PY")
    dockerfile = parse_dockerfile(text)
    run = next(i for i in dockerfile.instructions if i.heredocs)
    assert run.span == span(first, 1, last, 3)
    assert run.args.endswith("<<'PY'")
    (heredoc,) = run.heredocs
    assert heredoc.span == span(marker + 1, 1, last, 3)
    assert heredoc.content == "".join(f"{line}\n" for line in lines[marker : last - 1])
    assert heredoc.expand is False


def test_golden_flags_mounts_and_comments() -> None:
    text = (REPO_ROOT / "tests/golden/private-index/custom/Dockerfile").read_text()
    lines = text.splitlines()
    dockerfile = parse_dockerfile(text)
    builder = dockerfile.stage_named("builder")
    assert builder is not None
    assert builder.base == builder.base_resolved == "python:3.13-slim-trixie"
    run = next(i for i in builder.instructions if i.keyword == "RUN" and len(i.flags) > 3)
    above = lines[run.span.start_line - 2]
    assert above.startswith("# ")
    assert run.comments[-1].text == above[2:]
    assert run.comments[-1].line == run.span.start_line - 1
    mounts = [(m.type, m.target, m.source, m.id) for m in run.mounts]
    assert ("cache", "/root/.cache/uv", None, None) in mounts
    assert ("bind", "uv.lock", "uv.lock", None) in mounts
    secret = next(m for m in run.mounts if m.type == "secret")
    assert secret.fields["required"] == "true"
    assert secret.target == f"/run/secrets/{secret.id}"
    for flag in run.flags:
        assert source_of(dockerfile, flag.span) == f"--{flag.name}={flag.value}"
    copy = next(i for i in builder.instructions if i.keyword == "COPY")
    from_flag = copy.flag("from")
    assert from_flag is not None
    assert from_flag.value == "uv"
    assert source_of(dockerfile, from_flag.span) == "--from=uv"
    assert dockerfile.stage_named("uv") is dockerfile.stages[0]
    assert dockerfile.stage_named("0") is dockerfile.stages[0]
    assert dockerfile.stage_named("7") is None


def test_golden_healthcheck() -> None:
    path = REPO_ROOT / "tests/golden/django-site/custom/Dockerfile"
    dockerfile = parse_dockerfile(path.read_text())
    check = only(dockerfile, "HEALTHCHECK")
    assert [(f.name, f.value) for f in check.flags] == [
        ("interval", "30s"),
        ("timeout", "5s"),
        ("start-period", "10s"),
        ("retries", "3"),
    ]
    assert check.args.startswith('CMD ["python", "-c", "import urllib.request;')
    assert check.exec_form is not None
    assert check.exec_form[:2] == ("python", "-c")


# ---------------------------------------------------------------------------
# Directives and comments


def test_directives_at_the_top() -> None:
    dockerfile = parse(
        """
        # syntax=docker/dockerfile:1
        #CHECK = skip=JSONArgsRecommended;error=true
        # Escape=`
        # syntax=not-a-directive-any-more?
        FROM alpine
        RUN echo a `
            b
        """
    )
    assert [(d.name, d.value, d.line) for d in dockerfile.directives] == [
        ("syntax", "docker/dockerfile:1", 1),
        ("check", "skip=JSONArgsRecommended;error=true", 2),
        ("escape", "`", 3),
    ]
    assert dockerfile.directive("check") is not None
    assert dockerfile.directive("nope") is None
    assert dockerfile.escape == "`"
    assert messages(dockerfile) == ["only one syntax parser directive can be used"]
    run = only(dockerfile, "RUN")
    assert run.args == "echo a     b"
    assert run.span == span(6, 1, 7, 6)
    # the directives are not comments, and the last line is no comment either
    assert dockerfile.comments == ()


def test_directives_end_at_a_comment_blank_line_or_instruction() -> None:
    dockerfile = parse(
        """
        # a comment first
        # escape=`
        FROM alpine
        """
    )
    assert dockerfile.directives == ()
    assert dockerfile.escape == "\\"
    assert [(c.line, c.text) for c in dockerfile.comments] == [
        (1, "a comment first"),
        (2, "escape=`"),
    ]
    blank = parse_dockerfile("\n# escape=`\nFROM a\n")
    assert blank.directives == ()
    after = parse_dockerfile("FROM a\n# syntax=x\n")
    assert after.directives == ()
    assert [c.text for c in after.comments] == ["syntax=x"]
    unknown = parse_dockerfile("# foo=bar\n# escape=`\nFROM a\n")
    assert unknown.directives == ()


def test_invalid_escape_directive_is_reported() -> None:
    dockerfile = parse_dockerfile("# escape=x\nFROM a\n")
    assert dockerfile.escape == "\\"
    assert messages(dockerfile) == ["invalid escape token 'x' does not match ` or \\"]
    assert dockerfile.diagnostics[0].span == span(1, 1, 1, 11)


def test_comments_directly_above_an_instruction() -> None:
    dockerfile = parse(
        """
        FROM python:3.13-slim
        # far away

        # uvdock: ignore=UV102
        # hadolint ignore=DL3008
        RUN apt-get install -y curl \\
            # inside the continuation
            && true
        RUN x
        """
    )
    first, second = dockerfile.stages[0].instructions
    assert [(c.line, c.text) for c in first.comments] == [
        (4, "uvdock: ignore=UV102"),
        (5, "hadolint ignore=DL3008"),
    ]
    assert first.args == "apt-get install -y curl     && true"
    assert first.span == span(6, 1, 8, 12)
    assert second.comments == ()
    assert [(c.line, c.text) for c in dockerfile.comments] == [
        (2, "far away"),
        (4, "uvdock: ignore=UV102"),
        (5, "hadolint ignore=DL3008"),
        (7, "inside the continuation"),
    ]


# ---------------------------------------------------------------------------
# Continuations


def test_continuation_skips_comment_and_blank_lines() -> None:
    dockerfile = parse_dockerfile("FROM a\nRUN one \\\n\n  # note\n   two \\\n\t\n  three\nRUN x\n")
    run = dockerfile.instructions[1]
    assert run.args == "one    two   three"
    assert run.span == span(2, 1, 7, 8)
    assert run.args_span == span(2, 5, 7, 8)
    assert run.empty_continuation_lines == (3, 6)
    assert run.args_segments == ((0, 2, 5), (4, 5, 1), (11, 7, 1))
    assert run.span_in_args(4, 10) == span(5, 1, 5, 7)
    assert source_of(dockerfile, run.span_in_args(4, 10)) == "   two"
    assert run.span_in_args(0, 99) == run.args_span
    assert dockerfile.instructions[2].span.start_line == 8
    assert dockerfile.diagnostics == ()


def test_continuation_rules() -> None:
    dockerfile = parse_dockerfile("FROM a\nRUN a\\\\\nRUN b \\  \t\n c\nRUN d\\\\\\\nRUN e \\\n")
    keywords = [(i.keyword, i.args, i.span.start_line) for i in dockerfile.instructions]
    assert keywords == [
        ("FROM", "a", 1),
        ("RUN", "a\\\\", 2),  # an escaped escape is no continuation
        ("RUN", "b  c", 3),  # blanks after the escape are allowed
        ("RUN", "d\\\\\\", 5),  # BuildKit's regex: "\\\\\\" is no continuation either
        ("RUN", "e", 6),  # continued into the end of the file
    ]
    assert dockerfile.instructions[-1].span == span(6, 1, 6, 8)


def test_crlf_bom_and_tabs() -> None:
    text = "\ufeffFROM\talpine AS Base\r\n\tRUN  echo \\\r\n  hi\r\nCMD é  x\r\n"
    dockerfile = parse_dockerfile(text)
    assert dockerfile.text == text[1:]
    assert dockerfile.lines == ("FROM\talpine AS Base", "\tRUN  echo \\", "  hi", "CMD é  x")
    from_, run, cmd = dockerfile.instructions
    assert from_.args_span == span(1, 6, 1, 20)
    assert dockerfile.stages[0].name == "base"
    assert run.span == span(2, 2, 3, 5)
    assert run.args == "echo   hi"
    assert run.args_span == span(2, 7, 3, 5)
    assert cmd.args == "é  x"
    assert cmd.args_span == span(4, 5, 4, 9)
    assert dockerfile.diagnostics == ()


# ---------------------------------------------------------------------------
# Heredocs


def test_heredoc_forms() -> None:
    dockerfile = parse_dockerfile(
        "FROM a\n"
        "RUN <<EOF\n"
        "# not a comment\n"
        "RUN not an instruction\n"
        "EOF\n"
        "RUN <<-'X' cat && 3<<\"Y\" cat\n"
        "\t\tfoo\n"
        "\tX\n"
        "\tbar\n"
        "Y\n"
        "COPY <<one.txt <<two.txt /dest/\n"
        "1\n"
        "one.txt\n"
        "two.txt\n"
        "RUN echo done\n"
    )
    assert dockerfile.diagnostics == ()
    assert dockerfile.comments == ()
    first, second, copy, last = dockerfile.instructions[1:]
    assert first.args == "<<EOF"
    assert first.span == span(2, 1, 5, 4)
    (body,) = first.heredocs
    assert (body.name, body.content, body.expand, body.strip_tabs) == (
        "EOF",
        "# not a comment\nRUN not an instruction\n",
        True,
        False,
    )
    assert body.span == span(3, 1, 5, 4)
    x, y = second.heredocs
    assert (x.name, x.content, x.expand, x.strip_tabs, x.span) == (
        "X",
        "foo\n",
        False,
        True,
        span(7, 1, 8, 3),
    )
    assert (y.name, y.content, y.expand, y.strip_tabs, y.span) == (
        "Y",
        "\tbar\n",
        False,
        False,
        span(9, 1, 10, 2),
    )
    assert [(h.name, h.content, h.span) for h in copy.heredocs] == [
        ("one.txt", "1\n", span(12, 1, 13, 8)),
        ("two.txt", "", span(14, 1, 14, 8)),
    ]
    assert last.span.start_line == 15


def test_heredoc_not_recognised() -> None:
    dockerfile = parse_dockerfile(
        'FROM a\nRUN ["cat", "<<EOF"]\nRUN cat<<EOF\nRUN echo "<<EOF"\nCMD cat <<EOF\nRUN x\n'
    )
    assert [i.heredocs for i in dockerfile.instructions] == [()] * 6
    assert dockerfile.diagnostics == ()


def test_heredoc_terminator_must_match_exactly() -> None:
    dockerfile = parse_dockerfile("FROM a\nRUN <<EOF\n  EOF\nEOF \nEOF\r\nRUN b\n")
    run = dockerfile.instructions[1]
    assert run.heredocs[0].content == "  EOF\nEOF \n"
    assert run.span == span(2, 1, 5, 4)
    assert dockerfile.instructions[2].args == "b"


def test_unterminated_heredoc_is_a_diagnostic() -> None:
    dockerfile = parse_dockerfile("FROM a\nRUN cat <<EOF >/x\nline\nRUN other\n")
    assert len(dockerfile.instructions) == 2
    run = dockerfile.instructions[1]
    assert run.heredocs[0].content == "line\nRUN other\n"
    assert run.span == span(2, 1, 4, 10)
    assert messages(dockerfile) == ["unterminated heredoc: no line 'EOF' ends it"]
    assert dockerfile.diagnostics[0].span == span(2, 1, 4, 10)
    at_end = parse_dockerfile("FROM a\nRUN <<EOF")
    assert at_end.instructions[1].heredocs[0].span == span(2, 10, 2, 10)
    assert messages(at_end) == ["unterminated heredoc: no line 'EOF' ends it"]


def test_onbuild_heredoc() -> None:
    dockerfile = parse_dockerfile("FROM a\nONBUILD RUN <<EOF\necho\nEOF\nONBUILD CMD x\n")
    onbuild = dockerfile.instructions[1]
    assert onbuild.args == "RUN <<EOF"
    assert onbuild.exec_form is None
    assert onbuild.heredocs[0].content == "echo\n"
    assert dockerfile.instructions[2].args == "CMD x"


# ---------------------------------------------------------------------------
# Exec form, flags and mounts


def test_exec_form_follows_buildkit() -> None:
    dockerfile = parse(
        """
        FROM a
        CMD ["python", "-m", "app"]
        ENTRYPOINT ['python']
        RUN [ "a" , "b" ]
        SHELL ["/bin/bash", "-o", "pipefail", "-c"]
        VOLUME ["/data"]
        COPY ["a b", "/c/"]
        LABEL ["x"]
        CMD []
        CMD ["a", 1]
        HEALTHCHECK CMD curl -f http://localhost/ || exit 1
        """
    )
    forms = [(i.keyword, i.exec_form) for i in dockerfile.instructions[1:]]
    assert forms == [
        ("CMD", ("python", "-m", "app")),
        ("ENTRYPOINT", None),  # single quotes: not JSON, so shell form
        ("RUN", ("a", "b")),
        ("SHELL", ("/bin/bash", "-o", "pipefail", "-c")),
        ("VOLUME", ("/data",)),
        ("COPY", ("a b", "/c/")),
        ("LABEL", None),
        ("CMD", ()),
        ("CMD", None),
        ("HEALTHCHECK", None),
    ]
    assert messages(dockerfile) == [
        "LABEL must have two arguments",
        "when using JSON array syntax, arrays must be comprised of strings only",
    ]


def test_flags_with_exact_spans() -> None:
    dockerfile = parse(
        """
        FROM --platform=$BUILDPLATFORM python:3.13 AS build
        COPY --from=build --chown="app user" --link --chmod=0755 src/ /app/
        RUN --mount=type=cache,target=/root/.cache/uv \\
            --network=none uv sync
        COPY -- --weird-name /x
        """
    )
    from_, copy, run, weird = dockerfile.instructions
    assert [(f.name, f.value, f.span) for f in from_.flags] == [
        ("platform", "$BUILDPLATFORM", span(1, 6, 1, 31))
    ]
    assert from_.args == "python:3.13 AS build"
    assert from_.args_span == span(1, 32, 1, 52)
    assert [(f.name, f.value, f.span) for f in copy.flags] == [
        ("from", "build", span(2, 6, 2, 18)),
        ("chown", "app user", span(2, 19, 2, 37)),
        ("link", None, span(2, 38, 2, 44)),
        ("chmod", "0755", span(2, 45, 2, 57)),
    ]
    assert copy.args == "src/ /app/"
    assert copy.flag("link") is not None
    assert copy.flag("parents") is None
    assert [(f.name, f.span) for f in run.flags] == [
        ("mount", span(3, 5, 3, 46)),
        ("network", span(4, 5, 4, 19)),
    ]
    assert run.args == "uv sync"
    assert run.args_span == span(4, 20, 4, 27)
    assert weird.flags == ()
    assert weird.args == "--weird-name /x"
    assert dockerfile.diagnostics == ()


def test_flag_problems() -> None:
    dockerfile = parse(
        """
        FROM a
        COPY --from --link=maybe --link --chmod=1 --bogus=1 a b
        WORKDIR --x=1 /app
        STOPSIGNAL --ignored SIGTERM
        HEALTHCHECK --interval=5s NONE
        """
    )
    assert messages(dockerfile) == [
        "COPY missing a value on flag: from",
        "COPY expecting boolean value for flag link, not: maybe",
        "COPY duplicate flag specified: link",
        "COPY unknown flag: bogus",
        "WORKDIR unknown flag: x",
        "HEALTHCHECK unknown flag: interval",
    ]
    assert dockerfile.diagnostics[3].span == span(2, 43, 2, 52)


def test_flag_spanning_a_continuation() -> None:
    dockerfile = parse_dockerfile("FROM a\nRUN --mount=type=cache,\\\ntarget=/x uv sync\n")
    (flag,) = dockerfile.instructions[1].flags
    assert flag.value == "type=cache,target=/x"
    assert flag.span == span(2, 5, 3, 10)


def test_parse_mount() -> None:
    flag = Flag(
        name="mount",
        value='type=Secret,id=tok,dst=/run/s,required,"source=a,b",uid=0,TARGET=/t',
        span=span(1, 1, 1, 2),
    )
    mount = parse_mount(flag)
    assert mount.type == "secret"
    assert mount.fields == {
        "type": "Secret",
        "id": "tok",
        "dst": "/run/s",
        "required": "true",
        "source": "a,b",
        "uid": "0",
        "target": "/t",
    }
    assert mount.target == "/t"
    assert mount.source == "a,b"
    assert mount.id == "tok"
    assert mount.flag is flag
    bind = parse_mount(Flag(name="mount", value="src=x,destination=/y", span=flag.span))
    assert (bind.type, bind.source, bind.target, bind.id) == ("bind", "x", "/y", None)
    empty = parse_mount(Flag(name="mount", value=None, span=flag.span))
    assert (empty.type, empty.fields) == ("bind", {})
    quoted = parse_mount(Flag(name="mount", value='"a""b"x,,c="d', span=flag.span))
    assert quoted.fields == {'a"bx': "true", "c": '"d'}


def test_mount_problems() -> None:
    dockerfile = parse(
        """
        FROM a
        RUN --mount=type=cache,target=/c,sharing=locked,uid=1000 \\
            --mount=type=secret,id=s,env=TOKEN,required \\
            --mount=type=bogus,target=/x \\
            --mount=target=/x,colour=blue,readonly,ro,shiny \\
            --mount=type=cache,required \\
            --mount=\\"bad \\
            --mount= true
        """
    )
    assert messages(dockerfile) == [
        "RUN --mount: unsupported mount type 'bogus'",
        "RUN --mount: unexpected key 'colour' in 'colour=blue'",
        "RUN --mount: invalid field 'shiny' must be a key=value pair",
        "RUN --mount: unexpected key 'required' for mount type 'cache'",
        "RUN --mount: failed to parse csv mounts: '\"bad'",
        "RUN --mount: failed to parse csv mounts: ''",
    ]


# ---------------------------------------------------------------------------
# Stages and arguments


def test_stages_and_global_args() -> None:
    dockerfile = parse(
        """
        ARG PY=3.13
        ARG BASE="python:${PY}-slim" UNSET
        ARG TAG
        FROM ${BASE} AS Builder
        RUN build
        FROM --platform=linux/arm64 builder AS test
        FROM ghcr.io/x/y:${TAG:-latest}
        COPY --from=builder /app /app
        """
    )
    assert dockerfile.diagnostics == ()
    assert [i.args for i in dockerfile.global_args] == [
        "PY=3.13",
        'BASE="python:${PY}-slim" UNSET',
        "TAG",
    ]
    assert [i.stage for i in dockerfile.instructions] == [None, None, None, 0, 0, 1, 2, 2]
    builder, test, final = dockerfile.stages
    assert (builder.index, builder.name, builder.base, builder.base_resolved) == (
        0,
        "builder",
        "${BASE}",
        "python:3.13-slim",
    )
    assert [i.keyword for i in builder.instructions] == ["RUN"]
    assert builder.from_instruction.keyword == "FROM"
    assert (test.name, test.base_stage, test.platform, test.instructions) == (
        "test",
        0,
        "linux/arm64",
        (),
    )
    assert (final.name, final.base_resolved, final.base_stage) == (None, "ghcr.io/x/y:latest", None)
    assert dockerfile.final_stage is final
    assert dockerfile.stage_named("BUILDER") is builder


BEFORE_FROM = (
    "RUN before the first FROM: only ARG may come before FROM "
    "(BuildKit: no build stage in current context)"
)
NO_DESTINATION = (
    "requires at least two arguments, but only one was provided. "
    "Destination could not be determined"
)


def test_stage_problems() -> None:
    dockerfile = parse(
        """
        RUN too early
        FROM a AS 1st
        FROM
        FROM a b
        FROM ${BROKEN
        """
    )
    assert messages(dockerfile) == [
        BEFORE_FROM,
        "invalid name for build stage: '1st', name can't start with a number or contain symbols",
        "FROM requires either one or three arguments",
        "FROM requires either one or three arguments",
        "cannot expand the base image '${BROKEN': syntax error: missing '}'",
    ]
    assert dockerfile.instructions[0].stage is None
    assert dockerfile.global_args == ()
    assert dockerfile.stages[-1].base_resolved == "${BROKEN"


def test_argument_checks() -> None:
    dockerfile = parse(
        """
        FROM a
        COPY onlyone
        ADD ["x"]
        SHELL /bin/sh -c
        SHELL []
        VOLUME ["/a", " "]
        ENV
        ENV KEY
        ENV KEY value with spaces
        ENV A=1 B="two words" C
        LABEL =x
        ARG =x
        USER
        EXPOSE
        HEALTHCHECK NONE x
        HEALTHCHECK CMD
        HEALTHCHECK RUN x
        ONBUILD FROM x
        ONBUILD ONBUILD RUN x
        MAINTAINER me
        """
    )
    assert messages(dockerfile) == [
        f"COPY {NO_DESTINATION}",
        f"ADD {NO_DESTINATION}",
        "SHELL requires the arguments to be in JSON form",
        "SHELL requires at least one argument",
        "VOLUME specified can not be an empty string",
        "ENV requires at least one argument",
        "ENV must have two arguments",
        "Syntax error - can't find = in 'C'. Must be of the form: name=value",
        "LABEL names can not be blank",
        "ARG names can not be blank",
        "USER requires exactly one argument",
        "EXPOSE requires at least one argument",
        "HEALTHCHECK NONE takes no arguments",
        "Missing command after HEALTHCHECK CMD",
        "Unknown type 'RUN' in HEALTHCHECK (try CMD)",
        "FROM isn't allowed as an ONBUILD trigger",
        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
    ]


def test_key_values() -> None:
    dockerfile = parse(
        """
        FROM a
        ENV PATH=/app/.venv/bin:$PATH UV_LINK_MODE="copy" EMPTY= Q='a b'
        ENV LEGACY value with "spaces"
        LABEL org.opencontainers.image.title="ws-app" \\
              other=x\\ y
        ARG SOURCE_DATE_EPOCH VERSION=1.0
        RUN not key values
        """
    )
    env, legacy, label, arg, run = dockerfile.instructions[1:]
    assert key_values(env) == (
        ("PATH", "/app/.venv/bin:$PATH"),
        ("UV_LINK_MODE", "copy"),
        ("EMPTY", ""),
        ("Q", "a b"),
    )
    assert key_values(legacy) == (("LEGACY", "value with spaces"),)
    assert key_values(label) == (("org.opencontainers.image.title", "ws-app"), ("other", "x y"))
    assert key_values(arg) == (("SOURCE_DATE_EPOCH", None), ("VERSION", "1.0"))
    assert key_values(run) == ()
    backtick = parse_dockerfile("# escape=`\nFROM a\nENV A=x`=y B=`$C\n")
    assert key_values(backtick.instructions[1], escape="`") == (("A", "x=y"), ("B", "$C"))


# ---------------------------------------------------------------------------
# Variable substitution


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$A", "1"),
        ("${A}b", "1b"),
        ("$Ab", ""),
        ("${UNSET}", ""),
        ("${UNSET:-default}", "default"),
        ("${EMPTY:-default}", "default"),
        ("${EMPTY-default}", ""),
        ("${UNSET-default}", "default"),
        ("${A:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${A:-${B:-x}}", "1"),
        ("${UNSET:-${B}-x}", "2-x"),
        ("\\$A", "$A"),
        ("'$A'", "$A"),
        ('"$A $B"', "1 2"),
        ('"\\"$A\\""', '"1"'),
        ("a\\ b", "a b"),
        ("$", "$"),
        ("$1", ""),
        ("${V#*.}", "b.c"),
        ("${V##*.}", "c"),
        ("${V%.*}", "a.b"),
        ("${V%%.*}", "a"),
        ("${V/./-}", "a-b.c"),
        ("${V//./-}", "a-b-c"),
        ("python:${PY}-slim", "python:3.13-slim"),
        ("${A", "${A"),  # syntax errors leave the text as it was
        ("${}", "${}"),
        ("'open", "'open"),
        ("${UNSET?must be set}", "${UNSET?must be set}"),
        ("${A?}", "1"),
    ],
)
def test_expand(text: str, expected: str) -> None:
    variables = {"A": "1", "B": "2", "EMPTY": "", "V": "a.b.c", "PY": "3.13"}
    assert expand(text, variables) == expected


def test_expand_options() -> None:
    assert expand("`$A \\x", {"A": "1"}, escape="`") == "$A \\x"
    assert expand("$A ${B} ${C:-d} $D", {"D": "4"}, keep_unset=True) == "$A ${B} ${C:-d} 4"


# ---------------------------------------------------------------------------
# Robustness


def test_empty_and_comment_only_files() -> None:
    empty = parse_dockerfile("")
    assert (empty.lines, empty.instructions, empty.stages) == ((), (), ())
    assert empty.final_stage is None
    assert messages(empty) == ["file with no instructions"]
    assert empty.diagnostics[0].span == span(1, 1, 1, 1)
    comments = parse_dockerfile("# one\n\n   # two\n")
    assert [(c.line, c.text) for c in comments.comments] == [(1, "one"), (3, "two")]
    assert messages(comments) == ["file with no instructions"]


def test_unknown_instruction_is_kept() -> None:
    dockerfile = parse_dockerfile("FROM a\nRUNN echo\nfrom b\nBOGUS_THING\n")
    kept = dockerfile.instructions[1]
    assert (kept.keyword, kept.keyword_text, kept.args, kept.stage) == ("RUNN", "RUNN", "echo", 0)
    assert dockerfile.stages[0].instructions == (kept,)
    assert dockerfile.instructions[2].keyword_text == "from"
    assert messages(dockerfile) == [
        "unknown instruction: RUNN (did you mean RUN?)",
        "unknown instruction: BOGUS_THING",
    ]
    assert dockerfile.diagnostics[0].span == span(2, 1, 2, 5)


def test_binary_input() -> None:
    dockerfile = parse_dockerfile("\x00\x01FROM\x00 a\nRUN \x00\\\n\x00\n\udcff\x7f")
    assert [i.keyword for i in dockerfile.instructions] == ["\x00\x01FROM\x00", "RUN", "\udcff\x7f"]
    for where in all_spans(dockerfile):
        assert_inside(dockerfile, where)


def test_lone_continuation_and_only_arg_files() -> None:
    # The lone escape continues into the ARG; the span starts at the keyword.
    joined = parse_dockerfile("\\\n\nARG A=1\n")
    (arg,) = joined.instructions
    assert (arg.span, arg.empty_continuation_lines) == (span(3, 1, 3, 8), (2,))
    dockerfile = parse_dockerfile("ARG A=1\n\\\n")
    assert messages(dockerfile) == [
        "line continuation without an instruction",
        "no FROM instruction: the Dockerfile has no stage to build",
    ]
    assert [i.keyword for i in dockerfile.global_args] == ["ARG"]


def test_huge_file() -> None:
    text = "\n".join(path.read_text() for path in GOLDEN)
    repeat = 5_000_000 // len(text) + 1
    dockerfile = parse_dockerfile("\n".join([text] * repeat))
    per_copy = sum(len(parse_dockerfile(p.read_text()).instructions) for p in GOLDEN)
    assert len(dockerfile.instructions) == per_copy * repeat
    assert dockerfile.diagnostics == ()
    long_line = parse_dockerfile("FROM a\nRUN " + "x " * 1_000_000)
    assert len(long_line.instructions[1].args) == 1_999_999


def test_guide_dockerfiles() -> None:
    if not GUIDE.is_file():
        pytest.skip(f"{GUIDE} is not here")
    blocks = re.findall(
        r"^[ \t]*```dockerfile[ \t]*\n(.*?)^[ \t]*```", GUIDE.read_text(), re.DOTALL | re.MULTILINE
    )
    assert len(blocks) >= 10
    for block in blocks:
        dockerfile = parse_dockerfile(textwrap.dedent(block))
        assert dockerfile.instructions
        for where in all_spans(dockerfile):
            assert_inside(dockerfile, where)
        if block.lstrip().startswith(("FROM", "# syntax")):
            assert dockerfile.diagnostics == (), block


def test_public_names() -> None:
    assert parser.__all__ == ["KEYWORDS", "expand", "key_values", "parse_dockerfile", "parse_mount"]
    assert "HEALTHCHECK" in KEYWORDS
    assert len(KEYWORDS) == 18


# ---------------------------------------------------------------------------
# Properties

_PIECES = [
    *"FROMRUNCOPYADDenv \t\n\r\\`'\"#<<-[]{}$=,:\x00\ufeff",
    "EOF",
    "--mount=",
    " AS ",
    "RUN <<EOF\n",
    "\nEOF\n",
    "# escape=`\n",
]
_NASTY = st.lists(st.sampled_from(_PIECES), max_size=120).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(_NASTY, st.text(max_size=200)))
def test_never_raises_and_spans_lie_inside(text: str) -> None:
    dockerfile = parse_dockerfile(text)
    for where in all_spans(dockerfile):
        assert_inside(dockerfile, where)
    for item in dockerfile.instructions:
        assert item.keyword == item.keyword_text.upper()
        key_values(item)
        item.mounts  # noqa: B018 - parses the mounts
        expand(item.args, {"A": "1"})


_WORDS = st.lists(
    st.from_regex(r"[a-z0-9][a-z0-9_./:]{0,8}", fullmatch=True), min_size=1, max_size=5
)
_KEYWORD = st.sampled_from(["RUN", "run", "CMD", "Entrypoint", "EXPOSE", "WORKDIR", "USER"])


@st.composite
def _dockerfiles(draw: st.DrawFn) -> tuple[str, list[tuple[str, int, list[str], str | None]]]:
    """A valid Dockerfile and, per instruction: keyword, first line, words, heredoc body."""
    lines = ["FROM python:3.13-slim"]
    expected: list[tuple[str, int, list[str], str | None]] = [
        ("FROM", 1, ["python:3.13-slim"], None)
    ]
    for _ in range(draw(st.integers(0, 8))):
        lines.extend(draw(st.sampled_from([[], [""], ["# a comment"], ["", "# x", ""]])))
        keyword = draw(_KEYWORD)
        words = draw(_WORDS)
        if keyword.upper() in ("WORKDIR", "USER"):
            words = words[:1]
        first = len(lines) + 1
        split = draw(st.integers(0, len(words)))
        if 0 < split < len(words):
            lines.append(f"{keyword} {' '.join(words[:split])} \\")
            lines.append("    " + " ".join(words[split:]))
        else:
            lines.append(f"{keyword} {' '.join(words)}")
        body = None
        if keyword.upper() == "RUN" and draw(st.booleans()):
            lines[-1] += " <<EOT"
            body_lines = draw(st.lists(st.from_regex(r"[a-z #]{0,10}", fullmatch=True), max_size=3))
            lines.extend([*body_lines, "EOT"])
            body = "".join(f"{line}\n" for line in body_lines)
        expected.append((keyword.upper(), first, words, body))
    return "\n".join(lines) + "\n", expected


@settings(max_examples=200, deadline=None)
@given(case=_dockerfiles())
def test_round_trip_of_generated_dockerfiles(
    case: tuple[str, list[tuple[str, int, list[str], str | None]]],
) -> None:
    text, expected = case
    dockerfile = parse_dockerfile(text)
    assert dockerfile.diagnostics == ()
    got = []
    for item in dockerfile.instructions:
        words = item.args.split()
        body = None
        if item.heredocs:
            assert words[-1] == "<<EOT"
            words = words[:-1]
            body = item.heredocs[0].content
        got.append((item.keyword, item.span.start_line, words, body))
    assert got == expected
    assert len(dockerfile.stages) == 1
    assert dockerfile.stages[0].instructions == dockerfile.instructions[1:]
