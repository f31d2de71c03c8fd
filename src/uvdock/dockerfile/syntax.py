"""The Dockerfile syntax tree that ``uvdock lint`` works on.

Produced by :mod:`uvdock.dockerfile`, which follows BuildKit's parsing rules
(``moby/buildkit`` ``frontend/dockerfile/parser``): parser directives only at
the top, the escape character from ``# escape=``, line continuations (comment
and blank lines inside a continuation are skipped), heredocs on ``RUN``/``COPY``/
``ADD``, JSON (exec) form versus shell form, and ``--flag`` extraction. Every
node keeps its exact source position, so findings point at the right place and
fixes can rewrite single bytes.

Positions: lines are 1-based; columns are 1-based and count characters (not
bytes); an end column is exclusive (the column just after the last character).
Lines are split on ``\\n`` only; trailing ``\\r`` characters (CRLF files) are not
part of a line, and a leading byte-order mark is not part of the text.
"""

from __future__ import annotations

import bisect
import dataclasses

from uvdock.dockerfile.runmount import mount_fields


@dataclasses.dataclass(frozen=True, kw_only=True)
class Span:
    start_line: int
    start_col: int
    end_line: int
    end_col: int  # exclusive


@dataclasses.dataclass(frozen=True, kw_only=True)
class Directive:
    """``# syntax=``, ``# escape=`` or ``# check=`` at the top of the file."""

    name: str  # lower case
    value: str
    line: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class Comment:
    """A ``#`` comment line (directives excluded), text without the ``#``, stripped."""

    text: str
    line: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class Flag:
    """An instruction flag: ``--name=value`` (``value`` None for a bare ``--name``)."""

    name: str  # without the dashes, e.g. "mount", "from", "chown", "link", "platform"
    value: str | None
    span: Span


@dataclasses.dataclass(frozen=True, kw_only=True)
class Mount:
    """A ``RUN --mount=...`` flag, split into its fields (BuildKit's CSV syntax).

    ``type`` defaults to ``bind`` as in BuildKit; ``target`` also accepts the
    ``dst``/``destination`` spellings, ``source`` also ``src``. A field with no
    ``=value`` (e.g. ``readonly``, ``required``) has the value ``"true"``.
    """

    type: str
    fields: dict[str, str]
    flag: Flag

    @classmethod
    def from_flag(cls, flag: Flag) -> Mount:
        """The mount of a ``--mount=`` flag (see :func:`uvdock.dockerfile.parse_mount`)."""
        fields = mount_fields(flag.value or "")
        return cls(type=fields.get("type", "bind").lower(), fields=fields, flag=flag)

    @property
    def target(self) -> str | None:
        for key in ("target", "dst", "destination"):
            if key in self.fields:
                return self.fields[key]
        return None

    @property
    def source(self) -> str | None:
        return self.fields.get("source", self.fields.get("src"))

    @property
    def id(self) -> str | None:
        return self.fields.get("id")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Heredoc:
    """A heredoc body: ``<<EOF`` (``<<-EOF`` strips leading tabs; quoted names do not expand).

    ``content`` is what the build sees: for ``<<-EOF`` the leading tabs are
    already stripped from every line (BuildKit's ``ChompHeredocContent``), and
    CRLF line endings are normalised to ``\\n``. Body line ``k`` (0-based) is
    source line ``span.start_line + k``.
    """

    name: str
    content: str  # the body, lines joined with "\n", ending with "\n" unless empty
    strip_tabs: bool
    expand: bool  # False when the name was quoted ('EOF' or "EOF")
    span: Span  # from the first body line to the terminator line, inclusive


