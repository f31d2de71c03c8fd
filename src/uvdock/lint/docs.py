"""Rule documentation: ``uvdock lint --explain CODE`` and the pages in ``docs/rules/``.

The pages are generated from the rules themselves (``scripts/gen_rule_docs.py``),
and a unit test checks that the committed pages are current.
"""

from __future__ import annotations

from uvdock.errors import UsageError
from uvdock.lint.findings import RuleInfo
from uvdock.lint.rules import RULES


def find_rule(code: str) -> RuleInfo:
    wanted = code.strip().upper()
    for current in RULES:
        info = current.info
        if wanted in (info.code, info.slug.upper(), *(a.upper() for a in info.aliases)):
            return info
    raise UsageError(f"no rule {code!r}", hint="`uvdock lint --list-rules` lists them")


def rule_markdown(info: RuleInfo) -> str:
    lines = [
        f"# {info.code} `{info.slug}`",
        "",
        f"Default severity: **{info.severity}**."
        + (" `uvdock lint --fix` fixes it." if info.fixable else ""),
        "",
        f"{info.summary[0].upper()}{info.summary[1:]}.",
        "",
        "## Why",
        "",
        info.why,
        "",
        "## Flagged",
        "",
        "```dockerfile",
        info.bad,
        "```",
        "",
        "## Instead",
        "",
        "```dockerfile",
        info.good,
        "```",
        "",
        "## Source",
        "",
        info.source,
    ]
    if info.aliases:
        lines += ["", "## Same check elsewhere", "", ", ".join(f"`{a}`" for a in info.aliases)]
    lines += [
        "",
        "## Suppress",
        "",
        "```dockerfile",
        f"# uvdock: ignore={info.code} the reason",
        "```",
        "",
        f'on the line above the instruction, or `ignore = ["{info.code}"]` in',
        "`[tool.uvdock.lint]`.",
    ]
    return "\n".join(lines) + "\n"


def rules_index() -> str:
    rows = [
        "# uvdock lint rules",
        "",
        "Generated from the rules (`scripts/gen_rule_docs.py`); `uvdock lint --explain CODE`",
        "prints the same page.",
        "",
        "| code | slug | severity | finds | fix | same as |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for current in sorted(RULES, key=lambda r: r.info.code):
        info = current.info
        rows.append(
            f"| [{info.code}]({info.code}.md) | `{info.slug}` | {info.severity} | "
            f"{info.summary.replace('|', '/')} | {'yes' if info.fixable else ''} | "
            f"{', '.join(info.aliases)} |"
        )
    return "\n".join(rows) + "\n"


def rule_pages() -> dict[str, str]:
    """File name -> content of every page under docs/rules/."""
    pages = {f"{r.info.code}.md": rule_markdown(r.info) for r in RULES}
    pages["README.md"] = rules_index()
    return pages
