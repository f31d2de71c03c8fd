"""Rules about how the container starts and runs: signals, health checks, logs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from uvdock.dockerfile import expand
from uvdock.dockerfile.syntax import Instruction, Stage
from uvdock.lint.findings import Edit
from uvdock.lint.rules.base import Analysis, Hit, for_development, rule
from uvdock.lint.rules.start import (
    PYTHON,
    dev_server,
    effective_start,
    script_files,
    start_commands,
    unwrap,
)
from uvdock.lint.rules.words import known_image, program
from uvdock.lint.shell import ShellCommand, commands

SCRIPT_LIMIT = 1024 * 1024  # bytes: a start script, not a data file
SHELL_SYNTAX = re.compile(r"[$&|;<>`*?'\"\\(){}~]")
SERVERS = ("python", "python3", "gunicorn", "uvicorn", "hypercorn", "granian", "celery",
           "daphne", "uv", "flask", "fastapi", "django-admin")  # fmt: skip


@rule(
    "PY201",
    "shell-form-start",
    "warning",
    summary="`CMD`/`ENTRYPOINT` in shell form",
    why="""
In shell form, Docker runs the command as `/bin/sh -c "..."`: the shell is PID 1 and
does not pass `SIGTERM` on, so `docker stop` waits its 10 seconds and kills the app
without a graceful shutdown (open requests are cut, nothing is flushed). The exec
(JSON) form runs the program itself as PID 1. A shell form whose last command is
`exec server` (`migrate; exec gunicorn app:app`) hands PID 1 to the server and is left
alone.
""",
    bad="CMD uvicorn app.main:app --host 0.0.0.0",
    good='CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0"]',
    source='Docker docs, "CMD" and "ENTRYPOINT"; BuildKit check JSONArgsRecommended; '
    "hadolint DL3025",
    aliases=("DL3025", "JSONArgsRecommended"),
    fixable=True,
)
def shell_form_start(analysis: Analysis) -> Iterator[Hit]:
    for stage in analysis.stages:
        for item in stage.instructions:
            if item.keyword not in ("CMD", "ENTRYPOINT") or item.exec_form is not None:
                continue
            if not item.args.strip() or _execs_at_the_end(item.args):
                continue
            if item.args.split()[0] in (".", "source"):
                continue  # the sourced script runs in this shell: its own exec decides (PY210)
            fix: tuple[Edit, ...] = ()
            if _mechanical(analysis, stage, item):
                fix = (Edit(span=item.args_span, text=json.dumps(item.args.split())),)
            yield Hit(
                span=analysis.keyword_span(item),
                message=f"{item.keyword} in shell form runs under /bin/sh, which does not pass "
                "SIGTERM on; use the exec form "
                + (json.dumps(item.args.split()) if fix else '["program", "arg", ...]'),
                fix=fix,
            )


def _execs_at_the_end(script: str) -> bool:
    """Whether every command that ends the script replaces the shell with ``exec``
    (``[ -d alembic ] && alembic upgrade head; exec uvicorn app:app``): the program is then
    PID 1 and gets SIGTERM itself. Not in a pipeline or a subshell, where exec replaces only
    a child of the shell."""
    tails = [
        (c.argv, c.offsets[0])
        for c in commands(script)
        if c.depth == 0 and c.offsets is not None and _ends_script(script, c.offsets[1])
    ]
    for argv, start in tails:
        if argv[:1] != ("exec",) or len(argv) < 2:  # noqa: PLR2004 - exec and a program
            return False
        before = script[:start].rstrip()
        if (before.endswith("|") and not before.endswith("||")) or before.endswith("("):
            return False
    return bool(tails)


# Shell builtins and keywords: as the first word of an exec form there is no such program.
SHELL_BUILTINS = frozenset({".", "source", "exec", "cd", "export", "set", "eval", "ulimit",
                            "umask", "trap", "wait", "exit", "test", "[", "unset", "alias",
                            "if", "for", "while", "case", "until", "!", "command", "builtin",
                            "readonly", "shift", "times", "type", "hash"})  # fmt: skip


def _mechanical(analysis: Analysis, stage: Stage, item: Instruction) -> bool:
    """Whether the exec form of ``item`` does exactly what the shell did.

    Not when the command uses shell syntax (variables, operators, redirections,
    globs, quotes), starts with a builtin or an assignment (``A=1 app``), spans
    lines, or when the other start instruction is in effect: an exec-form
    ENTRYPOINT gets the CMD appended (a shell-form one ignored it), and a CMD
    after an ENTRYPOINT becomes its arguments.
    """
    if item.args_span.start_line != item.args_span.end_line or SHELL_SYNTAX.search(item.args):
        return False
    words = item.args.split()
    if not words or words[0] in SHELL_BUILTINS or "=" in words[0] or "#" in item.args:
        return False
    entry, cmd = effective_start(analysis, stage)
    other = cmd if item.keyword == "ENTRYPOINT" else entry
    return other is None or other is item


def _start_instruction(stage: Stage) -> Instruction | None:
    for keyword in ("ENTRYPOINT", "CMD"):
        found = next((i for i in reversed(stage.instructions) if i.keyword == keyword), None)
        if found is not None:
            return found
    return None


@rule(
    "PY210",
    "wrapper-without-exec",
    "warning",
    summary="an entrypoint script starts the server without `exec`",
    why="""
