"""What a lint rule reports, and the rule metadata every output format needs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Literal

from uvdock.dockerfile.syntax import Span

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RuleInfo:
    """A rule's identity and documentation (``uvdock lint --explain CODE``, docs/rules/)."""

    code: str  # stable, e.g. "UV102"
    slug: str  # e.g. "sync-without-lock"
    severity: Severity  # the default
    summary: str  # one line: what the rule finds
    why: str  # a paragraph: why it matters
    bad: str  # a Dockerfile fragment the rule flags
    good: str  # the same fragment done right
    source: str  # where the advice comes from (docs, issues)
    aliases: tuple[str, ...] = ()  # the same check elsewhere: hadolint DLxxxx, BuildKit names
    fixable: bool = False  # --fix can resolve it

    @property
    def doc_path(self) -> str:
        return f"docs/rules/{self.code}.md"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Edit:
    """Replace the text in ``span`` of the file with ``text`` (a fix)."""

    span: Span
    text: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Finding:
    rule: RuleInfo
    severity: Severity  # after configuration overrides
    message: str  # says what is wrong and what to do
    path: str
    span: Span
    fix: tuple[Edit, ...] = ()  # mechanical and safe edits that resolve it, if any

    @property
    def code(self) -> str:
        return self.rule.code


# What the text and SARIF reports say of a finding that carries edits.
FIX_HINT = "fix available: run uvdock lint --fix"


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in report order: by path, line, column, then code."""
    return sorted(findings, key=lambda f: (f.path, f.span.start_line, f.span.start_col, f.code))
