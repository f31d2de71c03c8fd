"""What ``uvdock lint`` does once its arguments are parsed, and a parser for the plain cases.

An editor or a pre-commit hook runs ``uvdock lint FILE`` once per file, so its
start-up is most of its time. Importing click and building the command group
costs about a quarter of that, so :func:`plain_lint_args` reads the common
command lines itself (files, ``--context``, ``--format``, ``--fail-level``,
``--select``, ``--ignore``, ``--fix``, ``--diff``, each valid) and
:func:`uvdock.cli.main.main` calls :func:`run_lint` directly. Anything else
(``--help``, ``--explain``, a misspelt flag, a bad value, ``--``, shell
completion) returns ``None`` and goes through click, which says what is wrong
exactly as it always has. ``uvdock.cli.commands.lint`` is the click command;
it calls :func:`run_lint` with what click parsed.
"""

from __future__ import annotations

import errno
import gc
import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uvdock.cli.output import console, emit_json
from uvdock.errors import UsageError

if TYPE_CHECKING:
    from uvdock.fileio import FileChange
    from uvdock.lint.api import FileResult
    from uvdock.lint.findings import Severity

FORMATS = ("text", "json", "sarif", "github")
FAIL_LEVELS = ("error", "warning", "info")
# flag -> parameter of run_lint; the click command declares the same options.
_VALUED = {
    "--context": "context_dir",
    "--format": "output_format",
    "--fail-level": "fail_level",
    "--select": "select",
    "--ignore": "ignore",
}
_FLAGS = {"--fix": "fix", "--diff": "show_diff"}
_CHOICES = {"output_format": FORMATS, "fail_level": FAIL_LEVELS}
_MULTIPLE = ("select", "ignore")


class Aborted(Exception):  # noqa: N818 - named after click's Abort, which it stands for
    """Interrupted (Ctrl-C): ``uvdock: aborted``, exit 1, as click's Abort."""


def plain_lint_args(args: Sequence[str]) -> dict[str, Any] | None:
    """The parameters of :func:`run_lint` for a plain ``lint`` command line, else ``None``.

    ``None`` whenever click could answer differently from a plain run: then click
    parses the line. Values are what click would pass (``click.Path(path_type=Path)``
    for files, ``file_okay=False`` for ``--context``, the choices as given).
    """
    if not args or args[0] != "lint" or "_UVDOCK_COMPLETE" in os.environ:
        return None
    params: dict[str, Any] = {
        "files": [],
        "context_dir": None,
        "output_format": "text",
        "fail_level": "warning",
        "select": [],
        "ignore": [],
        "fix": False,
        "show_diff": False,
    }
    given: set[str] = set()
    rest = iter(args[1:])
    for arg in rest:
        if not arg.startswith("-"):
            params["files"].append(arg)
            continue
        flag, equals, value = arg.partition("=")
        if flag in _FLAGS and not equals:
            params[_FLAGS[flag]] = True
            continue
        name = _VALUED.get(flag)
        if name is None or (name in given and name not in _MULTIPLE):
            return None  # --help, --explain, --, -, a typo, a repeated option: click's job
        if not equals:
            value = next(rest, "-")  # a missing value falls to click too
        if value.startswith("-") or value not in _CHOICES.get(name, (value,)):
            return None
        given.add(name)
        if name in _MULTIPLE:
            params[name].append(value)
        else:
            params[name] = value
    files = params["files"]
    if not all(_click_path_ok(f, file_okay=True) for f in files):
        return None
    params["files"] = tuple(Path(f) for f in files)
    params["select"] = tuple(params["select"])
    params["ignore"] = tuple(params["ignore"])
    context = params["context_dir"]
    if context is not None:
        if not _click_path_ok(context, file_okay=False):
            return None
        params["context_dir"] = Path(context)
    return params


def _click_path_ok(value: str, *, file_okay: bool) -> bool:
    """Whether ``click.Path(file_okay=file_okay)`` accepts ``value`` (readable, if it exists)."""
    try:
        st = os.stat(value)  # noqa: PTH116 - as click does: Path("") would stat "."
    except OSError:
        return True  # click.Path without exists=True takes paths that are not there
    if not file_okay and stat.S_ISREG(st.st_mode):
        return False
    return os.access(value, os.R_OK)


