"""The click command group: every command, ``--help``, ``--version``, parsing errors.

Imported by :func:`uvdock.cli.main.main` only when it is needed: a plain
``uvdock lint FILE`` is run without click (see :mod:`uvdock.cli.lint_run`).
"""

from __future__ import annotations

import importlib

import click

from uvdock.cli.commands import COMMANDS
from uvdock.cli.lint_run import Aborted

EXIT_CODES = """\b
Exit codes:
  0  success
  1  failure (a build or tool failed, I/O error)
  2  usage or configuration error you can fix (bad flag, broken
     pyproject.toml, stale uv.lock, no entrypoint, file exists)
"""


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


def run(argv: list[str] | None) -> object:
    """Run the group outside standalone mode; click's own errors end here as exit codes.

    Returns what the command returned, or the exit code of a click ``Exit`` or
    usage error (shown here); an interrupt becomes :class:`Aborted`.
    """
    try:
        # Outside standalone mode click returns a command's Exit code instead of raising.
        return cli.main(args=argv, prog_name="uvdock", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.exceptions.Abort as err:
        raise Aborted from err
