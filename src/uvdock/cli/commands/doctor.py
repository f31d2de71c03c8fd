"""``uvdock doctor``: check the build environment, or look inside a built image."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click
from rich.markup import escape
from rich.table import Table

from uvdock.cli.output import console, emit_json
from uvdock.docker.cli import DockerCLI
from uvdock.doctor import Check, ImageReport, environment_checks, has_errors, inspect_image

_STATUS_STYLE = {"ok": "green", "note": "cyan", "warning": "yellow", "error": "bold red"}
_ENVIRONMENT_GROUPS = (
    ("Docker", ("docker", "buildx", "builder", "compose")),
    ("Platforms and registry", ("emulation", "credentials")),
    ("Disk", ("disk",)),
    ("Project", ("project", "plan")),
)


@click.command(name="doctor")
@click.argument("image", required=False)
@click.option(
    "--registry", metavar="HOST",
    help="check that Docker has credentials for this registry (never printed). Without IMAGE.",
)  # fmt: skip
@click.option(
    "--project", "project", default=".", show_default=True,
    type=click.Path(file_okay=False, path_type=str),
    help="project whose plan problems to report. Without IMAGE.",
)  # fmt: skip
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text",
    help="text for people, json for programs (a versioned envelope).",
)  # fmt: skip
def doctor_command(
    image: str | None, registry: str | None, project: str, output_format: str
) -> None:
    """Check the build environment, or, with IMAGE, look inside a built image.

    Without IMAGE: the Docker client and engine, buildx builders, compose,
    emulation of foreign platforms, registry credentials (--registry), free
    disk space, and the plan of the project in --project.

    With IMAGE: one `docker run --entrypoint python IMAGE` (no shell, no uv
    needed) reports its Python, sys.path, installed distributions, user,
    writable paths, and whether the module its CMD starts imports.

    Every check is ok, note, warning or error with a one-line fix. Exits 1
    when any check is an error.

    \b
    Examples:
      uvdock doctor
      uvdock doctor --registry registry.example.com --project examples/fastapi-app
      uvdock doctor myapp:dev --format json | jq .data.distributions
    """
    docker = DockerCLI()
    report: ImageReport | None = None
    if image:
        report = inspect_image(docker, image)
        checks = report.checks
    else:
        checks = environment_checks(docker, registry=registry, project=project)
    failed = has_errors(checks)
    if output_format == "json":
        data = report.to_data() if report else {"checks": [c.to_data() for c in checks]}
        emit_json(
            "doctor",
            status="error" if failed else "ok",
            data=data,
            errors=[{"message": _one_line(c)} for c in checks if c.status == "error"],
        )
    elif report is not None:
        print_image_report(report)
    else:
        print_environment(checks)
    if failed:
        # Not click's Exit: cli.main(standalone_mode=False) returns its code, and main() drops it.
        sys.exit(1)


def _one_line(check: Check) -> str:
    text = f"{check.name}: {check.detail}"
    return f"{text}; {check.fix}" if check.fix else text


def _checks_table(checks: Sequence[Check]) -> Table:
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 2))
    table.add_column(style="bold", overflow="fold")
    table.add_column(overflow="fold")
    table.add_column(overflow="fold")
    for check in checks:
        style = _STATUS_STYLE[check.status]
        detail = escape(check.detail)
        if check.fix:
            detail += f"\n[dim]fix: {escape(check.fix)}[/dim]"
        table.add_row(escape(check.name), f"[{style}]{check.status}[/{style}]", detail)
    return table


def _summary(checks: Sequence[Check]) -> str:
    counts = {s: sum(c.status == s for c in checks) for s in ("error", "warning")}
    return f"{counts['error']} error(s), {counts['warning']} warning(s)"


def print_environment(checks: Sequence[Check]) -> None:
    out = console()
    out.print("[bold]uvdock doctor[/bold]: the build environment")
    for title, prefixes in _ENVIRONMENT_GROUPS:
        rows = [c for c in checks if c.name.split(" ", 1)[0] in prefixes]
        if rows:
            out.print(f"\n[bold underline]{title}[/bold underline]")
            out.print(_checks_table(rows))
    out.print(f"\n{_summary(checks)}")


def print_image_report(report: ImageReport) -> None:
    out = console()
    data = report.to_data()
    out.print(f"[bold]uvdock doctor[/bold] for [bold]{escape(report.image)}[/bold]")
    out.print(f"  command  {escape(report.command or '(none)')}")
    out.print("\n[bold underline]Checks[/bold underline]")
    out.print(_checks_table(report.checks))
    out.print("\n[bold underline]sys.path[/bold underline]")
    for entry in data["sys_path"]:
        out.print(f"  {escape(entry or repr(entry))}")
    out.print("\n[bold underline]Distributions[/bold underline]")
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 2))
    table.add_column(overflow="fold")
    table.add_column(overflow="fold")
    for dist in data["distributions"]:
        table.add_row(escape(dist["name"]), escape(dist["version"]))
    out.print(table)
    out.print(f"\n{_summary(report.checks)}")
