"""The report formats for code hosts, which annotate files of a repository: ``sarif``
(SARIF 2.1.0, code scanning) and ``github`` (Actions workflow commands). Both name files
relative to ``base``, the source root. :mod:`uvdock.lint.report` describes every format
and dispatches to these.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import uvdock
from uvdock.dockerfile.syntax import Span
from uvdock.lint.findings import FIX_HINT, Finding, RuleInfo, Severity, sort_findings

SARIF_VERSION = "2.1.0"
# The OASIS-published schema of SARIF 2.1.0 (errata 01), the URI viewers know.
SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
# GitHub code scanning resolves relative URIs with this base against the repository root.
SRCROOT = "%SRCROOT%"
_SARIF_LEVELS: dict[Severity, str] = {"error": "error", "warning": "warning", "info": "note"}
_GITHUB_COMMANDS: dict[Severity, str] = {"error": "error", "warning": "warning", "info": "notice"}


# --- sarif --------------------------------------------------------------------------------------


def render_sarif(findings: Iterable[Finding], *, base: Path | None = None) -> str:
    """Findings as a SARIF 2.1.0 log (JSON text)."""
    return json.dumps(sarif_log(findings, base=base), indent=2, ensure_ascii=False) + "\n"


def sarif_log(findings: Iterable[Finding], *, base: Path | None = None) -> dict[str, Any]:
    """The SARIF 2.1.0 log as Python data; ``base`` is the source root (``%SRCROOT%``)."""
    ordered = sort_findings(findings)
    rules: dict[str, RuleInfo] = {}
    for finding in sorted(ordered, key=lambda f: f.code):
        rules.setdefault(finding.code, finding.rule)
    index = {code: i for i, code in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "uvdock",
                "version": uvdock.__version__,  # importlib.metadata: only for SARIF
                "rules": [_sarif_rule(rule) for rule in rules.values()],
            }
        },
    }
    if base is not None:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": _directory_uri(base)}}
    run["columnKind"] = "unicodeCodePoints"  # syntax.Span columns count characters
    run["results"] = [_sarif_result(f, index[f.code], base=base) for f in ordered]
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def _sarif_rule(rule: RuleInfo) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.slug,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.why},
        "help": {"text": _help_text(rule), "markdown": _help_markdown(rule)},
        "defaultConfiguration": {"level": _SARIF_LEVELS[rule.severity]},
        "properties": {"tags": list(dict.fromkeys(rule.aliases))},
    }


def _help_text(rule: RuleInfo) -> str:
    return (
        f"{rule.why}\n\n"
        f"Example:\n{_indent(rule.bad)}\n\n"
        f"Use instead:\n{_indent(rule.good)}\n\n"
        f"Source: {rule.source}"
    )


def _help_markdown(rule: RuleInfo) -> str:
    return (
        f"{rule.why}\n\n"
        f"Example:\n\n{_fenced(rule.bad)}\n\n"
        f"Use instead:\n\n{_fenced(rule.good)}\n\n"
        f"Source: {rule.source}"
    )


def _indent(block: str) -> str:
    return "\n".join(f"    {line}" if line else "" for line in block.strip("\n").split("\n"))


def _fenced(block: str) -> str:
    body = block.strip("\n")
    longest = run = 0
    for char in body:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)  # CommonMark: a fence longer than any backtick run inside
    return f"{fence}dockerfile\n{body}\n{fence}"


def _sarif_result(finding: Finding, rule_index: int, *, base: Path | None) -> dict[str, Any]:
    location = _artifact_location(finding.path, base)
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": _SARIF_LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [
            {"physicalLocation": {"artifactLocation": location, "region": _region(finding.span)}}
        ],
    }
    if finding.fix:
        edits = sorted(finding.fix, key=lambda e: (e.span.start_line, e.span.start_col))
        result["fixes"] = [
            {
                "description": {"text": f"{finding.code} ({finding.rule.slug}): {FIX_HINT}"},
                "artifactChanges": [
                    {
                        "artifactLocation": location,
                        "replacements": [
                            {"deletedRegion": _region(e.span), "insertedContent": {"text": e.text}}
                            for e in edits
                        ],
                    }
                ],
            }
        ]
    return result


def _region(span: Span) -> dict[str, int]:
    return {
        "startLine": span.start_line,
        "startColumn": span.start_col,
        "endLine": span.end_line,
        "endColumn": span.end_col,
    }


def _artifact_location(path: str, base: Path | None) -> dict[str, str]:
    relative = _relative_to(path, base)
    if relative is not None:
        # Percent-encode everything but "/": a relative reference must not carry a
        # ":" in its first segment, and "%" or " " in a name must survive decoding.
        return {"uri": quote(relative.as_posix(), safe="/"), "uriBaseId": SRCROOT}
    return {"uri": _absolute(path).as_uri()}


def _directory_uri(base: Path) -> str:
    uri = _absolute(base).as_uri()
    # SARIF 3.14.14: a uriBaseId's URI ends with a slash, or relative URIs resolve wrongly.
    return uri if uri.endswith("/") else uri + "/"


# --- github -------------------------------------------------------------------------------------


def render_github(findings: Iterable[Finding], *, base: Path | None = None) -> str:
    """One GitHub Actions workflow command per finding (annotations on the pull request)."""
    out = []
    for finding in sort_findings(findings):
        span = finding.span
        relative = _relative_to(finding.path, base)
        properties: list[tuple[str, str | int]] = [
            ("file", relative.as_posix() if relative is not None else finding.path),
            ("line", span.start_line),
        ]
        # Annotations take columns only on a single line (the toolkit's AnnotationProperties).
        if span.end_line == span.start_line:
            properties.append(("col", span.start_col))
        properties.append(("endLine", span.end_line))
        if span.end_line == span.start_line:
            properties.append(("endColumn", span.end_col))
        properties.append(("title", f"{finding.code} {finding.rule.slug}"))
        joined = ",".join(f"{key}={_escape_property(str(value))}" for key, value in properties)
        command = _GITHUB_COMMANDS[finding.severity]
        out.append(f"::{command} {joined}::{_escape_data(finding.message)}\n")
    return "".join(out)


def _escape_data(value: str) -> str:
    """``escapeData`` of actions/toolkit: the message after ``::``."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    """``escapeProperty`` of actions/toolkit: a ``key=value`` property value."""
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


# --- paths --------------------------------------------------------------------------------------


def _absolute(path: str | Path) -> Path:
    # Lexical only (no symlink resolution, no file system access); relative paths are
    # taken from the current directory, as the command line gave them.
    return Path(os.path.normpath(Path(path).absolute()))


def _relative_to(path: str, base: Path | None) -> PurePosixPath | None:
    """``path`` relative to ``base`` as a POSIX path, or None when it is not under ``base``."""
    if base is None:
        return None
    try:
        relative = _absolute(path).relative_to(_absolute(base))
    except ValueError:
        return None
    if relative == Path():
        return None
    return PurePosixPath(relative.as_posix())
