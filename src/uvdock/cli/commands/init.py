"""``uvdock init``: write the Dockerfile, dev setup and .dockerignore for a project."""

from __future__ import annotations

import shlex
from typing import Any

import click
from rich.markup import escape

from uvdock.api import init_project
from uvdock.cli.options import flags_for, given_settings, setting_options
from uvdock.cli.output import console, emit_json
from uvdock.fileio import FileChange


@click.command(name="init")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=str))
@click.option(
    "--dockerfile",
    "dockerfile_name",
    default="Dockerfile",
    show_default=True,
    help="name of the production Dockerfile to write (e.g. Dockerfile.official).",
)
@click.option("--dry-run", is_flag=True, help="print the files instead of writing them.")
@click.option("--diff", "show_diff", is_flag=True, help="show what would change, write nothing.")
@click.option("--force", is_flag=True, help="overwrite files that already exist.")
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text",
    help="text for people, json for programs.",
)  # fmt: skip
@setting_options
def init_command(
    path: str,
    dockerfile_name: str,
    dry_run: bool,  # noqa: FBT001 - click passes flags positionally by name
    show_diff: bool,  # noqa: FBT001
    force: bool,  # noqa: FBT001
    output_format: str,
    **params: Any,
) -> None:
    """Generate the Docker setup for the project at PATH (default: .).

    \b
    Writes, from `uvdock plan`:
      Dockerfile      production image (--approach custom: multi-stage, only the
                      venv in the final image; official: one stage on uv's image)
      .dockerignore   keeps .venv, caches, .git and .env* out of the context
      Dockerfile.dev  development image (dev dependencies, editable install)
      compose.yaml    dev setup: source bind-mounted, uv cache volume, hot reload,
                      `docker compose up --watch` rebuilds when uv.lock changes

    Existing files are never overwritten without --force; all files are written
    or none. Each file's first line says how to regenerate it.

    \b
    Examples:
      uvdock init
      uvdock init --diff                      # what would change
      uvdock init --approach official --dockerfile Dockerfile.official
      uvdock init --image-prefix registry.local/mirror --ca-bundle ./corp-ca.pem
    """
    given = given_settings(params)
    regen = ["uvdock", "init", *flags_for(given)]
    if dockerfile_name != "Dockerfile":
        regen += ["--dockerfile", shlex.quote(dockerfile_name)]
    regen.append("--force")
    shared = {k: v for k, v in given.items() if k != "approach"}
    regen_shared = ["uvdock", "init", *flags_for(shared), "--force"]
    write = not (dry_run or show_diff)
    result = init_project(
        path,
        options=given,
        regenerate=" ".join(regen),
        regenerate_shared=" ".join(regen_shared),
        dockerfile_name=dockerfile_name,
        force=force,
        write=write,
    )
    if output_format == "json":
        emit_json(
            "init",
            status="ok",
            data={
                "written": result.written,
                "files": [
                    {
                        "path": str(c.path),
                        "action": c.action,
                        **({"content": c.content} if dry_run else {}),
                        **({"diff": c.diff()} if show_diff else {}),
                    }
                    for c in result.changes
                ],
                "plan": result.plan.to_data(),
                "notes": list(result.notes),
            },
            errors=[],
        )
        return
    _print(result.changes, dry_run=dry_run, show_diff=show_diff)
    if result.written and any(c.action != "unchanged" for c in result.changes):
        console().print(f"\nbuild with: {result.plan.build_command(dockerfile_name)}", markup=False)
    for problem in result.plan.problems:
        console(stderr=True).print(f"{problem.severity}: {problem.one_line()}", markup=False)
    for note in result.notes:
        console(stderr=True).print(f"note: {note}", markup=False)


def _print(changes: tuple[FileChange, ...], *, dry_run: bool, show_diff: bool) -> None:
    out = console()
    if dry_run:
        for change in changes:
            out.print(f"[bold]--- {escape(change.name)} ({change.action})[/bold]")
            out.out(change.content, end="")
        return
    if show_diff:
        for change in changes:
            if change.action != "unchanged":
                out.out(change.diff(), end="")
        if all(c.action == "unchanged" for c in changes):
            out.print("no changes")
        return
    verbs = {"create": "created", "overwrite": "overwrote", "unchanged": "unchanged"}
    for change in changes:
        out.print(f"{verbs[change.action]:>10}  {change.path}", markup=False)
