"""Entry point: ``uvdock`` / ``python -m uvdock``. The one place errors are caught."""

from __future__ import annotations

import importlib
import sys
import traceback

import click

from uvdock.cli.output import console, emit_json
from uvdock.errors import UvdockError

EXIT_CODES = """\b
Exit codes:
  0  success
  1  failure (a build or tool failed, I/O error)
  2  usage or configuration error you can fix (bad flag, broken
     pyproject.toml, stale uv.lock, no entrypoint, file exists)
"""


# Each command's module is imported only when that command runs (or for --help):
# `uvdock lint` in a pre-commit hook should not pay for importing the build path.
COMMANDS = {
    "plan": "uvdock.cli.commands.plan:plan_command",
    "init": "uvdock.cli.commands.init:init_command",
    "build": "uvdock.cli.commands.build:build_command",
    "doctor": "uvdock.cli.commands.doctor:doctor_command",
    "lint": "uvdock.cli.commands.lint:lint_command",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:  # noqa: ARG002 - click's API
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:  # noqa: ARG002
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)  # noqa: S101 - a programming error
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES,
)
@click.version_option(package_name="uvdock", prog_name="uvdock")
@click.option("--debug", is_flag=True, help="show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:  # noqa: FBT001 - click flag
    """uvdock: container images for uv-managed Python projects, done right.

    \b
    Start with:
      uvdock plan      what your project is and what would be built
      uvdock init      write Dockerfile, .dockerignore and a dev setup
      uvdock build     build the image with docker buildx (several platforms, push)
      uvdock doctor    check the build environment, or look inside a built image
      uvdock lint      find (and fix) what is wrong in Dockerfiles for Python and uv

    Settings come from flags, then UVDOCK_* environment variables, then
    [tool.uvdock] in pyproject.toml, then defaults; `uvdock plan` shows which.
    """
    ctx.obj = {"debug": debug}


def _wants_json(args: list[str]) -> bool:
    return any(
        a == "--format=json" or (a == "--format" and i + 1 < len(args) and args[i + 1] == "json")
        for i, a in enumerate(args)
    )


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exit with 0, 1 (failure) or 2 (usage/config error)."""
    args = argv if argv is not None else sys.argv[1:]
    debug = "--debug" in args
    try:
        # Outside standalone mode click returns a command's Exit code instead of raising.
        code = cli.main(args=argv, prog_name="uvdock", standalone_mode=False)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Abort:
        console(stderr=True).print("uvdock: aborted")
        sys.exit(1)
    except UvdockError as err:
        if debug:
            traceback.print_exc()
        console(stderr=True).print(f"uvdock: error: {err.one_line()}", markup=False)
        if _wants_json(args):
            command = next((a for a in args if a in COMMANDS), None)
            emit_json(
                command or "uvdock",
                status="error",
                data=None,
                errors=[{"message": err.one_line(), "exit_code": err.exit_code}],
            )
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(0)