A wrapper script (`entrypoint.sh`) that ends with `gunicorn ...` instead of
`exec gunicorn ...` keeps the shell as PID 1 and the server as its child: `SIGTERM`
from `docker stop` never reaches the server, which is killed 10 seconds later without a
graceful shutdown. `exec` replaces the shell with the server. Every branch of the
script is read (`if`/`elif`/`else`, `case`), and the script is found through the `COPY`
that put it in the image.
""",
    bad="""
#!/bin/sh
alembic upgrade head
gunicorn app:app
""",
    good="""
#!/bin/sh
set -e
alembic upgrade head
exec gunicorn app:app
""",
    source='Docker docs, "ENTRYPOINT" (exec form and scripts); uvicorn#1215',
)
def wrapper_without_exec(analysis: Analysis) -> Iterator[Hit]:
    final = analysis.final
    root = analysis.context.root
    if final is None or root is None:
        return
    start = _start_instruction(final)
    if start is None:
        return
    words = start.exec_form if start.exec_form is not None else tuple(start.args.split())
    script = next((w for w in words if w.endswith(".sh")), None)
    if script is None:
        return
    for candidate in script_files(analysis, final, script, root):
        if not candidate.is_file() or candidate.stat().st_size > SCRIPT_LIMIT:
            continue  # a directory, a FIFO, a device, or too large to be a start script
        try:
            text = candidate.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return
        offender = _server_without_exec(text)
        if offender is not None:
            shown = _with_exec(offender)
            yield Hit(
                span=analysis.keyword_span(start),
                message=f"{candidate.name} starts `{program(offender.argv)}` without exec, so "
                f"SIGTERM stops at the shell; write `{shown}`",
            )
        return


def _with_exec(command: ShellCommand) -> str:
    """The command as written with ``exec`` before its program, after any ``A=1`` prefixes
    (whose values may hold spaces: ``W=$(nproc --all) gunicorn``)."""
    text = command.text
    position = 0
    for name, _ in command.env:
        match = re.compile(rf"{re.escape(name)}\+?=").search(text, position)
        if match is None:
            break
        position = _assignment_end(text, match.end())
    position += len(text[position:]) - len(text[position:].lstrip())
    return f"{text[:position]}exec {text[position:]}"


def _assignment_end(text: str, start: int) -> int:
    """Where an assignment's value that starts at ``start`` ends (quotes and $(...) kept)."""
    depth, quote, index = 0, "", start
    while index < len(text):
        char = text[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif text.startswith("$(", index):
            depth += 1
            index += 1
        elif char == ")" and depth:
            depth -= 1
        elif char.isspace() and not depth:
            break
        index += 1
    return index


DEDICATED_SERVERS = frozenset({"gunicorn", "uvicorn", "hypercorn", "granian", "celery", "daphne",
                               "flask", "fastapi", "uwsgi"})  # fmt: skip
SCRIPT_TOKEN = re.compile(r"#[^\n]*|;;|&&|\|\||[;&|()\n]|[^\s;&|()]+")


def _server_without_exec(script: str) -> ShellCommand | None:
    """The first command that ends a branch of the script and starts a server without exec.

    Every branch is read (``if``/``elif``/``else``, ``case``): a command is where the script
    ends when only ``fi``, ``esac``, ``}`` or the rest of its own ``if``/``case`` follow.
    Python (and ``uv run``) counts as the server only as the script's very last command;
    in other branches it is more often a one-off (``python manage.py migrate``).
    """
    top = [c for c in commands(script) if c.depth == 0 and c.offsets is not None]
    tails = [c for c in top if c.offsets is not None and _ends_script(script, c.offsets[1])]
    for command in tails:
        if command.argv[:1] == ("exec",):
            continue
        words, _ = unwrap(command.argv)
        name = program(command.argv)
        served = program(words) if words else ""
        dedicated = name in DEDICATED_SERVERS or served in DEDICATED_SERVERS
        last = command is top[-1]
        if dedicated or (last and name in SERVERS) or dev_server(words):
            return command
    return None


def _ends_script(script: str, end: int) -> bool:
    words = [m.group() for m in SCRIPT_TOKEN.finditer(script, end)]
    index = 0
    while index < len(words):
        word = words[index]
        if word.startswith("#") or word in (";", "\n", "fi", "esac", "}"):
            index += 1
        elif word in ("else", "elif"):
            index = _matching(words, index, "if", "fi")
        elif word in (";;", ";&"):
            index = _matching(words, index, "case", "esac")
        else:
            return word == "exit"
    return True


def _matching(tokens: list[str], index: int, opening: str, closing: str) -> int:
    """The index of the ``closing`` word that ends the construct ``tokens[index]`` is in."""
    depth = 0
    for position in range(index + 1, len(tokens)):
        if tokens[position] == opening:
            depth += 1
        elif tokens[position] == closing:
            if depth == 0:
                return position
            depth -= 1
    return len(tokens)


PACKAGE_VERSION = re.compile(r"[=<>~].*$")


def _installs(analysis: Analysis, stage: Stage, tool: str) -> bool:
    for member in analysis.lineage(stage):
        for command in analysis.stage_commands(member):
            if program(command.argv) not in ("apt-get", "apt", "apk", "dnf", "yum", "microdnf"):
                continue
            # Package lists from ARG/ENV or shell variables (`apt-get install $PACKAGES`) are
            # expanded; a pinned `curl=7.88.1-10+deb12u5` (or apk's `curl~8`) is curl too.
            words = [w for word in command.words for w in expand(word, command.env).split()]
            if any(PACKAGE_VERSION.sub("", w) == tool for w in words[1:]):
                return True
        for item in member.instructions:
            if item.keyword in ("COPY", "ADD") and tool in item.args:
                return True
    return False


def _has_tool(image: str, tool: str) -> bool | None:
    """Whether a base image has curl/wget: True, False, or None when unknown."""
    name = image.lower()
    if "distroless" in name or "chainguard" in name:
        return False
    if "alpine" in name:
        return tool == "wget"  # busybox wget; no curl
    if "slim" in name or name.startswith("ghcr.io/astral-sh/uv:"):
        return False
    if re.match(r"^(docker\.io/)?(library/)?python:\d", name):
        return True  # the full python image is buildpack-deps: curl and wget are there
    return None


@rule(
    "PY204",
    "healthcheck-tool-missing",
    "warning",
    summary="`HEALTHCHECK` calls curl or wget, which the final image does not have",
    why="""
Slim, distroless and uv's images have neither curl nor wget (Alpine has only busybox
`wget`). A health check that calls one fails every time: the container is reported
unhealthy and orchestrators restart it in a loop. Probe with the Python that is in the
image, or install the tool in the final stage.
""",
    bad="HEALTHCHECK CMD curl -f http://localhost:8000/health || exit 1",
    good="""
HEALTHCHECK CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health')"]
""",
    source='Docker docs, "HEALTHCHECK"; python:slim image contents',
)
def healthcheck_tool_missing(analysis: Analysis) -> Iterator[Hit]:
    final = analysis.final
    if final is None:
        return
    check = next((i for i in reversed(final.instructions) if i.keyword == "HEALTHCHECK"), None)
    if check is None:
        return
    words = list(check.exec_form) if check.exec_form is not None else check.args.split()
    for tool in ("curl", "wget"):
        if not any(w.rsplit("/", 1)[-1] == tool for w in words):
            continue
        image = analysis.root_image(final)
        if _has_tool(image, tool) is False and not _installs(analysis, final, tool):
            yield Hit(
                span=analysis.keyword_span(check),
                message=f"HEALTHCHECK calls {tool}, which {image} does not have: the container "
                "will always be unhealthy; probe with python -c 'import urllib.request; ...'",
            )


VENV_BIN = re.compile(r"/(?:\.?venv|virtualenv|\.virtualenvs/[^/]+)/bin/")
PYTHON_PROGRAMS = frozenset({"gunicorn", "uvicorn", "hypercorn", "granian", "celery", "daphne",
                             "fastapi", "flask", "django-admin", "manage.py", "streamlit",
                             "huey_consumer", "rq", "dramatiq", "arq", "faust"})  # fmt: skip


def _starts_python(analysis: Analysis, argv: tuple[str, ...]) -> bool | None:
    """True when the command runs Python, False when it surely does not, None when unknown."""
    words, python = unwrap(argv)
    if python or any(VENV_BIN.search(w) for w in argv[:1] + words[:1]):
        return True
    name = program(words)
    if not name:
        return None
    if name in PYTHON_PROGRAMS or name.endswith(".py"):
        return True
    scripts = (analysis.context.pyproject or {}).get("project", {}).get("scripts", {})
    if isinstance(scripts, dict) and name in scripts:
        return True
    return None


@rule(
    "PY202",
    "python-output-buffered",
    "info",
    summary="the container starts Python without `PYTHONUNBUFFERED=1`",
    why="""
When its output is not a terminal, Python buffers `stdout`: log lines reach
`docker logs` late, in bursts, and the last ones before a crash are lost. Setting
`PYTHONUNBUFFERED=1` (or running `python -u`) writes them as they happen. The rule
speaks only when the start command is Python (python, uv run, gunicorn, uvicorn, a
venv's `bin/`, one of the project's scripts...), not for a shell script or another
program, and only on the official, uv, distroless and other well-known bases: another
base image (`quay.io/sclorg/python-312-c9s`, a team's own) may set it already.
""",
    bad='CMD ["python", "-m", "app"]',
    good="""
ENV PYTHONUNBUFFERED=1
CMD ["python", "-m", "app"]
""",
    source='docker init\'s Python template; Python docs, "-u" and PYTHONUNBUFFERED',
)
def python_output_buffered(analysis: Analysis) -> Iterator[Hit]:
    final = analysis.final
    if final is None:
        return
    start, started = start_commands(analysis, final)
    if start is None or not started:
        return
    if not any(_starts_python(analysis, argv) for argv in started[-1:]):
        return
    env = analysis.env_before(final, None)
    if env.get("PYTHONUNBUFFERED", "") not in ("", "0"):
        return
    if not known_image(analysis.root_image(final)):
        return  # another base (quay.io/sclorg/python-312-c9s, a team's own) may set it
    if any(_python_option(argv, "-u") for argv in started):
        return
    yield Hit(
        span=analysis.keyword_span(start),
        message="Python buffers its output here, so logs arrive late and the last lines "
        "before a crash are lost; add ENV PYTHONUNBUFFERED=1",
    )


def _python_option(argv: tuple[str, ...], option: str) -> bool:
    """Whether ``python`` (after any wrapper) runs with ``option`` before its script."""
    while argv and not PYTHON.fullmatch(program(argv)):
        if program(argv) not in ("exec", "env", "uv", "run", "tini", "dumb-init"):
            return False
        argv = argv[1:]
    for word in argv[1:]:
        if not word.startswith("-") or word in ("-m", "-c"):
            return False
        if word == option:
            return True
    return False


@rule(
    "PY223",
    "development-server",
    "warning",
    summary="the image starts a development server (`runserver`, `flask run`, `fastapi dev`, "
    "`--reload`)",
    why="""
Development servers are made for a laptop: Django's `runserver` ("do not use this server
in a production setting"), `flask run` (Werkzeug's server), `fastapi dev` and any
`--reload` watch the source for changes, run with debugging defaults, and are neither
hardened nor built for concurrent load. In an image they also restart on every file
write. Start a production server instead (`gunicorn`, `uvicorn` without `--reload`,
`fastapi run`). Development images are left alone: a `Dockerfile.dev`, `dev.Dockerfile`
or a final stage named `dev`.
""",
    bad='CMD ["python", "manage.py", "runserver", "0.0.0.0:8000"]',
    good='CMD ["gunicorn", "--bind", "0.0.0.0:8000", "mysite.wsgi"]',
    source='Django docs, "django-admin runserver"; Flask docs, "Deploying to Production"; '
    'FastAPI docs, "FastAPI CLI"; Uvicorn and Gunicorn docs (--reload is for development)',
)
def development_server(analysis: Analysis) -> Iterator[Hit]:
    final = analysis.final
    if final is None or for_development(analysis, final):
        return
    start, started = start_commands(analysis, final)
    if start is None:
        return
    for argv in started:
        found = dev_server(unwrap(argv)[0])
        if found is not None:
            yield Hit(
                span=analysis.keyword_span(start),
                message=f"the container starts `{found}`, a development server; start a "
                "production server (gunicorn, uvicorn without --reload, fastapi run)",
            )
            return


@rule(
    "PY216",
    "several-start-instructions",
    "warning",
    summary="several `CMD`, `ENTRYPOINT` or `HEALTHCHECK` in one stage (only the last counts)",
    why="""
Only the last `CMD`, `ENTRYPOINT` and `HEALTHCHECK` of a stage take effect; the earlier
ones are silently ignored, which usually means the Dockerfile does not do what its
reader thinks.
""",
    bad="""
CMD ["python", "manage.py", "migrate"]
CMD ["gunicorn", "site.wsgi"]
""",
    good='CMD ["gunicorn", "site.wsgi"]',
    source="BuildKit check MultipleInstructionsDisallowed; hadolint DL4003, DL4004",
    aliases=("MultipleInstructionsDisallowed", "DL4003", "DL4004"),
)
def several_start_instructions(analysis: Analysis) -> Iterator[Hit]:
    for stage in analysis.stages:
        for keyword in ("CMD", "ENTRYPOINT", "HEALTHCHECK"):
            found = [i for i in stage.instructions if i.keyword == keyword]
            for item in found[:-1]:
                yield Hit(
                    span=analysis.keyword_span(item),
                    message=f"this {keyword} is ignored: a later {keyword} on line "
                    f"{found[-1].span.start_line} replaces it; remove one",
                )
