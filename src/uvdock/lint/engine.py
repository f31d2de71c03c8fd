"""Run the rules over Dockerfiles: selection, severities, suppressions and fixes.

Suppressions, checked on the comment lines directly above an instruction (and
applying to every finding inside it):

- ``# uvdock: ignore=UV102,PY203 optional reason``;
- ``# hadolint ignore=DL3008`` for rules that alias that hadolint code;
- ``# check=skip=JSONArgsRecommended`` for rules that alias that BuildKit check;
- and for the whole file, the BuildKit directive ``# check=skip=A,B`` (or ``all``)
  and ``# uvdock: global ignore=UV104`` anywhere in the file.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from uvdock.dockerfile import parse_dockerfile
from uvdock.dockerfile.syntax import Dockerfile, Instruction, Span
from uvdock.errors import ConfigError
from uvdock.lint.context import BuildContext, load_context
from uvdock.lint.findings import SEVERITIES, Finding, RuleInfo, Severity
from uvdock.lint.rules import RULES, Rule
from uvdock.lint.rules.base import Analysis

PRAGMA = re.compile(r"^uvdock:\s*(global\s+)?ignore\s*=\s*([\w,\s-]+?)(?:\s+.*)?$", re.IGNORECASE)
HADOLINT = re.compile(r"^hadolint\s+(global\s+)?ignore\s*=\s*([\w,\s]+)", re.IGNORECASE)
CHECK_SKIP = re.compile(r"^check\s*=\s*skip\s*=\s*([\w,]+)", re.IGNORECASE)
PARSE_RULE = RuleInfo(
    code="UV000",
    slug="parse-error",
    severity="error",
    summary="the Dockerfile cannot be parsed as BuildKit would",
    why="BuildKit would reject this Dockerfile, or read it differently from what it says.",
    bad="RUN <<EOF\necho unterminated",
    good="RUN <<EOF\necho terminated\nEOF",
    source="BuildKit's Dockerfile parser",
)


INTERNAL_RULE = RuleInfo(
    code="UV999",
    slug="internal-error",
    severity="error",
    summary="a rule failed on this Dockerfile (a bug in uvdock)",
    why="A rule raised an error on this file; the other rules ran. Please report it.",
    bad="",
    good="",
    source="uvdock",
)


def _internal_error(info: RuleInfo, error: Exception, dockerfile: Dockerfile) -> Finding:
    first = dockerfile.instructions[0].span if dockerfile.instructions else None
    return Finding(
        rule=INTERNAL_RULE,
        severity="error",
        message=f"rule {info.code} failed on this file ({type(error).__name__}: {error}); the "
        "other rules ran; please report it with this Dockerfile to uvdock's issue tracker",
        path=dockerfile.path,
        span=first or Span(start_line=1, start_col=1, end_line=1, end_col=1),
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class LintConfig:
    select: tuple[str, ...] = ()  # codes or prefixes ("UV", "PY2"); empty: all
    ignore: tuple[str, ...] = ()
    severity: Mapping[str, Severity] = dataclasses.field(default_factory=dict)
    # Registries images may come from (PY217); empty: any.
    trusted_registries: tuple[str, ...] = ()

    def enabled(self, info: RuleInfo) -> bool:
        names = (info.code, info.slug)
        if self.select and not any(n.startswith(s) for s in self.select for n in names):
            return False
        return not any(n.startswith(i) for i in self.ignore for n in names)

    def severity_of(self, info: RuleInfo) -> Severity:
        return self.severity.get(info.code, self.severity.get(info.slug, info.severity))

    def merged(self, other: LintConfig) -> LintConfig:
        """``other`` (e.g. command-line flags) on top of this (e.g. pyproject.toml)."""
        return LintConfig(
            select=other.select or self.select,
            ignore=(*self.ignore, *other.ignore),
            severity={**self.severity, **other.severity},
            trusted_registries=other.trusted_registries or self.trusted_registries,
        )


def unknown_code(values: Iterable[str]) -> tuple[str, str] | None:
    """The first of ``values`` that names no rule (not a code, slug, alias or a prefix of
    one), with a hint (the closest rule name); None when all are known. An unknown code in
    ``select`` would silently turn every rule off."""
    names = sorted({n.upper() for r in RULES for n in (r.info.code, r.info.slug, *r.info.aliases)})
    for value in values:
        wanted = value.strip().upper()
        if wanted and not any(name.startswith(wanted) for name in names):
            import difflib  # noqa: PLC0415 - only for the suggestion

            close = difflib.get_close_matches(wanted, names, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else "`uvdock lint --list-rules` lists them"
            return value, hint
    return None


def config_from_table(table: Mapping[str, object], *, where: str) -> LintConfig:
    """``[tool.uvdock.lint]`` -> LintConfig; unknown keys and bad values are ConfigErrors."""
    known = {"select", "ignore", "severity", "trusted-registries"}
    for key in table:
        if key not in known:
            raise ConfigError(
                f"{where}: unknown key {key!r} in [tool.uvdock.lint]",
                hint=f"use one of {', '.join(sorted(known))}",
            )
    codes = {r.info.code for r in RULES} | {r.info.slug for r in RULES}

    def code_list(key: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: [tool.uvdock.lint] {key} must be a list of rule codes")
        unknown = unknown_code(value) if key in ("select", "ignore") else None
        if unknown is not None:
            raise ConfigError(
                f"{where}: [tool.uvdock.lint] {key} names no rule: {unknown[0]!r}",
                hint=unknown[1],
            )
        return tuple(str(v) for v in value)

    severity = table.get("severity", {})
    if not isinstance(severity, dict):
        raise ConfigError(
            f'{where}: [tool.uvdock.lint] severity must be a table, e.g. {{UV104 = "error"}}'
        )
    levels: dict[str, Severity] = {}
    for code, level in severity.items():
        if code not in codes:
            raise ConfigError(
                f"{where}: [tool.uvdock.lint] severity names an unknown rule {code!r}"
            )
        if level not in SEVERITIES:
            raise ConfigError(
                f"{where}: [tool.uvdock.lint] severity of {code} is {level!r}",
                hint="use error, warning or info",
            )
        levels[code] = level
    return LintConfig(
        select=code_list("select"),
        ignore=code_list("ignore"),
        severity=levels,
        trusted_registries=code_list("trusted-registries"),
    )


def _codes(text: str) -> set[str]:
    return {c.strip().upper() for c in re.split(r"[,\s]+", text) if c.strip()}


def _suppressed(info: RuleInfo, codes: set[str]) -> bool:
    names = {info.code.upper(), info.slug.upper(), *(a.upper() for a in info.aliases)}
    return "ALL" in codes or bool(names & codes)


class _Suppressions:
    def __init__(self, dockerfile: Dockerfile) -> None:
        self.file_wide: set[str] = set()
        check = dockerfile.directive("check")
        if check is not None:
            match = re.search(r"skip\s*=\s*([\w,]+)", check.value, re.IGNORECASE)
            if match:
                self.file_wide |= _codes(match.group(1))
        for comment in dockerfile.comments:
            pragma = PRAGMA.match(comment.text)
            if pragma and pragma.group(1):
                self.file_wide |= _codes(pragma.group(2))
            hado = HADOLINT.match(comment.text)
            if hado and hado.group(1):
                self.file_wide |= _codes(hado.group(2))
        self.by_line: list[tuple[Instruction, set[str]]] = []
        for item in dockerfile.instructions:
            codes: set[str] = set()
            for comment in item.comments:
                for pattern in (PRAGMA, HADOLINT):
                    match = pattern.match(comment.text)
                    if match and not match.group(1):
                        codes |= _codes(match.group(2))
                skip = CHECK_SKIP.match(comment.text)
                if skip:
                    codes |= _codes(skip.group(1))
            if codes:
                self.by_line.append((item, codes))

    def hides(self, info: RuleInfo, span: Span, *, same_file: bool) -> bool:
        if _suppressed(info, self.file_wide):
            return True
        if not same_file:
            return False
        return any(
            item.span.start_line <= span.start_line <= item.span.end_line
            and _suppressed(info, codes)
            for item, codes in self.by_line
        )


def lint_dockerfile(
    dockerfile: Dockerfile,
    context: BuildContext,
    config: LintConfig,
    *,
    rules: Sequence[Rule] = RULES,
) -> list[Finding]:
    """Every finding of the enabled rules in one parsed Dockerfile, sorted."""
    findings: list[Finding] = [
        Finding(
            rule=PARSE_RULE,
            severity="error",
            message=d.message,
            path=dockerfile.path,
            span=d.span,
        )
        for d in dockerfile.diagnostics
    ]
    enabled = frozenset(r.info.code for r in rules if config.enabled(r.info))
    analysis = Analysis(
        dockerfile, context, trusted_registries=config.trusted_registries, enabled=enabled
    )
    suppressions = _Suppressions(dockerfile)
    for current in rules:
        if not config.enabled(current.info):
            continue
        try:
            hits = list(current.check(analysis))
        except Exception as error:  # noqa: BLE001 - one rule's bug must not hide the others
            findings.append(_internal_error(current.info, error, dockerfile))
            continue
        for hit in hits:
            path = str(hit.path) if hit.path is not None else dockerfile.path
            if suppressions.hides(current.info, hit.span, same_file=hit.path is None):
                continue
            findings.append(
                Finding(
                    rule=current.info,
                    severity=config.severity_of(current.info),
                    message=hit.message,
                    path=path,
                    span=hit.span,
                    fix=hit.fix,
                )
            )
    unique = {(f.path, f.span, f.code, f.message): f for f in findings}
    return sorted(
        unique.values(),
        key=lambda f: (f.path, f.span.start_line, f.span.start_col, f.code),
    )


def lint_text(
    text: str,
    *,
    path: str = "Dockerfile",
    context_dir: Path | None = None,
    config: LintConfig | None = None,
    dockerfile_path: Path | None = None,
) -> list[Finding]:
    """Lint Dockerfile ``text`` (the library entry point; nothing is printed or written).

    ``dockerfile_path`` is where the file lives, when BuildKit should find its own
    ``<Dockerfile>.dockerignore`` beside it.
    """
    dockerfile = parse_dockerfile(text, path=path)
    context = load_context(
        context_dir.resolve() if context_dir else None, dockerfile=dockerfile_path
    )
    return lint_dockerfile(dockerfile, context, config or LintConfig())


def apply_fixes(text: str, findings: Iterable[Finding]) -> tuple[str, int]:
    """``text`` with every non-overlapping fix of ``findings`` applied, and how many.

    Offsets are taken in ``text`` itself, so every byte outside an edit is kept as it
    was: line endings (LF, CRLF, or a mix of both) included. An edit that overlaps one
    taken before it (working from the end of the file) is left for the next run.
    Linear in the file and the number of edits.
    """
    line_starts = [0, *(match.end() for match in re.finditer("\n", text))]

    def offset(line: int, col: int) -> int:
        if line - 1 >= len(line_starts):
            return len(text)
        return min(line_starts[line - 1] + col - 1, len(text))

    edits: list[tuple[int, int, str]] = []
    insertions: dict[int, int] = {}  # offset -> index in edits, for insertions at one point
    for finding in findings:
        for edit in finding.fix:
            start = offset(edit.span.start_line, edit.span.start_col)
            end = offset(edit.span.end_line, edit.span.end_col)
            if start == end and start in insertions:
                # Insertions at one point (`uv sync` + --locked, --no-dev): in rule order.
                index = insertions[start]
                edits[index] = (start, end, edits[index][2] + edit.text)
                continue
            if start == end:
                insertions[start] = len(edits)
            edits.append((start, end, edit.text))
    chosen: list[tuple[int, int, str]] = []
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        if chosen:
            # Taken edits are disjoint and start at or after this one: only the nearest
            # (the last taken) can overlap it.
            last_start, last_end, _ = chosen[-1]
            if start < last_end and end > last_start:
                continue
        chosen.append((start, end, replacement))
    pieces: list[str] = []
    position = 0
    for start, end, replacement in reversed(chosen):
        pieces += [text[position:start], replacement]
        position = end
    pieces.append(text[position:])
    return "".join(pieces), len(chosen)
