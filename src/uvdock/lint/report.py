"""Findings -> report text: ``text``, ``json``, ``sarif`` and ``github`` (``uvdock lint --format``).

Pure functions: they take findings (and, for ``text``, the file texts) and
return a string; the CLI decides where it goes. Every format lists findings
sorted by path, line, column and code, so output is stable across runs. ``sarif``
and ``github`` are written by :mod:`uvdock.lint.annotations`; this module re-exports them.

Positions are those of :mod:`uvdock.dockerfile.syntax`: 1-based lines, 1-based
columns counted in characters (Unicode code points), end column exclusive.
SARIF and GitHub use the same convention, so the numbers pass through as is.

``text``
    For people, in the style of ruff and rustc: a ``path:line:col: CODE
    [severity] message (slug)`` header, the source line under a line-number
    gutter with ``^^^`` under the span (a span over several lines is marked to
    the end of its first line), a ``fix available`` hint when the finding
    carries edits, and a summary line. Tabs expand to 4-column tab stops and
    East Asian wide characters count two columns, so carets line up in a
    terminal. ANSI colour only when ``color=True``.

``json``
    For scripts; a JSON list, one object per finding, with exactly these keys::

        {
          "path": "Dockerfile",          # as given to the linter
          "line": 3, "column": 5,        # start, 1-based
          "end_line": 3, "end_column": 12,  # end, column exclusive
          "code": "UV102",
          "slug": "sync-without-lock",
          "severity": "error",           # "error" | "warning" | "info", after configuration
          "message": "...",
          "fixable": true,               # the finding carries edits `uvdock lint --fix` applies
          "aliases": ["DL3042"]          # the same check in other tools (hadolint, BuildKit)
        }

    The shape is a contract with scripts: change it only by adding keys.

``sarif``
    SARIF 2.1.0 for GitHub code scanning and other viewers: one run, the rules
    that appear (``tool.driver.rules``), results with regions and, for findings
    with edits, ``fixes``. Paths under ``base`` become relative URIs with
    ``uriBaseId`` ``%SRCROOT%`` (what code scanning resolves against the
    repository root); others become ``file://`` URIs.

``github``
    GitHub Actions workflow commands (``::error file=...::message``), one per
    line, escaped as the Actions toolkit escapes them (``escapeData`` and
    ``escapeProperty`` in ``actions/toolkit`` ``packages/core/src/command.ts``).

SARIF and the workflow commands are written by hand on purpose. The Python
object model for SARIF, Microsoft's ``sarif-om`` (last released as 1.0.4), is
generated attrs classes without type hints that need a second package
(``jschema-to-python``) to serialise; the workflow commands are three string
replacements. Plain dictionaries and strings are less code than either
dependency, and the tests hold them to the official SARIF schema and to the
toolkit's escaping rules.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal, TypedDict, get_args

from uvdock.errors import UsageError
from uvdock.lint.annotations import SARIF_SCHEMA_URI, render_github, render_sarif, sarif_log
from uvdock.lint.findings import FIX_HINT, Finding, Severity, sort_findings

__all__ = [
    "REPORT_FORMATS",
    "SARIF_SCHEMA_URI",
    "FindingRecord",
    "ReportFormat",
    "json_records",
    "render",
    "render_github",
    "render_json",
    "render_sarif",
    "render_text",
    "sarif_log",
    "sort_findings",
]

ReportFormat = Literal["text", "json", "sarif", "github"]
REPORT_FORMATS: tuple[ReportFormat, ...] = get_args(ReportFormat)

TAB_WIDTH = 4


class FindingRecord(TypedDict):
    """One finding in the ``json`` format (the shape is documented in the module docstring)."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    code: str
    slug: str
    severity: Severity
    message: str
    fixable: bool
    aliases: list[str]


def render(
    findings: Iterable[Finding],
    *,
    format: str,  # noqa: A002 - the name of the CLI option it serves (--format)
    texts: Mapping[str, str],
    base: Path | None,
    color: bool,
) -> str:
    """Render ``findings`` in ``format`` (one of :data:`REPORT_FORMATS`).

    ``texts`` maps each linted path to its text (``text`` shows source lines
    from it and counts its files); ``base`` is the directory paths are made
    relative to (``sarif``, ``github``); ``color`` adds ANSI colour to ``text``.
    """
    if format == "text":
        return render_text(findings, texts=texts, color=color)
    if format == "json":
        return render_json(findings)
    if format == "sarif":
        return render_sarif(findings, base=base)
    if format == "github":
        return render_github(findings, base=base)
    msg = f"unknown report format {format!r}"
    raise UsageError(msg, hint=f"use one of: {', '.join(REPORT_FORMATS)}")


# --- text ---------------------------------------------------------------------------------------

_RESET = "\x1b[0m"
_BOLD = "1"
_DIM = "2"
_RED = "31"
_GREEN = "32"
_YELLOW = "33"
_BLUE = "34"
_CYAN = "36"
_SEVERITY_STYLE: dict[Severity, str] = {"error": _RED, "warning": _YELLOW, "info": _CYAN}