@dataclasses.dataclass(frozen=True, kw_only=True)
class Instruction:
    """One instruction, continuation lines joined.

    ``args`` is the text after the flags, with continuations joined as BuildKit
    joins them (the escape character and newline removed, comment lines inside
    the continuation dropped). For exec form, ``exec_form`` holds the parsed
    JSON array and ``args`` the raw JSON text. ``stage`` is the index of the
    stage the instruction belongs to, or None before the first ``FROM`` (the
    global ``ARG``s, and anything else there, which the parser reports).
    ``comments`` are the comment lines directly above (no blank line in
    between), for inline suppressions.

    Flags (``--name[=value]`` words at the start of the arguments) are taken
    from every instruction, as BuildKit does; the parser reports flags the
    instruction does not accept. ``HEALTHCHECK``: ``flags`` holds
    ``--interval`` and friends, ``args`` starts with the type word (``CMD ...``
    or ``NONE``), and ``exec_form`` is the JSON array after ``CMD``, if any.
    ``ONBUILD``: ``args`` is the whole trigger instruction (``RUN ...``), its
    heredocs are read, and ``exec_form`` stays None.

    ``empty_continuation_lines`` are blank lines inside the continuation, which
    BuildKit skips with a warning (its ``NoEmptyContinuation`` check).
    ``args_segments`` maps ``args`` back to the source: one ``(offset in args,
    line, column)`` triple per physical line piece; use :meth:`span_in_args`.
    """

    keyword: str  # upper case
    keyword_text: str  # as written
    flags: tuple[Flag, ...]
    args: str
    args_span: Span
    exec_form: tuple[str, ...] | None
    heredocs: tuple[Heredoc, ...]
    span: Span  # the whole instruction: first line to last (heredoc terminators included)
    stage: int | None
    comments: tuple[Comment, ...] = ()
    empty_continuation_lines: tuple[int, ...] = ()
    args_segments: tuple[tuple[int, int, int], ...] = ()

    def span_in_args(self, start: int, end: int) -> Span:
        """The source span of ``args[start:end]`` (offsets are clamped to ``args``).

        Works across continuation lines, so a finding can point at one word of
        a long ``RUN``. Without segments (exec form built by hand) it falls back
        to ``args_span``.
        """
        if not self.args_segments:
            return self.args_span
        start = max(0, min(start, len(self.args)))
        end = max(start, min(end, len(self.args)))
        line, col = self._args_position(start)
        if end == start:
            return Span(start_line=line, start_col=col, end_line=line, end_col=col)
        end_line, end_col = self._args_position(end - 1)
        return Span(start_line=line, start_col=col, end_line=end_line, end_col=end_col + 1)

    def _args_position(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.args_segments, offset, key=lambda s: s[0]) - 1
        found = self.args_segments[max(index, 0)]
        return found[1], found[2] + offset - found[0]

    def flag(self, name: str) -> Flag | None:
        """The last ``--name`` flag (BuildKit keeps the last), if any."""
        found = None
        for flag in self.flags:
            if flag.name == name:
                found = flag
        return found

    @property
    def mounts(self) -> tuple[Mount, ...]:
        return tuple(Mount.from_flag(f) for f in self.flags if f.name == "mount" and f.value)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Stage:
    """A build stage: its ``FROM`` and the instructions up to the next ``FROM``."""

    index: int
    name: str | None  # from ``AS name``, lower case as BuildKit compares them
    base: str  # the image (or stage name) as written
    base_resolved: str  # with ARG defaults from before the first FROM substituted
    base_stage: int | None  # index of the earlier stage it starts FROM, if any
    platform: str | None
    from_instruction: Instruction
    instructions: tuple[Instruction, ...]  # after FROM, in order


@dataclasses.dataclass(frozen=True, kw_only=True)
class ParseDiagnostic:
    """Input the parser could not make sense of (it never raises)."""

    message: str
    span: Span


@dataclasses.dataclass(frozen=True, kw_only=True)
class Dockerfile:
    path: str  # as given (for messages)
    text: str  # the source, without a leading byte-order mark
    lines: tuple[str, ...]  # the source lines, without line endings ("\n", trailing "\r")
    escape: str  # "\\" or "`"
    directives: tuple[Directive, ...]
    comments: tuple[Comment, ...]
    instructions: tuple[Instruction, ...]  # all, in order
    global_args: tuple[Instruction, ...]  # ARG before the first FROM
    stages: tuple[Stage, ...]
    diagnostics: tuple[ParseDiagnostic, ...]

    @property
    def final_stage(self) -> Stage | None:
        return self.stages[-1] if self.stages else None

    def stage_named(self, name: str) -> Stage | None:
        """The stage ``COPY --from=name`` or ``FROM name`` refers to (a name or an index)."""
        if name.isdigit():
            index = int(name)
            return self.stages[index] if index < len(self.stages) else None
        lowered = name.lower()
        return next((s for s in self.stages if s.name == lowered), None)

    def directive(self, name: str) -> Directive | None:
        return next((d for d in self.directives if d.name == name), None)
