"""``uvdock lint``: find what is wrong in Dockerfiles for Python and uv, and fix some of it.

The options and the help are here; what the command does is
:func:`uvdock.cli.lint_run.run_lint`, which plain command lines reach without click.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from uvdock.cli.lint_run import FAIL_LEVELS, FORMATS, run_lint


@click.command(name="lint")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--context", "context_dir", type=click.Path(file_okay=False, path_type=Path),
    help="the build context the rules read (.dockerignore, pyproject.toml, uv.lock, "
    ".python-version). Default: each Dockerfile's directory.",
)  # fmt: skip
@click.option(
    "--format", "output_format", type=click.Choice(FORMATS),
    default="text", show_default=True,
    help="text for people; json (a versioned envelope) for programs; sarif 2.1.0 for code "
    "scanning; github for workflow annotations.",
)  # fmt: skip
@click.option(
    "--fail-level", type=click.Choice(FAIL_LEVELS), default="warning",
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
def lint_command(**options: Any) -> None:
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
    run_lint(**options)