def run_plain(params: dict[str, Any]) -> None:
    """:func:`run_lint` outside click, with what click's ``main`` adds around a command.

    Ctrl-C prints a blank line and becomes :class:`Aborted`; a closed pipe on
    stdout ends the run with exit 1, quietly.
    """
    try:
        # The lint modules create thousands of objects and no garbage while they are
        # imported: the collector's passes over them cost ~5 ms a run for nothing.
        gc.disable()
        try:
            import uvdock.lint.api  # noqa: PLC0415
            import uvdock.lint.report  # noqa: F401, PLC0415
        finally:
            gc.enable()
        run_lint(**params, explain=None, list_rules=False)
    except (EOFError, KeyboardInterrupt) as err:
        sys.stderr.write("\n")
        sys.stderr.flush()
        raise Aborted from err
    except OSError as err:
        if err.errno != errno.EPIPE:
            raise
        from click.utils import _PacifyFlushWrapper  # noqa: PLC0415 - exactly what click does

        sys.stdout = _PacifyFlushWrapper(sys.stdout)
        sys.stderr = _PacifyFlushWrapper(sys.stderr)
        sys.exit(1)


def _codes(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(c.strip() for v in values for c in v.split(",") if c.strip())


def _write_fixes(results: list[FileResult], *, show_diff: bool) -> None:
    """--fix: the diffs, or every fixed file written (all or nothing)."""
    # fileio brings tempfile and shutil (~6 ms): only when files may be written.
    from uvdock.fileio import FileChange, write_all  # noqa: PLC0415

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
        for change in changes:
            _check_writable(change.path, change.name)
        write_all(changes)
        for result in results:
            if result.fixes_applied:
                console(stderr=True).print(
                    f"fixed {result.fixes_applied} problem(s) in {result.display}"
                )


def _check_writable(path: Path, display: str) -> None:
    """--fix writes only what it can write back byte for byte: checked for every file
    before any is written, so a refusal changes nothing."""
    if path.is_symlink():
        raise UsageError(
            f"{display}: is a symbolic link to {path.readlink()}; --fix would replace the "
            "link with a file",
            hint=f"run uvdock lint --fix on {path.resolve()}",
        )
    try:
        path.read_bytes().decode("utf-8")
    except OSError as err:
        raise UsageError(f"{display}: cannot be read ({err.strerror})") from err
    except UnicodeDecodeError as err:
        raise UsageError(
            f"{display}: not UTF-8 (byte {err.start}); --fix would replace what it cannot read",
            hint="convert the file to UTF-8, or make the fixes by hand (--fix --diff shows them)",
        ) from err


def _check_codes(**options: tuple[str, ...]) -> None:
    """An unknown code in --select would turn every rule off, in --ignore nothing: both
    are usage errors, with the closest rule name."""
    from uvdock.lint.engine import unknown_code  # noqa: PLC0415

    for option, values in options.items():
        unknown = unknown_code(values)
        if unknown is not None:
            raise UsageError(f"--{option} names no rule: {unknown[0]!r}", hint=unknown[1])


def run_lint(  # noqa: PLR0917 - one parameter per option
    files: tuple[Path, ...],
    context_dir: Path | None,
    output_format: str,
    fail_level: Severity,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    fix: bool,  # noqa: FBT001 - a flag
    show_diff: bool,  # noqa: FBT001 - a flag
    explain: str | None,
    list_rules: bool,  # noqa: FBT001 - a flag
) -> None:
    """``uvdock lint``; exits 1 when a finding reaches ``fail_level``."""
    # The lint modules are imported here, not at the top, so that the parser above
    # and `uvdock lint --help` stay light.
    from uvdock.lint.api import fails, lint_paths, project_dockerfiles  # noqa: PLC0415
    from uvdock.lint.engine import LintConfig  # noqa: PLC0415

    if explain:
        from uvdock.lint.docs import find_rule, rule_markdown  # noqa: PLC0415

        sys.stdout.write(rule_markdown(find_rule(explain)))
        return
    if list_rules:
        from uvdock.lint.rules import RULES  # noqa: PLC0415

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
    _check_codes(select=_codes(select), ignore=_codes(ignore))
    config = LintConfig(select=_codes(select), ignore=_codes(ignore))
    results = lint_paths(paths, context_dir=context_dir, config=config, fix=fix)
    if fix:
        _write_fixes(results, show_diff=show_diff)
        if show_diff:
            return
    from uvdock.lint.report import json_records, render  # noqa: PLC0415

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
    from uvdock._diff import unified_diff  # noqa: PLC0415 - only for --fix --diff

    return unified_diff(change.previous or "", change.content, change.name)