def render_text(
    findings: Iterable[Finding], *, texts: Mapping[str, str], color: bool = False
) -> str:
    """Findings for a terminal, each with its source line and a caret underline.

    ``texts`` should hold every file that was linted: the summary counts its
    paths (and any other path a finding names) as the files checked.
    """
    ordered = sort_findings(findings)
    lines_of = {path: _split_lines(text) for path, text in texts.items()}
    out: list[str] = []
    for finding in ordered:
        out.extend(_text_block(finding, lines_of.get(finding.path), color=color))
        out.append("")
    files = len(set(texts) | {f.path for f in ordered})
    out.append(_paint(_summary(ordered, files), _BOLD, color=color))
    return "\n".join(out) + "\n"


def _text_block(finding: Finding, lines: Sequence[str] | None, *, color: bool) -> list[str]:
    span = finding.span
    style = _SEVERITY_STYLE[finding.severity]
    # Paths and messages can quote the Dockerfile; its control characters must not reach the
    # terminal as control characters.
    header = (
        _paint(
            f"{_printable(finding.path)}:{span.start_line}:{span.start_col}:", _BOLD, color=color
        )
        + " "
        + _paint(finding.code, _BOLD, style, color=color)
        + " "
        + _paint(f"[{finding.severity}]", style, color=color)
        + f" {_printable(finding.message)} "
        + _paint(f"({finding.rule.slug})", _DIM, color=color)
    )
    block = [header]
    width = len(str(span.start_line))
    pad = " " * width
    if lines is not None and 1 <= span.start_line <= len(lines):
        source = lines[span.start_line - 1]
        shown, offsets = _display(source)
        start = min(max(span.start_col, 1), len(source) + 1) - 1
        end = len(source) if span.end_line > span.start_line else span.end_col - 1
        end = min(max(end, start), len(source))
        caret_from = offsets[start]
        carets = "^" * max(offsets[end] - caret_from, 1)
        bar = _paint("|", _BLUE, _BOLD, color=color)
        number = _paint(str(span.start_line), _BLUE, _BOLD, color=color)
        block.append(f"{pad} {bar}")
        block.append(f"{number} {bar} {shown}" if shown else f"{number} {bar}")
        block.append(f"{pad} {bar} {' ' * caret_from}{_paint(carets, _BOLD, style, color=color)}")
    if finding.fix:
        equals = _paint("=", _BLUE, _BOLD, color=color)
        block.append(f"{pad} {equals} {_paint(FIX_HINT, _GREEN, color=color)}")
    return block


def _summary(findings: Sequence[Finding], files: int) -> str:
    files_text = _plural(files, "file")
    if not findings:
        return f"no problems in {files_text}"
    counts = Counter(finding.severity for finding in findings)
    return (
        f"{_plural(counts['error'], 'error')}, {_plural(counts['warning'], 'warning')}, "
        f"{_plural(counts['info'], 'info')} in {files_text}"
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _paint(text: str, *styles: str, color: bool) -> str:
    if not color or not text:
        return text
    return f"\x1b[{';'.join(styles)}m{text}{_RESET}"


def _split_lines(text: str) -> list[str]:
    # Dockerfile lines end at "\n" (BuildKit strips a trailing "\r"); str.splitlines would
    # also split at form feeds and Unicode separators and shift every line number after them.
    return [line.removesuffix("\r") for line in text.split("\n")]


def _display(line: str) -> tuple[str, list[int]]:
    """The line as a terminal shows it, and the display column before each character.

    ``offsets[i]`` is where character ``i`` starts; ``offsets[len(line)]`` is the width.
    """
    shown: list[str] = []
    offsets = [0]
    column = 0
    for char in line:
        if char == "\t":
            spaces = TAB_WIDTH - column % TAB_WIDTH
            shown.append(" " * spaces)
            column += spaces
        else:
            glyph = _visible(char)
            shown.append(glyph)
            column += _char_width(glyph)
        offsets.append(column)
    return "".join(shown), offsets


def _printable(text: str) -> str:
    return "".join(_visible(char) for char in text)


def _visible(char: str) -> str:
    """Control characters as Unicode control pictures, so they cannot move the cursor."""
    code = ord(char)
    if code < 0x20:  # noqa: PLR2004 - C0 controls map onto U+2400..U+241F
        return chr(0x2400 + code)
    if code == 0x7F:  # noqa: PLR2004 - DEL
        return "\u2421"
    if unicodedata.category(char) == "Cc":
        return "\ufffd"
    return char


def _char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in {"Mn", "Me", "Cf"}:
        return 0
    if unicodedata.east_asian_width(char) in {"W", "F"}:
        return 2
    return 1


# --- json ---------------------------------------------------------------------------------------


def json_records(findings: Iterable[Finding]) -> list[FindingRecord]:
    """The ``json`` format as Python data (for the CLI's versioned JSON envelope)."""
    return [
        FindingRecord(
            path=f.path,
            line=f.span.start_line,
            column=f.span.start_col,
            end_line=f.span.end_line,
            end_column=f.span.end_col,
            code=f.code,
            slug=f.rule.slug,
            severity=f.severity,
            message=f.message,
            fixable=bool(f.fix),
            aliases=list(f.rule.aliases),
        )
        for f in sort_findings(findings)
    ]


def render_json(findings: Iterable[Finding]) -> str:
    """Findings as a JSON list (see the module docstring for the shape)."""
    return json.dumps(json_records(findings), indent=2, ensure_ascii=False) + "\n"
