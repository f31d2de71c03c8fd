"""``uvdock lint``: find what is wrong in Dockerfiles for Python and uv, and fix some of it."""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path

import click

from uvdock.cli.output import console, emit_json
from uvdock.errors import UsageError
from uvdock.fileio import FileChange, write_all
from uvdock.lint.api import fails, lint_paths, project_dockerfiles
from uvdock.lint.docs import find_rule, rule_markdown
from uvdock.lint.engine import LintConfig
from uvdock.lint.findings import Severity
from uvdock.lint.report import json_records, render
from uvdock.lint.rules import RULES


def _codes(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(c.strip() for v in values for c in v.split(",") if c.strip())


@click.command(name="lint")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--context", "context_dir", type=click.Path(file_okay=False, path_type=Path),
    help="the build context the rules read (.dockerignore, pyproject.toml, uv.lock, "
    ".python-version). Default: each Dockerfile's directory.",
)  # fmt: skip
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json", "sarif", "github"]),
    default="text", show_default=True,
    help="text for people; json (a versioned envelope) for programs; sarif 2.1.0 for code "
    "scanning; github for workflow annotations.",
)  # fmt: skip
@click.option(
    "--fail-level", type=click.Choice(["error", "warning", "info"]), default="warning",
    show_default=True, help="exit 1 when a finding is at this severity or worse.",
)  # fmt: skip
@click.option(
    "--select",
    multiple=True,
    metavar="CODES",
    help="only these rules (codes, slugs or prefixes like UV1; comma-separated).",
)
@click.option("--ignore", multiple=True, metavar="CODES", help="skip these rules.")
@click.option("--fix", is_flag=True, help="apply the mechanical, safe fixes to the files.")
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="with --fix: print the changes as a diff and write nothing.",
)
@click.option("--explain", metavar="CODE", help="print one rule's documentation and exit.")
@click.option("--list-rules", is_flag=True, help="list every rule and exit.")
def lint_command(  # noqa: PLR0917 - one parameter per option
    files: tuple[Path, ...],
    context_dir: Path | None,
    output_format: str,
    fail_level: Severity,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    fix: bool,  # noqa: FBT001 - click flag
    show_diff: bool,  # noqa: FBT001 - click flag
    explain: str | None,
    list_rules: bool,  # noqa: FBT001 - click flag
) -> None:
    """Lint Dockerfiles: uv, Python and container rules, with fixes.

    Without FILES: the Dockerfiles in the current directory (Dockerfile,
    Dockerfile.*, *.Dockerfile). The rules also read the build context
    (--context, default: each file's directory) and stay quiet about what
    it does not contain. Settings: [tool.uvdock.lint] in pyproject.toml
    (select, ignore, severity = {UV104 = "error"}).

    Suppress one finding with a comment on the line above the instruction:
    `# uvdock: ignore=UV102 reason`; `# hadolint ignore=DL3008` and
    `# check=skip=JSONArgsRecommended` work for rules with those aliases.

    Exits 0 when no finding reaches --fail-level, 1 when one does, 2 for
    usage errors.

    \b
    Examples:
      uvdock lint
      uvdock lint Dockerfile --fix --diff
      uvdock lint docker/*.Dockerfile --context . --format sarif > lint.sarif
      uvdock lint --explain UV102
    """
    if explain:
        sys.stdout.write(rule_markdown(find_rule(explain)))
        return
    if list_rules:
        for current in RULES:
            info = current.info
            mark = " (fix)" if info.fixable else ""
            sys.stdout.write(
                f"{info.code}  {info.slug:<36} {info.severity:<8} {info.summary}{mark}\n"
            )
        return
    if show_diff and not fix:
        raise UsageError("--diff shows what --fix would change", hint="use --fix --diff")
    paths = list(files) or project_dockerfiles(Path.cwd())
    if not paths:
        raise UsageError(
            "no Dockerfile here (Dockerfile, Dockerfile.*, *.Dockerfile)",
            hint="pass the files to lint, or run in the project directory",
        )
    config = LintConfig(select=_codes(select), ignore=_codes(ignore))
    results = lint_paths(paths, context_dir=context_dir, config=config, fix=fix)
    if fix:
        changes = [
            FileChange(
                path=r.path,
                name=r.display,
                action="overwrite",
                content=r.fixed_text,
                previous=r.text,
            )
            for r in results
            if r.fixed_text is not None
        ]
        if show_diff:
            for change in changes:
                sys.stdout.write(_diff(change))
        else:
            write_all(changes)
            for result in results:
                if result.fixes_applied:
                    console(stderr=True).print(
                        f"fixed {result.fixes_applied} problem(s) in {result.display}"
                    )
        if show_diff:
            return
    findings = [f for r in results for f in r.findings]
    failed = fails(results, fail_level)
    if output_format == "json":
        emit_json(
            "lint",
            status="error" if failed else "ok",
            data={"files": [r.display for r in results], "findings": json_records(findings)},
            errors=[],
        )
    else:
        texts = {r.display: r.text if r.fixed_text is None or show_diff else r.fixed_text
                 for r in results}  # fmt: skip
        # Decided here rather than by rich, whose import alone costs ~60 ms per run.
        color = (
            output_format == "text"
            and sys.stdout.isatty()
            and not os.environ.get("NO_COLOR")
            and os.environ.get("TERM") != "dumb"
        )
        sys.stdout.write(
            render(findings, format=output_format, texts=texts, base=Path.cwd(), color=color)
        )
    if failed:
        sys.exit(1)


def _diff(change: FileChange) -> str:
    return "".join(
        difflib.unified_diff(
            (change.previous or "").splitlines(keepends=True),
            change.content.splitlines(keepends=True),
            fromfile=f"a/{change.name}",
            tofile=f"b/{change.name}",
        )
    )
