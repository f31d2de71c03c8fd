"""Lines, continuations, heredocs and stages, as ``parser/parser.go`` reads a Dockerfile.

Lines end at ``\\n`` (trailing ``\\r`` trimmed), a leading BOM is dropped; a
line whose first non-blank character is ``#`` is a comment, also inside a
continuation; an escape character at the end of a line (trailing spaces and
tabs allowed, but not itself escaped) continues the instruction, and blank
lines inside a continuation are skipped (BuildKit warns); heredocs
(``<<EOF``, ``<<-EOF``, ``<<'EOF'``, several per line, also after a continued
line) on ``RUN``/``COPY``/``ADD`` (and ``ONBUILD`` of those) unless in JSON
form; the body ends at a line equal to the name. The keyword is the first
word (``parser/split_command.go``).

The other modules of :mod:`uvdock.dockerfile` read the parts of one
instruction; this one walks the file, builds the stages and reports what they
return as :class:`~uvdock.dockerfile.syntax.ParseDiagnostic`. It never raises.
"""

from __future__ import annotations

import bisect
import dataclasses
import re

from uvdock.dockerfile.directives import parse_directive
from uvdock.dockerfile.gospace import GO_SPACE, GO_SPACE_SET, SPLIT_RE
from uvdock.dockerfile.instructions import argument_problem, flag_problems, from_arguments
from uvdock.dockerfile.lex import Lexer, LexError, expand, expand_checked
from uvdock.dockerfile.line_parsers import json_array, parse_words, split_first_word
from uvdock.dockerfile.split_command import extract_flags, make_flag
from uvdock.dockerfile.syntax import (
    Comment,
    Directive,
    Dockerfile,
    Heredoc,
    Instruction,
    ParseDiagnostic,
    Span,
    Stage,
)

__all__ = ["KEYWORDS", "parse_dockerfile"]

_HEREDOC_WORD_RE = re.compile("([0-9]*)<<(-?)([^<]*)")
_BOM = "\ufeff"

_KEYWORD_WORDS = (
    "ADD ARG CMD COPY ENTRYPOINT ENV EXPOSE FROM HEALTHCHECK LABEL MAINTAINER ONBUILD RUN "
    "SHELL STOPSIGNAL USER VOLUME WORKDIR"
)
KEYWORDS = frozenset(_KEYWORD_WORDS.split())  # the instructions BuildKit knows
_JSON_KEYWORDS = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"})
_HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})


def parse_dockerfile(text: str, *, path: str = "Dockerfile") -> Dockerfile:
    """Parse Dockerfile source into a :class:`~uvdock.dockerfile.syntax.Dockerfile`; no raise."""
    return _Parser(text, path).run()


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
            body = line.lstrip(GO_SPACE)
            if body.startswith("#"):
                comment = Comment(text=body[1:].strip(GO_SPACE), line=index + 1)
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
            parsed = parse_directive(line.lstrip(GO_SPACE))
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
        body = line.lstrip(GO_SPACE)
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
            stripped = line.lstrip(GO_SPACE)
            logical.last_line = index + 1
            index += 1
            if stripped.startswith("#"):  # skipped, as BuildKit does
                self.comments.append(Comment(text=stripped[1:].strip(GO_SPACE), line=index))
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
        start = len(text) - len(text.lstrip(GO_SPACE))
        end = len(text.rstrip(GO_SPACE))
        if start >= end:
            self.report(
                "line continuation without an instruction",
                _line_span(logical.first_line, self.lines[logical.first_line - 1]),
            )
            return index
        split = SPLIT_RE.search(text, start, end)
        keyword_end = split.start() if split else end
        rest = split.end() if split else end
        keyword_text = text[start:keyword_end]
        keyword = keyword_text.upper()
        words, args_start = extract_flags(text, rest, end)
        while args_start < end and text[args_start] in GO_SPACE_SET:
            args_start += 1
        args = text[args_start:end]
        flags = tuple(make_flag(word, logical.span(a, b)) for word, a, b in words)
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
            parts = split_first_word(args)
            args = parts[1] if parts else ""
        elif keyword not in _JSON_KEYWORDS:
            return None
        value, not_strings = json_array(args)
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
        for message, span in flag_problems(instruction):
            self.report(message, span)
        problem = argument_problem(instruction, self.escape)
        if problem:
            self.report(problem, instruction.args_span)
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
        for word in parse_words(instruction.args, self.escape):
            key, sep, raw = word.partition("=")
            if sep:
                self.global_defaults[key] = expand(raw, self.global_defaults, escape=self.escape)

    def _stage(self, instruction: Instruction) -> None:
        name, base, problems = from_arguments(instruction)
        for problem in problems:
            self.report(problem, instruction.args_span)
        resolved, error = expand_checked(base, self.global_defaults, escape=self.escape)
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


def _takes_heredocs(keyword: str, args: str, exec_form: tuple[str, ...] | None) -> bool:
    """BuildKit's canContainHeredoc: RUN/COPY/ADD in shell form, also as ONBUILD triggers."""
    if keyword == "ONBUILD":
        parts = split_first_word(args)
        if parts is None:
            return False
        keyword = parts[0].upper()
        _, start = extract_flags(parts[1], 0, len(parts[1]))
        rest = parts[1][start:].strip(GO_SPACE)
        exec_form = json_array(rest)[0] if keyword in _JSON_KEYWORDS else None
    return keyword in _HEREDOC_KEYWORDS and exec_form is None


def _heredoc_specs(line: str) -> list[_HeredocSpec]:
    """BuildKit's heredocsFromLine: words of the whole line, lexed raw, that look like ``<<X``."""
    try:
        _, words = Lexer(line, escape="\\", raw_quotes=True, raw_escapes=True).process()
    except (LexError, RecursionError):
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
        _, words = Lexer(rest, escape="\\").process()
        _, raw_words = Lexer(rest, escape="\\", raw_quotes=True).process()
    except (LexError, RecursionError):
        return None
    if len(words) != 1 or len(raw_words) != 1:
        return None
    word, raw = words[0], raw_words[0]
    quotes = word.count("'") + word.count('"')
    raw_quotes = raw.count("'") + raw.count('"')
    return _HeredocSpec(name=word, chomp=chomp, expand=quotes == raw_quotes)
