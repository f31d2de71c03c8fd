"""What every step of the entrypoint search shares: its context, its state, its result
(``Detection``), and how a found command is shown and run."""

from __future__ import annotations

import dataclasses
import posixpath
from pathlib import Path

from uvdock.project.listening import listen_on_all_interfaces
from uvdock.project.model import Entrypoint, Sourced
from uvdock.project.servers import ASGI_SERVERS, WSGI_SERVERS, command_facts, shell_join
from uvdock.project.startcmd import FoundCommand

__all__ = [
    "CHOOSE",
    "HTTP_SERVERS",
    "KNOWN_PROGRAMS",
    "MAX_LISTED",
    "SERVER_DISTRIBUTIONS",
    "Detection",
    "SearchContext",
    "SearchState",
    "as_number",
    "command_argv",
    "dev_command_argv",
    "found_text",
]

# Distributions whose command serves HTTP (and their console scripts, which
# detect.py's workspace probe passes as "installed").
SERVER_DISTRIBUTIONS = frozenset({*ASGI_SERVERS, *WSGI_SERVERS, "fastapi-cli"})
HTTP_SERVERS = frozenset(
    {
        *SERVER_DISTRIBUTIONS,
        "waitress-serve",
        "fastapi",
        "flask",
        "django",
        "django-admin",
        "litestar",
        "streamlit",
    }
)
# Programs a found command may run besides the installed distributions.
KNOWN_PROGRAMS = frozenset({*HTTP_SERVERS, "python"})
CHOOSE = "set [tool.uvdock] command"
MAX_LISTED = 8


@dataclasses.dataclass(frozen=True, kw_only=True)
class Detection:
    """What :func:`find_entrypoint` learned: the entrypoint, or why there is none.

    ``port`` is the port the command listens on when the command (or its
    config file) fixes one; ``protocol`` is ``"uwsgi"`` for a uWSGI ``socket``,
    which only a proxy speaking the uwsgi protocol (or a TCP check) can reach.
    ``files`` are project files the command reads at run time (``uwsgi.ini``,
    ``gunicorn.conf.py``, a script), relative to the searched root: an
    installed package's image must copy them. ``candidates`` lists the
    commands to choose from when several were found. ``notes`` are one-line
    facts the plan should show (a declared command that was skipped, a bind
    that was widened, steps run before the server).
    """

    entrypoint: Sourced[Entrypoint] | None
    problem: str | None = None
    port: int | None = None
    protocol: str = "http"
    files: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchContext:
    root: Path
    port: int
    deps: frozenset[str]
    packaged: bool
    http_override: bool | None
    scripts: Sourced[dict[str, str]] | None
    workdir_path: str

    def path(self, relative: str) -> str:
        """A project path as a command in the image sees it (from the working directory)."""
        if not self.workdir_path:
            return relative
        return posixpath.normpath(posixpath.join(self.workdir_path, relative))

    def import_dir(self, relative: str) -> str:
        """The directory to put on the import path for code under ``relative`` ("" if none)."""
        if self.packaged:
            return ""  # installed: imported from site-packages
        return self.path(relative) if relative else self.workdir_path

    def http(self, *, default: bool) -> bool:
        return self.http_override if self.http_override is not None else default


@dataclasses.dataclass(kw_only=True)
class SearchState:
    """What earlier steps learned that later ones need."""

    notes: list[str] = dataclasses.field(default_factory=list)
    dev: FoundCommand | None = None  # a declared development-server command
    # The README's: weaker than a declared one (a README is documentation).
    readme_dev: FoundCommand | None = None


def as_number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def found_text(found: FoundCommand) -> str:
    """``Procfile:1: `flask run` (Procfile web process)``: where, what, and what kind of file."""
    text = f"{found.where}: `{shell_join(found.words)}`"
    return text if found.where.startswith(f"{found.what}:") else f"{text} ({found.what})"


def dev_command_argv(dev: FoundCommand) -> tuple[str, ...]:
    words = listen_on_all_interfaces(command_facts(dev.words).words).words
    return command_argv(words, shell=dev.shell)


def command_argv(words: tuple[str, ...], *, shell: bool) -> tuple[str, ...]:
    # `exec` replaces the shell with the server: it is PID 1 and receives SIGTERM.
    return ("sh", "-c", f"exec {shell_join(words)}") if shell else words
