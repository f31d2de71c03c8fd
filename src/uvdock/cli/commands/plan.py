"""``uvdock plan``: what the project is, what would be built, and why."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from uvdock.api import plan_project
from uvdock.cli.options import given_settings, setting_options
from uvdock.cli.output import console, emit_json
from uvdock.errors import ProjectError
from uvdock.plan import BuildPlan
from uvdock.project.model import Sourced

_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "note": "cyan"}


@click.command(name="plan")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=str))
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text",
    help="text for people, json for programs (a versioned envelope).",
)  # fmt: skip
@setting_options
def plan_command(path: str, output_format: str, **params: Any) -> None:
    """Inspect the project at PATH (default: .) and explain what would be built.

    Reads files only, never runs the project's code. Every fact shows where it
    came from (a file and line, a flag, an environment variable, a default).
    Exits 2 when the plan has errors (e.g. a stale uv.lock or no entrypoint).

    \b
    Examples:
      uvdock plan
      uvdock plan examples/fastapi-app --approach official
      uvdock plan --format json | jq .data.entrypoint
    """
    plan = plan_project(path, options=given_settings(params))
    if output_format == "json":
        emit_json(
            "plan",
            status="error" if plan.errors else "ok",
            data=plan.to_data(),
            errors=[{"message": p.one_line()} for p in plan.errors],
        )
    else:
        print_plan(plan)
    if plan.errors:
        raise click.exceptions.Exit(ProjectError.exit_code)


def _src(fact: Sourced[Any] | None) -> str:
    return f"[dim]{escape(fact.source)}[/dim]" if fact is not None else ""


Rows = list[tuple[str, str, str]]


def _project_rows(plan: BuildPlan) -> Rows:
    project = plan.project
    lock = project.lock
    lock_text = "none"
    if lock is not None:
        lock_text = lock.state + (f": {lock.stale_reason}" if lock.stale_reason else "")
    rows = [
        ("dependencies", project.dependency_source.value, _src(project.dependency_source)),
        ("lock", lock_text, "uv.lock" if lock else ""),
        (
            "packaged",
            "yes (installed non-editable)" if project.packaged else "no (code copied as is)",
            "pyproject.toml [build-system]" if project.packaged else "",
        ),
        ("python", plan.python.value, _src(plan.python)),
        ("installs", "uv sync " + " ".join(plan.sync_selection), _selection_source(plan)),
    ]
    if project.workspace_members:
        members = ", ".join(f"{m.name} ({m.path.as_posix()})" for m in project.workspace_members)
        rows.append(("workspace", members, "[tool.uv.workspace]"))
    rows.extend(("note", note, "") for note in project.notes)
    return rows


def _selection_source(plan: BuildPlan) -> str:
    """Why the image gets these extras and groups (nothing: uv's default without dev)."""
    facts = [f for f in (plan.project.extras, plan.project.groups) if f is not None]
    return "; ".join(_src(f) for f in facts)


def _entrypoint_rows(plan: BuildPlan) -> Rows:
    entry = plan.entrypoint
    if entry is None:
        return []
    rows = [
        ("command", " ".join(entry.value.argv), _src(entry)),
        ("dev command", " ".join(entry.value.dev_argv), ""),
        ("found", entry.value.how, ""),
    ]
    if plan.listens:
        check = plan.healthcheck
        health, why = "none", ""
        if check is not None:
            health = f"GET {check.path}" if check.path else "TCP connect"
            why = f"[dim]{escape(check.source)}[/dim]"
        rows += [("port", str(plan.port), f"[dim]{escape(plan.port_source)}[/dim]"),
                 ("healthcheck", health, why)]  # fmt: skip
    return rows


def _image_rows(plan: BuildPlan) -> Rows:
    return [
        ("approach", plan.approach, _src(plan.settings.sourced("approach"))),
        ("base image", plan.base_image.value, _src(plan.base_image)),
        ("uv", f"{plan.uv_version.value} from {plan.uv_image.value}", _src(plan.uv_version)),
        ("user", f"{plan.uid} (non-root)", _src(plan.settings.sourced("uid"))),
        ("platforms", ", ".join(plan.platforms), "wheels checked for each"),
    ]


def _needs_rows(plan: BuildPlan) -> Rows:
    rows = [(f"secret {s.id}", s.purpose, "required" if s.required else "optional")
            for s in plan.secrets]  # fmt: skip
    if plan.ssh:
        rows.append(("ssh", "agent forwarded for git+ssh dependencies", "--ssh default"))
    rows += [
        ("builder apt", p.value, f"[dim]{escape(p.source)}[/dim]") for p in plan.build_packages
    ]
    rows += [
        ("runtime apt", p.value, f"[dim]{escape(p.source)}[/dim]") for p in plan.runtime_packages
    ]
    rows += [
        ("from source", f"{n.package} {n.version or ''}".strip(),
         f"[dim]{escape(n.reason)} ({', '.join(n.platforms)})[/dim]")
        for n in plan.native_builds
    ]  # fmt: skip
    return rows


def _settings_rows(plan: BuildPlan) -> Rows:
    return [
        (name, _show(value.value), _src(value))
        for name, value in sorted(plan.settings.values.items())
        if value.source != "default"
    ]


def print_plan(plan: BuildPlan) -> None:
    out = console()
    project = plan.project
    out.print(
        f"[bold]uvdock plan[/bold] for [bold]{escape(project.name)}[/bold] "
        f"({escape(str(project.root))})"
    )
    for title, rows in (
        ("Project", _project_rows(plan)),
        ("Entrypoint", _entrypoint_rows(plan)),
        ("Image", _image_rows(plan)),
        ("Build needs", _needs_rows(plan)),
        ("Settings (not defaults)", _settings_rows(plan)),
    ):
        if not rows:
            continue
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 2))
        table.add_column(style="bold", overflow="fold")
        table.add_column(overflow="fold")
        table.add_column(overflow="fold")
        for name, value, source in rows:
            # Values are the project's own text ([tool.uvdock], paths, commands): never markup.
            table.add_row(escape(name), escape(value), source)
        out.print(f"\n[bold underline]{title}[/bold underline]")
        out.print(table)
    out.print("\n[bold underline]Build with[/bold underline]")
    out.print("  " + plan.build_command(), markup=False)
    if plan.problems:
        out.print("\n[bold underline]Problems[/bold underline]")
        for problem in plan.problems:
            style = _SEVERITY_STYLE[problem.severity]
            out.print(f"  [{style}]{problem.severity}[/{style}]: {escape(problem.one_line())}")


def _show(value: Any) -> str:
    if isinstance(value, tuple | list):
        return " ".join(map(str, value))
    return str(value)
