"""Entry point: ``uvdock`` / ``python -m uvdock``. The one place errors are caught.

click (and the command group, :mod:`uvdock.cli.app`) is imported only when it is
needed: a plain ``uvdock lint FILE`` line, the one an editor or a pre-commit hook
runs once per file, is read by :func:`uvdock.cli.lint_run.plain_lint_args`
instead, which saves about a quarter of that run's time. Anything it does not
read exactly as click would goes through click.
"""

from __future__ import annotations

import atexit
import os
import sys

from uvdock.cli.commands import COMMANDS
from uvdock.cli.lint_run import Aborted, plain_lint_args, run_plain
from uvdock.cli.output import console, emit_json
from uvdock.errors import UvdockError


def _wants_json(args: list[str]) -> bool:
    return any(
        a == "--format=json" or (a == "--format" and i + 1 < len(args) and args[i + 1] == "json")
        for i, a in enumerate(args)
    )


def _hard_exit(code: object) -> None:
    """End the process now, skipping the interpreter's teardown, as mypy does.

    Freeing every module and object at exit takes ~15 ms, a sixth of a one-file
    lint run. Only for a finished run (the process's own ``main``, not a caller's)
    and only when nothing waits for the exit: the output is flushed here and no
    atexit callback is registered. Otherwise this returns and Python exits as usual.
    """
    if not isinstance(code, int) or atexit._ncallbacks():  # noqa: SLF001
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        return  # a closed pipe or stream: Python's own exit reports it, as always
    os._exit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exit with 0, 1 (failure) or 2 (usage/config error)."""
    args = argv if argv is not None else sys.argv[1:]
    debug = "--debug" in args
    try:
        plain = plain_lint_args(args)
        if plain is not None:
            try:
                run_plain(plain)
            except SystemExit as done:
                if argv is None:
                    _hard_exit(done.code)
                raise
            if argv is None:
                _hard_exit(0)
        else:
            from uvdock.cli.app import run  # noqa: PLC0415 - click, only when needed

            code = run(argv)
            if isinstance(code, int) and code != 0:
                sys.exit(code)
    except Aborted:
        console(stderr=True).print("uvdock: aborted")
        sys.exit(1)
    except UvdockError as err:
        if debug:
            import traceback  # noqa: PLC0415 - ~6 ms, only with --debug

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
