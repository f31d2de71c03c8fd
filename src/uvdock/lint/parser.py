"""Parse a Dockerfile the way BuildKit does, keeping every source position.

Why this is hand-written (``docs/research/lint-gen.md`` §3.3): neither Python
library is enough. ``dockerfile-parse`` splits heredocs into bogus instructions
and leaves ``--mount`` flags inside the command; ``dockerfile`` (Go bindings to
BuildKit's parser) is deprecated, ships a Go shared object, and drops parser
directives and comments, which ``# check=``, ``# uvdock: ignore=`` and
``# hadolint ignore=`` pragmas need. Neither keeps column positions.

The rules followed, from ``moby/buildkit`` ``frontend/dockerfile``:

- ``parser/parser.go``: lines end at ``\\n`` (trailing ``\\r`` trimmed), a
  leading BOM is dropped; a line whose first non-blank character is ``#`` is a
  comment, also inside a continuation; an escape character at the end of a
  line (trailing spaces and tabs allowed, but not itself escaped) continues the
  instruction, and blank lines inside a continuation are skipped (BuildKit
  warns); heredocs (``<<EOF``, ``<<-EOF``, ``<<'EOF'``, several per line,
  also after a continued line) on ``RUN``/``COPY``/``ADD`` (and ``ONBUILD`` of
  those) unless in JSON form; the body ends at a line equal to the name.
- ``parser/directives.go``: ``syntax``, ``escape`` and ``check`` directives,
  case-insensitive keys, only before any other line, each at most once.
- ``parser/split_command.go``: the keyword is the first word; ``--flag`` words
  (quotes and backslashes processed, a bare ``--`` ends them) are taken from
  the start of every instruction's arguments.
- ``parser/line_parsers.go``: JSON (exec) form is a JSON array of strings
  (anything else that is not valid JSON is shell form); ``HEALTHCHECK`` has
  its type word first; ``ENV``/``LABEL``/``ARG`` words keep their quotes.
- ``instructions/parse.go``: the flags each instruction accepts, ``FROM``
  arguments and stage names, the argument counts BuildKit enforces.
- ``shell/lex.go``: variable substitution (:func:`expand`), also used, in
  raw mode, to find heredoc markers exactly as BuildKit does.

It never raises: what BuildKit would reject becomes a
:class:`~uvdock.lint.syntax.ParseDiagnostic`. Scanning is linear: lines are
handled with ``str`` methods, and the per-character loops (flags, words,
variables) skip runs of ordinary characters with simple regular expressions.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import re
from collections.abc import Mapping

from uvdock.lint.syntax import (
    Comment,
    Directive,
    Dockerfile,
    Flag,
    Heredoc,
    Instruction,
    Mount,
    ParseDiagnostic,
    Span,
    Stage,
)

__all__ = ["KEYWORDS", "expand", "key_values", "parse_dockerfile", "parse_mount"]

# Go's unicode.IsSpace: what BuildKit trims and splits words on.
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_GO_SPACE_SET = frozenset(_GO_SPACE)
_SPACE_CLASS = "".join(_GO_SPACE)  # no character here is special inside [...]
# BuildKit's reWhitespace `[\t\v\f\r ]+`: splits the keyword from the rest, FROM words.
_SPLIT_RE = re.compile("[\t\v\f\r ]+")
_RE2_SPACE = "\t\n\f\r "  # Go regexp `\s` (directive regular expression)
_DIRECTIVE_KEY_RE = re.compile("[a-zA-Z][a-zA-Z0-9]*")
_HEREDOC_WORD_RE = re.compile("([0-9]*)<<(-?)([^<]*)")
_STAGE_NAME_RE = re.compile("[a-z][a-z0-9-_.]*")
_FLAG_PLAIN_RE = re.compile(f"[^{_SPACE_CLASS}'\"\\\\]+")
_FLAG_QUOTED_RE = {"'": re.compile("[^'\\\\]+"), '"': re.compile('[^"\\\\]+')}
_BOM = "\ufeff"

_KEYWORD_WORDS = (
    "ADD ARG CMD COPY ENTRYPOINT ENV EXPOSE FROM HEALTHCHECK LABEL MAINTAINER ONBUILD RUN "
    "SHELL STOPSIGNAL USER VOLUME WORKDIR"
)
KEYWORDS = frozenset(_KEYWORD_WORDS.split())  # the instructions BuildKit knows
_JSON_KEYWORDS = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"})
_HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})
_DIRECTIVES = frozenset({"syntax", "escape", "check"})

# The flags each instruction accepts (instructions/parse.go, runmount.go, ...):
# "bool" (--link, --link=true), "string" (needs =value, once), "strings" (repeatable).
_FLAGS: dict[str, dict[str, str]] = {
    "FROM": {"platform": "string"},
    "RUN": {"mount": "strings", "network": "string", "security": "string", "device": "strings"},
    "COPY": {
        "from": "string",
        "chown": "string",
        "chmod": "string",
        "link": "bool",
        "parents": "bool",
        "exclude": "strings",
    },
    "ADD": {
        "chown": "string",
        "chmod": "string",
        "link": "bool",
        "keep-git-dir": "bool",
        "checksum": "string",
        "unpack": "bool",
        "exclude": "strings",
    },
    "HEALTHCHECK": {
        "interval": "string",
        "timeout": "string",
        "start-period": "string",
        "start-interval": "string",
        "retries": "string",
    },
    "ARG": {"required": "bool"},
}

_MOUNT_TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
_MOUNT_KEY_WORDS = (
    "type from source src target dst destination readonly ro readwrite rw required sharing "
    "id size mode uid gid env"
)
_MOUNT_KEYS = frozenset(_MOUNT_KEY_WORDS.split())
_MOUNT_BARE_KEYS = frozenset({"readonly", "ro", "readwrite", "rw", "required"})


# ---------------------------------------------------------------------------
# Public API


def parse_dockerfile(text: str, *, path: str = "Dockerfile") -> Dockerfile:
    """Parse Dockerfile source into a :class:`~uvdock.lint.syntax.Dockerfile`; never raises."""
    return _Parser(text, path).run()


def parse_mount(flag: Flag) -> Mount:
    """Split a ``--mount=`` flag value (BuildKit's CSV syntax) into a :class:`Mount`.

    Keys are lower-cased; a later key overwrites an earlier one; a field
    without ``=`` gets the value ``"true"``; quoted fields (``"a,b"``) are
    unquoted. Malformed input gives what can be read (the parser reports it).
    """
    fields: dict[str, str] = {}
    for field in _csv_fields(flag.value or "")[0]:
        key, sep, value = field.partition("=")
        if not key and not sep:
            continue
        fields[key.lower()] = value if sep else "true"
    return Mount(type=fields.get("type", "bind").lower(), fields=fields, flag=flag)


def expand(
    text: str,
    variables: Mapping[str, str],
    *,
    escape: str = "\\",
    keep_unset: bool = False,
) -> str:
    """Substitute variables in ``text`` as BuildKit's shell lexer does (``shell/lex.go``).

    Handles ``$VAR``, ``${VAR}``, ``${VAR:-word}``, ``${VAR-word}``,
    ``${VAR:+word}``, ``${VAR+word}``, ``${VAR?msg}``, ``${VAR#pat}``,
    ``${VAR%pat}`` (and ``##``/``%%``), ``${VAR/pat/repl}``; like BuildKit it
    also removes quotes (``'...'`` literal, ``"..."`` with ``$`` expanded) and
    escapes (``\\$`` is a literal ``$``; ``escape`` is the Dockerfile's escape
    character). Unknown variables expand to the empty string, or stay as
    written with ``keep_unset=True``. On a syntax error BuildKit would reject
    (``${VAR``, an unterminated quote, ``${VAR?}`` of an unset variable) the
    text is returned unchanged. Never raises.
    """
    result, error = _expand(text, variables, escape=escape, keep_unset=keep_unset)
    return text if error else result


def key_values(
    instruction: Instruction, *, escape: str = "\\"
) -> tuple[tuple[str, str | None], ...]:
    """The ``(key, value)`` pairs of an ``ENV``, ``LABEL`` or ``ARG`` instruction.

    Follows BuildKit: ``KEY=value`` words (quotes keep spaces together), or the
    legacy ``ENV KEY value with spaces`` form. Quotes and escapes are removed
    from keys and values, variables are left as written (``$PATH`` stays). An
    ``ARG`` without a default has the value None. Other instructions: ``()``.
    """
    keyword = instruction.keyword
    if keyword not in ("ENV", "LABEL", "ARG"):
        return ()
    words = _parse_words(instruction.args, escape)
    if not words:
        return ()

    def clean(raw: str) -> str:
        return expand(raw, {}, escape=escape, keep_unset=True)

    if keyword != "ARG" and "=" not in words[0]:
        parts = _SPLIT_RE.split(instruction.args, maxsplit=1)
        return ((clean(parts[0]), clean(parts[1]) if len(parts) > 1 else ""),)
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        key, sep, value = word.partition("=")
        if sep:
            pairs.append((clean(key), clean(value)))
        elif keyword == "ARG":
            pairs.append((clean(key), None))
    return tuple(pairs)


# ---------------------------------------------------------------------------
# Lines and positions


@dataclasses.dataclass(slots=True)
class _Logical:
    """One instruction's lines, continuations joined as BuildKit joins them."""

    text: str
    offsets: list[int]  # where each piece starts in ``text``
    places: list[tuple[int, int]]  # (line, column) of each piece's first character
    first_line: int
    last_line: int
    empty_lines: list[int]

    def position(self, offset: int) -> tuple[int, int]:
        index = max(bisect.bisect_right(self.offsets, offset) - 1, 0)
        line, col = self.places[index]
        return line, col + offset - self.offsets[index]

    def span(self, start: int, end: int) -> Span:
        """The source span of ``text[start:end]``; an empty range sits after ``start - 1``."""
        if end > start:
            line, col = self.position(start)
            end_line, end_col = self.position(end - 1)
            return Span(start_line=line, start_col=col, end_line=end_line, end_col=end_col + 1)
        if start < len(self.text):
            line, col = self.position(start)
        else:
            line, col = self.position(start - 1)
            col += 1
        return Span(start_line=line, start_col=col, end_line=line, end_col=col)

    def segments(self, start: int, end: int) -> tuple[tuple[int, int, int], ...]:
        """``Instruction.args_segments`` for ``text[start:end]``."""
        found: list[tuple[int, int, int]] = []
        for index, offset in enumerate(self.offsets):
            piece_end = self.offsets[index + 1] if index + 1 < len(self.offsets) else len(self.text)
            if piece_end <= start or offset >= end:
                continue
            first = max(offset, start)
            line, col = self.places[index]
            found.append((first - start, line, col + first - offset))
        return tuple(found)


def _continuation(line: str, escape: str) -> int | None:
    """Where the line-continuation escape starts, or None (BuildKit's lineContinuationRegex).

    The escape must be the last character but spaces and tabs, and not itself
    escaped (``\\\\`` at the end is a literal backslash, not a continuation).
    """
    stripped = line.rstrip(" \t")
    if not stripped or stripped[-1] != escape:
        return None
    cut = len(stripped) - 1
    if cut > 0 and stripped[cut - 1] == escape:
        return None
    return cut


def _line_span(line: int, text: str) -> Span:
    return Span(start_line=line, start_col=1, end_line=line, end_col=len(text) + 1)


# ---------------------------------------------------------------------------
# The parser


@dataclasses.dataclass(frozen=True, slots=True)
class _HeredocSpec:
    name: str
    chomp: bool
    expand: bool


@dataclasses.dataclass(slots=True)
class _StageInfo:
    from_instruction: Instruction
    name: str | None
    base: str
    base_resolved: str
    base_stage: int | None
    platform: str | None
    instructions: list[Instruction]


class _Parser:
    def __init__(self, text: str, path: str) -> None:
        if text.startswith(_BOM):
            text = text[1:]
        self.text = text
        self.path = path
        raw = text.split("\n")
        if raw[-1] == "":
            raw.pop()
        self.lines = [line.rstrip("\r") for line in raw]
        self.escape = "\\"
        self.directives: list[Directive] = []
        self.comments: list[Comment] = []
        self.instructions: list[Instruction] = []
        self.diagnostics: list[ParseDiagnostic] = []
        self.stages: list[_StageInfo] = []
        self.global_defaults: dict[str, str] = {}
        self.stage_names: dict[str, int] = {}  # the first stage of each name
        self.keyword_spans: list[Span] = []  # per instruction (a keyword may span lines)

    def report(self, message: str, span: Span) -> None:
        self.diagnostics.append(ParseDiagnostic(message=message, span=span))

    def run(self) -> Dockerfile:
        index = self._read_directives()
        pending: list[Comment] = []
        lines = self.lines
        while index < len(lines):
            line = lines[index]
            body = line.lstrip(_GO_SPACE)
            if body.startswith("#"):
                comment = Comment(text=body[1:].strip(_GO_SPACE), line=index + 1)
                self.comments.append(comment)
                pending.append(comment)
                index += 1
            elif not body:
                pending = []
                index += 1
            else:
                logical, index = self._join(index)
                index = self._instruction(logical, tuple(pending), index)
                pending = []
        self._check_file()
        return self._result()

    # -- directives ----------------------------------------------------------

    def _read_directives(self) -> int:
        seen: set[str] = set()
        for index, line in enumerate(self.lines):
            parsed = _directive(line.lstrip(_GO_SPACE))
            if parsed is None:
                return index
            name, value = parsed
            span = _line_span(index + 1, line)
            if name in seen:
                self.report(f"only one {name} parser directive can be used", span)
                continue
            seen.add(name)
            self.directives.append(Directive(name=name, value=value, line=index + 1))
            if name == "escape":
                if value in ("\\", "`"):
                    self.escape = value
                else:
                    self.report(f"invalid escape token '{value}' does not match ` or \\", span)
        return len(self.lines)

    # -- continuation lines --------------------------------------------------

    def _join(self, index: int) -> tuple[_Logical, int]:
        lines = self.lines
        line = lines[index]
        body = line.lstrip(_GO_SPACE)
        logical = _Logical(
            text="",
            offsets=[],
            places=[],
            first_line=index + 1,
            last_line=index + 1,
            empty_lines=[],
        )
        pieces: list[str] = []
        size = 0
        cut = _continuation(body, self.escape)
        piece = body if cut is None else body[:cut]
        if piece:
            logical.offsets.append(0)
            logical.places.append((index + 1, len(line) - len(body) + 1))
            pieces.append(piece)
            size = len(piece)
        index += 1
        while cut is not None and index < len(lines):
            line = lines[index]
            stripped = line.lstrip(_GO_SPACE)
            logical.last_line = index + 1
            index += 1
            if stripped.startswith("#"):  # skipped, as BuildKit does
                self.comments.append(Comment(text=stripped[1:].strip(_GO_SPACE), line=index))
                continue
            if not stripped:
                logical.empty_lines.append(index)
                continue
            cut = _continuation(line, self.escape)
            piece = line if cut is None else line[:cut]
            if piece:
                logical.offsets.append(size)
                logical.places.append((index, 1))
                pieces.append(piece)
                size += len(piece)
        logical.text = "".join(pieces)
        return logical, index

    # -- one instruction -----------------------------------------------------

    def _instruction(self, logical: _Logical, comments: tuple[Comment, ...], index: int) -> int:
        text = logical.text
        start = len(text) - len(text.lstrip(_GO_SPACE))
        end = len(text.rstrip(_GO_SPACE))
        if start >= end:
            self.report(
                "line continuation without an instruction",
                _line_span(logical.first_line, self.lines[logical.first_line - 1]),
            )
            return index
        split = _SPLIT_RE.search(text, start, end)
        keyword_end = split.start() if split else end
        rest = split.end() if split else end
        keyword_text = text[start:keyword_end]
        keyword = keyword_text.upper()
        words, args_start = _extract_flags(text, rest, end)
        while args_start < end and text[args_start] in _GO_SPACE_SET:
            args_start += 1
        args = text[args_start:end]
        flags = tuple(_make_flag(word, logical.span(a, b)) for word, a, b in words)
        args_span = logical.span(args_start, end)
        exec_form = self._exec_form(keyword, args, args_span)

        first_line, first_col = logical.position(start)
        heredocs: tuple[Heredoc, ...] = ()
        last_line = logical.last_line
        if "<<" in text and _takes_heredocs(keyword, args, exec_form):
            heredocs, index = self._read_heredocs(
                _heredoc_specs(text), index, logical, (first_line, first_col)
            )
            if heredocs:
                last_line = max(last_line, heredocs[-1].span.end_line)
        span = Span(
            start_line=first_line,
            start_col=first_col,
            end_line=last_line,
            end_col=len(self.lines[last_line - 1]) + 1,
        )
        instruction = Instruction(
            keyword=keyword,
            keyword_text=keyword_text,
            flags=flags,
            args=args,
            args_span=args_span,
            exec_form=exec_form,
            heredocs=heredocs,
            span=span,
            stage=self._stage_index(keyword),
            comments=comments,
            empty_continuation_lines=tuple(logical.empty_lines),
            args_segments=logical.segments(args_start, end),
        )
        self.keyword_spans.append(logical.span(start, keyword_end))
        self._add(instruction)
        return index

    def _stage_index(self, keyword: str) -> int | None:
        if keyword == "FROM":
            return len(self.stages)
        return len(self.stages) - 1 if self.stages else None

    def _exec_form(self, keyword: str, args: str, span: Span) -> tuple[str, ...] | None:
        if keyword == "HEALTHCHECK":
            parts = _split_first_word(args)
            args = parts[1] if parts else ""
        elif keyword not in _JSON_KEYWORDS:
            return None
        value, not_strings = _json_array(args)
        if not_strings:
            self.report(
                "when using JSON array syntax, arrays must be comprised of strings only", span
            )
        return value

    def _read_heredocs(
        self,
        specs: list[_HeredocSpec],
        index: int,
        logical: _Logical,
        start: tuple[int, int],
    ) -> tuple[tuple[Heredoc, ...], int]:
        """Read the bodies, in order, from line ``index`` (0-based); returns the next line."""
        lines = self.lines
        found: list[Heredoc] = []
        for spec in specs:
            first = index
            body: list[str] = []
            terminated = False
            while index < len(lines):
                line = lines[index]
                index += 1
                candidate = line.lstrip("\t") if spec.chomp else line
                if candidate == spec.name:
                    terminated = True
                    break
                body.append(candidate)
            if index > first:
                span = Span(
                    start_line=first + 1,
                    start_col=1,
                    end_line=index,
                    end_col=len(lines[index - 1]) + 1,
                )
            else:
                span = logical.span(len(logical.text), len(logical.text))
            content = "\n".join(body) + "\n" if body else ""
            found.append(
                Heredoc(
                    name=spec.name,
                    content=content,
                    strip_tabs=spec.chomp,
                    expand=spec.expand,
                    span=span,
                )
            )
            if not terminated:
                self.report(
                    f"unterminated heredoc: no line {spec.name!r} ends it",
                    Span(
                        start_line=start[0],
                        start_col=start[1],
                        end_line=span.end_line,
                        end_col=span.end_col,
                    ),
                )
                break
        return tuple(found), index

    # -- stages and checks ---------------------------------------------------

    def _add(self, instruction: Instruction) -> None:
        self.instructions.append(instruction)
        keyword = instruction.keyword
        if keyword not in KEYWORDS:
            self._unknown(instruction)
            return
        _check_flags(self, instruction)
        _check_arguments(self, instruction)
        if keyword == "FROM":
            self._stage(instruction)
        elif not self.stages:
            if keyword == "ARG":
                self._global_arg(instruction)
            else:
                self.report(
                    f"{instruction.keyword_text} before the first FROM: only ARG may come "
                    "before FROM (BuildKit: no build stage in current context)",
                    self.keyword_spans[-1],
                )
        else:
            self.stages[-1].instructions.append(instruction)

    def _unknown(self, instruction: Instruction) -> None:
        message = f"unknown instruction: {instruction.keyword_text}"
        word = instruction.keyword
        if len(word) <= 20:  # noqa: PLR2004 - no suggestion for long garbage
            import difflib  # noqa: PLC0415 - only for the hint on an unknown word

            close = difflib.get_close_matches(word, sorted(KEYWORDS), n=1, cutoff=0.6)
            if close:
                message += f" (did you mean {close[0]}?)"
        self.report(message, self.keyword_spans[-1])
        if self.stages:
            self.stages[-1].instructions.append(instruction)

    def _global_arg(self, instruction: Instruction) -> None:
        for word in _parse_words(instruction.args, self.escape):
            key, sep, raw = word.partition("=")
            if sep:
                self.global_defaults[key] = expand(raw, self.global_defaults, escape=self.escape)

    def _stage(self, instruction: Instruction) -> None:
        words = _SPLIT_RE.split(instruction.args) if instruction.args else []
        name: str | None = None
        if len(words) == 3 and words[1].lower() == "as":  # noqa: PLR2004 - FROM image AS name
            name = words[2].lower()
            if not _STAGE_NAME_RE.fullmatch(name):
                self.report(
                    f"invalid name for build stage: {words[2]!r}, name can't start with a "
                    "number or contain symbols",
                    instruction.args_span,
                )
        elif len(words) != 1:
            self.report("FROM requires either one or three arguments", instruction.args_span)
        base = words[0] if words else ""
        resolved, error = _expand(base, self.global_defaults, escape=self.escape)
        if error:
            self.report(f"cannot expand the base image {base!r}: {error}", instruction.args_span)
            resolved = base
        lowered = resolved.lower()
        base_stage = self.stage_names.get(lowered)
        platform = instruction.flag("platform")
        if name is not None:
            self.stage_names.setdefault(name, len(self.stages))
        self.stages.append(
            _StageInfo(
                from_instruction=instruction,
                name=name,
                base=base,
                base_resolved=resolved,
                base_stage=base_stage,
                platform=platform.value if platform else None,
                instructions=[],
            )
        )

    def _check_file(self) -> None:
        if not self.instructions:
            line = self.lines[0] if self.lines else ""
            self.report("file with no instructions", _line_span(1, line))
        elif not self.stages:
            self.report(
                "no FROM instruction: the Dockerfile has no stage to build",
                self.keyword_spans[0],
            )

    def _result(self) -> Dockerfile:
        stages = tuple(
            Stage(
                index=index,
                name=info.name,
                base=info.base,
                base_resolved=info.base_resolved,
                base_stage=info.base_stage,
                platform=info.platform,
                from_instruction=info.from_instruction,
                instructions=tuple(info.instructions),
            )
            for index, info in enumerate(self.stages)
        )
        return Dockerfile(
            path=self.path,
            text=self.text,
            lines=tuple(self.lines),
            escape=self.escape,
            directives=tuple(self.directives),
            comments=tuple(self.comments),
            instructions=tuple(self.instructions),
            global_args=tuple(
                i for i in self.instructions if i.stage is None and i.keyword == "ARG"
            ),
            stages=stages,
            diagnostics=tuple(self.diagnostics),
        )


def _directive(line: str) -> tuple[str, str] | None:
    """``(name, value)`` if ``line`` (left-trimmed) is a known parser directive."""
    if not line.startswith("#"):
        return None
    body = line[1:].lstrip(_GO_SPACE)
    key = _DIRECTIVE_KEY_RE.match(body)
    if key is None:
        return None
    rest = body[key.end() :].lstrip(_RE2_SPACE)
    if not rest.startswith("="):
        return None
    value = rest[1:].strip(_RE2_SPACE)
    name = key.group().lower()
    if not value or name not in _DIRECTIVES:
        return None
    return name, value


def _split_first_word(text: str) -> tuple[str, str] | None:
    """``("CMD", "rest")`` for HEALTHCHECK: the type word, then the rest."""
    if not text:
        return None
    end = 0
    while end < len(text) and text[end] not in _GO_SPACE_SET:
        end += 1
    rest = end
    while rest < len(text) and text[rest] in _GO_SPACE_SET:
        rest += 1
    return text[:end], text[rest:]


def _first_word_upper(text: str) -> str:
    parts = _split_first_word(text)
    return parts[0].upper() if parts else ""


def _reject_constant(name: str) -> object:
    raise ValueError(name)  # NaN/Infinity are not JSON for Go's decoder


def _json_array(args: str) -> tuple[tuple[str, ...] | None, bool]:
    """``(array, False)`` for a JSON array of strings; ``(None, True)`` for other arrays."""
    if not args.startswith("["):
        return None, False
    try:
        value = json.loads(args, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None, False
    if not isinstance(value, list):
        return None, False
    if not all(isinstance(item, str) for item in value):
        return None, True
    return tuple(value), False


def _takes_heredocs(keyword: str, args: str, exec_form: tuple[str, ...] | None) -> bool:
    """BuildKit's canContainHeredoc: RUN/COPY/ADD in shell form, also as ONBUILD triggers."""
    if keyword == "ONBUILD":
        parts = _split_first_word(args)
        if parts is None:
            return False
        keyword = parts[0].upper()
        _, start = _extract_flags(parts[1], 0, len(parts[1]))
        rest = parts[1][start:].strip(_GO_SPACE)
        exec_form = _json_array(rest)[0] if keyword in _JSON_KEYWORDS else None
    return keyword in _HEREDOC_KEYWORDS and exec_form is None


def _make_flag(word: str, span: Span) -> Flag:
    name, sep, value = word[2:].partition("=")
    return Flag(name=name, value=value if sep else None, span=span)


def _extract_flags(text: str, start: int, end: int) -> tuple[list[tuple[str, int, int]], int]:
    """BuildKit's extractBuilderFlags on ``text[start:end]``.

    Returns the flag words (quotes and backslashes processed) with their
    offsets, and where the remaining arguments start. Flags are words starting
    with ``--``; a bare ``--`` ends them and is dropped.
    """
    words: list[tuple[str, int, int]] = []
    pos = start
    while True:
        while pos < end and text[pos] in _GO_SPACE_SET:
            pos += 1
        if pos >= end or not text.startswith("--", pos, end):
            return words, pos
        word_start = pos
        word, pos, blank_ok = _flag_word(text, pos, end)
        if pos >= end:
            if word != "--" and (blank_ok or word):
                words.append((word, word_start, end))
            return words, end
        if word == "--":
            return words, pos
        if blank_ok or word:
            words.append((word, word_start, pos))


def _flag_word(text: str, pos: int, end: int) -> tuple[str, int, bool]:
    parts: list[str] = []
    quote = ""
    blank_ok = False
    while pos < end:
        char = text[pos]
        if quote:
            if char == quote:
                quote = ""
                pos += 1
            elif char == "\\":
                if pos + 1 >= end:
                    quote = ""
                    pos += 1
                else:
                    parts.append(text[pos + 1])
                    pos += 2
            else:
                match = _FLAG_QUOTED_RE[quote].match(text, pos, end)
                assert match is not None  # noqa: S101 - char is neither quote nor backslash
                parts.append(match.group())
                pos = match.end()
        elif char in _GO_SPACE_SET:
            break
        elif char in "'\"":
            quote = char
            blank_ok = True
            pos += 1
        elif char == "\\":
            if pos + 1 < end:
                parts.append(text[pos + 1])
            pos += 2
        else:
            match = _FLAG_PLAIN_RE.match(text, pos, end)
            assert match is not None  # noqa: S101 - char is plain
            parts.append(match.group())
            pos = match.end()
    return "".join(parts), min(pos, end), blank_ok


def _heredoc_specs(line: str) -> list[_HeredocSpec]:
    """BuildKit's heredocsFromLine: words of the whole line, lexed raw, that look like ``<<X``."""
    try:
        _, words = _Lexer(line, escape="\\", raw_quotes=True, raw_escapes=True).process()
    except (_LexError, RecursionError):
        return []  # BuildKit ignores lexer errors here: no heredocs
    specs: list[_HeredocSpec] = []
    for word in words:
        match = _HEREDOC_WORD_RE.fullmatch(word)
        if match is None or not match.group(3):
            continue
        spec = _heredoc_spec(match.group(3), chomp=match.group(2) == "-")
        if spec is not None:
            specs.append(spec)
    return specs


def _heredoc_spec(rest: str, *, chomp: bool) -> _HeredocSpec | None:
    """The name of ``<<rest`` with quotes removed; quoted names do not expand."""
    try:
        _, words = _Lexer(rest, escape="\\").process()
        _, raw_words = _Lexer(rest, escape="\\", raw_quotes=True).process()
    except (_LexError, RecursionError):
        return None
    if len(words) != 1 or len(raw_words) != 1:
        return None
    word, raw = words[0], raw_words[0]
    quotes = word.count("'") + word.count('"')
    raw_quotes = raw.count("'") + raw.count('"')
    return _HeredocSpec(name=word, chomp=chomp, expand=quotes == raw_quotes)


# ---------------------------------------------------------------------------
# Checks BuildKit makes when it turns the parse tree into instructions


def _check_flags(parser: _Parser, instruction: Instruction) -> None:
    keyword = instruction.keyword
    if keyword == "STOPSIGNAL":  # BuildKit never parses its flags
        return
    allowed = _FLAGS.get(keyword, {})
    if keyword == "HEALTHCHECK" and _first_word_upper(instruction.args) == "NONE":
        allowed = {}
    used: set[str] = set()
    for flag in instruction.flags:
        kind = allowed.get(flag.name)
        problem = None
        if kind is None:
            problem = f"unknown flag: {flag.name}"
        elif flag.name in used and kind != "strings":
            problem = f"duplicate flag specified: {flag.name}"
        elif kind == "bool" and flag.value is not None:
            if flag.value == "":
                problem = f"missing a value on flag: {flag.name}"
            elif flag.value.lower() not in ("true", "false"):
                problem = f"expecting boolean value for flag {flag.name}, not: {flag.value}"
        elif kind != "bool" and flag.value is None:
            problem = f"missing a value on flag: {flag.name}"
        used.add(flag.name)
        if problem:
            parser.report(f"{keyword} {problem}", flag.span)
        elif flag.name == "mount" and flag.value is not None:
            for mount_problem in _mount_problems(flag.value):
                parser.report(f"RUN --mount: {mount_problem}", flag.span)


def _check_arguments(parser: _Parser, instruction: Instruction) -> None:
    keyword = instruction.keyword
    message: str | None = None
    if not instruction.args and keyword not in _MAY_BE_EMPTY:
        message = (
            f"{keyword} requires exactly one argument"
            if keyword in ("WORKDIR", "USER", "MAINTAINER", "STOPSIGNAL")
            else f"{keyword} requires at least one argument"
        )
    else:
        check = _ARGUMENT_CHECKS.get(keyword)
        message = check(instruction, parser.escape) if check else None
    if message:
        parser.report(message, instruction.args_span)


_MAY_BE_EMPTY = frozenset({"RUN", "CMD", "ENTRYPOINT", "FROM", "COPY", "ADD"})


def _check_sources(instruction: Instruction, _escape: str) -> str | None:
    count = (
        len(instruction.exec_form)
        if instruction.exec_form is not None
        else len(_SPLIT_RE.split(instruction.args))
    )
    if count < 2:  # noqa: PLR2004 - sources and a destination
        return (
            f"{instruction.keyword} requires at least two arguments, but only one was "
            "provided. Destination could not be determined"
        )
    return None


def _check_shell(instruction: Instruction, _escape: str) -> str | None:
    if instruction.exec_form is None:
        return "SHELL requires the arguments to be in JSON form"
    if not instruction.exec_form:
        return "SHELL requires at least one argument"
    return None


def _check_volume(instruction: Instruction, _escape: str) -> str | None:
    if instruction.exec_form is not None and any(not v.strip() for v in instruction.exec_form):
        return "VOLUME specified can not be an empty string"
    return None


def _check_key_values(instruction: Instruction, escape: str) -> str | None:
    words = _parse_words(instruction.args, escape)
    keyword = instruction.keyword
    if keyword == "ARG":
        if any(word.startswith("=") for word in words):
            return "ARG names can not be blank"
        return None
    if words and "=" not in words[0]:
        if len(_SPLIT_RE.split(instruction.args, maxsplit=1)) < 2:  # noqa: PLR2004
            return f"{keyword} must have two arguments"
        return None
    for word in words:
        if "=" not in word:
            return f"Syntax error - can't find = in {word!r}. Must be of the form: name=value"
        if word.startswith("="):
            return f"{keyword} names can not be blank"
    return None


def _check_healthcheck(instruction: Instruction, _escape: str) -> str | None:
    parts = _split_first_word(instruction.args)
    kind, rest = parts or ("", "")
    kind = kind.upper()
    if kind == "NONE":
        return "HEALTHCHECK NONE takes no arguments" if rest else None
    if kind != "CMD":
        return f"Unknown type {kind!r} in HEALTHCHECK (try CMD)"
    if not rest or instruction.exec_form == ():
        return "Missing command after HEALTHCHECK CMD"
    return None


def _check_onbuild(instruction: Instruction, _escape: str) -> str | None:
    parts = _split_first_word(instruction.args)
    trigger = parts[0].upper() if parts else ""
    if trigger == "ONBUILD":
        return "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
    if trigger in ("MAINTAINER", "FROM"):
        return f"{trigger} isn't allowed as an ONBUILD trigger"
    return None


_ARGUMENT_CHECKS = {
    "COPY": _check_sources,
    "ADD": _check_sources,
    "SHELL": _check_shell,
    "VOLUME": _check_volume,
    "ENV": _check_key_values,
    "LABEL": _check_key_values,
    "ARG": _check_key_values,
    "HEALTHCHECK": _check_healthcheck,
    "ONBUILD": _check_onbuild,
}


def _mount_problems(value: str) -> list[str]:
    """What BuildKit's parseMount rejects in a ``--mount`` value."""
    fields, ok = _csv_fields(value)
    if not ok or not value:
        return [f"failed to parse csv mounts: {value!r}"]
    problems: list[str] = []
    kind = "bind"
    required = False
    for field in fields:
        key, sep, item = field.partition("=")
        key = key.lower()
        if not sep:
            if key in _MOUNT_BARE_KEYS:
                required = required or key == "required"
            else:
                problems.append(f"invalid field {field!r} must be a key=value pair")
        elif key == "type":
            if item.lower() in _MOUNT_TYPES:
                kind = item.lower()
            else:
                problems.append(f"unsupported mount type {item!r}")
        elif key not in _MOUNT_KEYS:
            problems.append(f"unexpected key {key!r} in {field!r}")
    if required and kind not in ("secret", "ssh"):
        problems.append(f"unexpected key 'required' for mount type {kind!r}")
    return problems


def _csv_fields(value: str) -> tuple[list[str], bool]:
    """Split a line of CSV as Go's ``encoding/csv`` does; ``ok`` is False where Go errs."""
    fields: list[str] = []
    ok = True
    pos = 0
    size = len(value)
    while True:
        if pos < size and value[pos] == '"':
            pos, field, field_ok = _csv_quoted(value, pos + 1)
            ok = ok and field_ok
        else:
            comma = value.find(",", pos)
            comma = size if comma < 0 else comma
            field = value[pos:comma]
            ok = ok and '"' not in field  # a bare quote
            pos = comma
        fields.append(field)
        if pos >= size:
            return fields, ok
        pos += 1  # the comma


def _csv_quoted(value: str, pos: int) -> tuple[int, str, bool]:
    parts: list[str] = []
    size = len(value)
    while True:
        close = value.find('"', pos)
        if close < 0:
            parts.append(value[pos:])
            return size, "".join(parts), False
        parts.append(value[pos:close])
        if value.startswith('""', close):
            parts.append('"')
            pos = close + 2
            continue
        pos = close + 1
        break
    if pos < size and value[pos] != ",":
        comma = value.find(",", pos)
        comma = size if comma < 0 else comma
        parts.append(value[pos:comma])
        return comma, "".join(parts), False
    return pos, "".join(parts), True


# ---------------------------------------------------------------------------
# Words and variables (line_parsers.go parseWords, shell/lex.go)


_WORD_PLAIN_RE = {
    escape: re.compile(f"[^{_SPACE_CLASS}'\"{re.escape(escape)}]+") for escape in ("\\", "`")
}


def _parse_words(rest: str, escape: str) -> list[str]:
    """BuildKit's parseWords: split at blanks outside quotes; quotes and escapes are kept."""
    words: list[str] = []
    parts: list[str] = []
    blank_ok = False
    in_word = False
    pos = 0
    size = len(rest)
    plain = _WORD_PLAIN_RE.get(escape, _WORD_PLAIN_RE["\\"])
    while pos < size:
        char = rest[pos]
        if char in _GO_SPACE_SET:
            if in_word and (blank_ok or parts):
                words.append("".join(parts))
            parts = []
            in_word = blank_ok = False
            pos += 1
            continue
        in_word = True
        match = plain.match(rest, pos)
        if match:
            parts.append(match.group())
            pos = match.end()
        elif char in "'\"":
            blank_ok = True
            quoted, pos = _quoted_word_part(rest, pos, escape)
            parts.append(quoted)
        elif pos + 1 == size:  # the escape character, last: dropped
            pos += 1
        else:
            parts.append(rest[pos : pos + 2])
            pos += 2
    if in_word and (blank_ok or parts):
        words.append("".join(parts))
    return words


def _quoted_word_part(rest: str, pos: int, escape: str) -> tuple[str, int]:
    """A quoted part for :func:`_parse_words`, quotes and escapes kept; returns the end."""
    quote = rest[pos]
    parts = [quote]
    pos += 1
    size = len(rest)
    while pos < size:
        char = rest[pos]
        if char == quote:
            parts.append(char)
            return "".join(parts), pos + 1
        if char == escape and quote != "'":
            if pos + 1 == size:
                return "".join(parts), size
            parts.append(rest[pos : pos + 2])
            pos += 2
            continue
        close = rest.find(quote, pos)
        stop = size if close < 0 else close
        if quote != "'":
            found = rest.find(escape, pos, stop)
            stop = stop if found < 0 else found
        parts.append(rest[pos:stop])
        pos = stop
    return "".join(parts), size


class _LexError(Exception):
    """A substitution BuildKit rejects (internal: the public functions never raise)."""


def _expand(
    text: str, variables: Mapping[str, str], *, escape: str, keep_unset: bool = False
) -> tuple[str, str | None]:
    try:
        result, _ = _Lexer(text, escape=escape, env=variables, skip_unset=keep_unset).process()
    except _LexError as error:
        return text, str(error)
    except RecursionError:
        return text, "substitutions nested too deeply"
    return result, None


class _Words:
    """BuildKit's wordsStruct: words as the shell would split the processed text."""

    __slots__ = ("in_word", "parts", "words")

    def __init__(self) -> None:
        self.words: list[str] = []
        self.parts: list[str] = []  # the word being built (joined once: linear time)
        self.in_word = False

    def add_char(self, char: str) -> None:
        if char in _GO_SPACE_SET:
            word = "".join(self.parts)
            if self.in_word and word:
                self.words.append(word)
                self.parts = []
                self.in_word = False
        else:
            self.add_raw(char)

    def add_string(self, text: str) -> None:
        for char in text:
            self.add_char(char)

    def add_raw(self, text: str) -> None:
        if text:
            self.parts.append(text)
        self.in_word = True

    def finish(self) -> list[str]:
        word = "".join(self.parts)
        if word:
            self.words.append(word)
            self.parts = []
            self.in_word = False
        return self.words


_SPECIAL_PARAMS = frozenset("@*#?-$!0")
_NAME_RE = re.compile(r"\w+")  # letters, digits, underscore
_DOUBLE_PLAIN_RE = {escape: re.compile(f'[^"$\\{escape}]+') for escape in ("\\", "`")}
_DIGITS_RE = re.compile(r"[0-9]+")
_PLAIN_CACHE: dict[tuple[str, str], re.Pattern[str]] = {}


def _plain(escape: str, stop: str) -> re.Pattern[str]:
    key = (escape, stop)
    pattern = _PLAIN_CACHE.get(key)
    if pattern is None:
        special = re.escape("$'\"" + escape + stop)
        pattern = re.compile(f"[^{_SPACE_CLASS}{special}]+")
        _PLAIN_CACHE[key] = pattern
    return pattern


class _Lexer:
    """BuildKit's shell lexer (``shell/lex.go``) over one string.

    ``raw_quotes`` keeps quote characters, ``raw_escapes`` keeps escape
    characters, ``skip_unset`` leaves unknown variables as written: the modes
    BuildKit uses to find heredoc markers. Raises :class:`_LexError`.
    """

    def __init__(
        self,
        text: str,
        *,
        escape: str,
        env: Mapping[str, str] | None = None,
        raw_quotes: bool = False,
        raw_escapes: bool = False,
        skip_unset: bool = True,
    ) -> None:
        self.text = text
        self.pos = 0
        self.escape = escape
        self.env: Mapping[str, str] = env if env is not None else {}
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_unset = skip_unset

    def process(self) -> tuple[str, list[str]]:
        return self.stop_on("", raw_escapes=self.raw_escapes)

    def stop_on(self, stop: str, *, raw_escapes: bool) -> tuple[str, list[str]]:
        saved = self.raw_escapes
        self.raw_escapes = raw_escapes
        try:
            return self._stop_on(stop)
        finally:
            self.raw_escapes = saved

    def _stop_on(self, stop: str) -> tuple[str, list[str]]:
        text = self.text
        size = len(text)
        result: list[str] = []
        words = _Words()
        plain = _plain(self.escape, stop)
        while self.pos < size:
            char = text[self.pos]
            if stop and char == stop:
                self.pos += 1
                return "".join(result), words.finish()
            if char == "$":
                value = self._dollar()
                result.append(value)
                words.add_string(value)
                continue
            if char in "'\"":
                value = self._single() if char == "'" else self._double()
                result.append(value)
                words.add_raw(value)
                continue
            match = plain.match(text, self.pos)
            if match:
                result.append(match.group())
                words.add_raw(match.group())
                self.pos = match.end()
                continue
            self.pos += 1
            if char == self.escape:
                if self.raw_escapes:
                    words.add_raw(char)
                    result.append(char)
                if self.pos >= size:
                    break
                char = text[self.pos]
                self.pos += 1
                words.add_raw(char)
            else:
                words.add_char(char)
            result.append(char)
        if stop:
            raise _LexError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.finish()

    def _single(self) -> str:
        start = self.pos + 1
        close = self.text.find("'", start)
        if close < 0:
            raise _LexError("unexpected end of statement while looking for matching single-quote")
        self.pos = close + 1
        body = self.text[start:close]
        return f"'{body}'" if self.raw_quotes else body

    def _double(self) -> str:
        text = self.text
        size = len(text)
        self.pos += 1
        out = ['"'] if self.raw_quotes else []
        plain = _DOUBLE_PLAIN_RE[self.escape]
        while True:
            if self.pos >= size:
                raise _LexError(
                    "unexpected end of statement while looking for matching double-quote"
                )
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                if self.raw_quotes:
                    out.append(char)
                return "".join(out)
            if char == "$":
                out.append(self._dollar())
                continue
            if char != self.escape:
                match = plain.match(text, self.pos)
                assert match is not None  # noqa: S101 - char is not special here
                out.append(match.group())
                self.pos = match.end()
                continue
            # Only " $ and the escape itself can be escaped; otherwise the escape
            # stays (BuildKit writes it twice in raw mode, and so do we).
            self.pos += 1
            if self.raw_escapes:
                out.append(char)
            if self.pos >= size:
                continue
            if text[self.pos] in ('"', "$", self.escape):
                char = text[self.pos]
                self.pos += 1
            out.append(char)

    def _dollar(self) -> str:
        text = self.text
        self.pos += 1
        if self.pos >= len(text) or text[self.pos] != "{":
            name = self._name()
            if not name:
                return "$"
            if name in self.env:
                return self.env[name]
            return "$" + name if self.skip_unset else ""
        self.pos += 1
        if self.pos >= len(text):
            raise _LexError("syntax error: missing '}'")
        if text[self.pos] in "{}:":
            raise _LexError("syntax error: bad substitution")
        name = self._name()
        if self.pos >= len(text):
            raise _LexError("syntax error: missing '}'")
        char = text[self.pos]
        self.pos += 1
        if char == "}":
            if name in self.env:
                return self.env[name]
            return "${" + name + "}" if self.skip_unset else ""
        if char == "/":
            return self._replace(name)
        modifier = char
        null_is_unset = False
        if char == ":":
            if self.pos >= len(text):
                raise _LexError("syntax error: missing '}'")
            null_is_unset = True
            char = text[self.pos]
            self.pos += 1
            modifier += char
        elif char not in "+-?#%":
            raise _LexError(f"unsupported modifier ({char}) in substitution")
        return self._modifier(name, char, modifier, null_is_unset=null_is_unset)

    def _modifier(self, name: str, char: str, modifier: str, *, null_is_unset: bool) -> str:
        try:
            word, _ = self.stop_on("}", raw_escapes=char in "#%")
        except _LexError:
            if self.pos >= len(self.text):
                raise _LexError("syntax error: missing '}'") from None
            raise
        is_set = name in self.env
        value = self.env.get(name, "")
        if self.skip_unset and not is_set:
            return "${" + name + modifier + word + "}"
        empty = not is_set or (null_is_unset and not value)
        if char == "-":
            return word if empty else value
        if char == "+":
            return "" if empty else word
        if char == "?":
            if empty:
                raise _LexError(f"{name}: {word or 'is not allowed to be unset or empty'}")
            return value
        if char in "#%":
            greedy = word.startswith(char)
            pattern = word[1:] if greedy else word
            if char == "#":
                return _trim_prefix(pattern, value, greedy=greedy)
            return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy=greedy)[::-1]
        raise _LexError(f"unsupported modifier ({modifier}) in substitution")

    def _replace(self, name: str) -> str:
        replace_all = self.text.startswith("/", self.pos)
        if replace_all:
            self.pos += 1
        pattern, _ = self.stop_on("/", raw_escapes=True)
        replacement, _ = self.stop_on("}", raw_escapes=True)
        if name not in self.env:
            if self.skip_unset:
                return "${" + name + "/" + pattern + "/" + replacement + "}"
            return ""
        value = self.env[name]
        regex = re.compile(_pattern_regex(pattern, greedy=True), re.DOTALL)
        if replace_all:
            return regex.sub(lambda _: replacement, value)
        return regex.sub(lambda _: replacement, value, count=1)

    def _name(self) -> str:
        text = self.text
        if self.pos >= len(text):
            return ""
        char = text[self.pos]
        if char.isdecimal():
            match = _DIGITS_RE.match(text, self.pos)
            end = match.end() if match else self.pos + 1
            name = text[self.pos : end]
            self.pos = end
            return name
        if char in _SPECIAL_PARAMS:
            self.pos += 1
            return char
        match = _NAME_RE.match(text, self.pos)
        if match is None:
            return ""
        self.pos = match.end()
        return match.group()


def _pattern_regex(pattern: str, *, greedy: bool) -> str:
    """A shell pattern (``*``, ``?``, ``\\`` escapes) as a regular expression."""
    out: list[str] = []
    star = ".*" if greedy else ".*?"
    pos = 0
    while pos < len(pattern):
        char = pattern[pos]
        pos += 1
        if char == "*":
            out.append(star)
        elif char == "?":
            out.append(".")
        elif char == "\\":
            if pos < len(pattern) and pattern[pos] in "}/":
                continue
            if pos >= len(pattern) or pattern[pos] not in "*?\\":
                raise _LexError(f"invalid pattern ({pattern}) in substitution")
            out.append(re.escape(pattern[pos]))
            pos += 1
        else:
            out.append(re.escape(char))
    return "".join(out)


def _trim_prefix(pattern: str, value: str, *, greedy: bool) -> str:
    match = re.compile(_pattern_regex(pattern, greedy=greedy), re.DOTALL).match(value)
    return value[match.end() :] if match else value


def _reverse_pattern(pattern: str) -> str:
    """Reverse a pattern keeping each ``\\x`` escape in front of its character."""
    tokens: list[str] = []
    pos = 0
    while pos < len(pattern):
        if pattern[pos] == "\\" and pos + 1 < len(pattern):
            tokens.append(pattern[pos : pos + 2])
            pos += 2
        else:
            tokens.append(pattern[pos])
            pos += 1
    return "".join(reversed(tokens))
