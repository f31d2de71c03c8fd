"""Where a server command listens, and the same command bound to every interface (a server
bound to 127.0.0.1 inside a container cannot be reached from outside it)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

from uvdock.project.servers import ANY, split_program

__all__ = ["Listening", "listen_on_all_interfaces"]

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Listening:
    """Where a command listens, after making it listen on every interface."""

    words: tuple[str, ...]
    port: str | None  # as written: "8000", "$PORT"; None when not known
    changed: str | None  # what was changed to listen on every interface, if anything


def listen_on_all_interfaces(
    words: tuple[str, ...], *, default_bind: str | None = None
) -> Listening:
    """Make a server command listen on 0.0.0.0 (a container's loopback is unreachable).

    ``default_bind`` is the bind a config file gives gunicorn (``gunicorn.conf.py``
    ``bind``), which a command without ``--bind`` uses.
    """
    prefix, program, args = split_program(words)
    handler = _LISTEN.get(program)
    if handler is None:
        return Listening(words=words, port=None, changed=None)
    new_args, port, changed = handler(args, default_bind)
    return Listening(words=(*prefix, *new_args), port=port, changed=changed)


_ListenResult = tuple[tuple[str, ...], str | None, str | None]


def _option_value(args: Sequence[str], names: Iterable[str]) -> tuple[int, str] | None:
    """(index of the value, value) of the last ``--name value`` / ``--name=value``."""
    found = None
    names = frozenset(names)
    for index, word in enumerate(args):
        option, equals, value = word.partition("=")
        if equals and option in names:
            found = (index, value)
        elif word in names and index + 1 < len(args):
            found = (index + 1, args[index + 1])
    return found


def _set_value(args: tuple[str, ...], index: int, value: str) -> tuple[str, ...]:
    word = args[index]
    option, equals, _ = word.partition("=")
    replaced = f"{option}={value}" if equals and option.startswith("-") else value
    return (*args[:index], replaced, *args[index + 1 :])


def _host_port(
    args: tuple[str, ...],
    *,
    hosts: tuple[str, ...],
    ports: tuple[str, ...],
    default_host: str,
    default_port: str,
) -> _ListenResult:
    """Servers with separate host and port options (uvicorn, granian, flask, fastapi, daphne)."""
    if _option_value(args, ("--uds", "--fd", "-u", "--unix-socket")) is not None:
        return args, None, None
    port_value = _option_value(args, ports)
    port = port_value[1] if port_value else default_port
    host = _option_value(args, hosts)
    if host is None:
        if default_host == ANY:
            return args, port, None
        return (*args, hosts[0], ANY), port, f"added `{hosts[0]} {ANY}`"
    if host[1] in _LOOPBACK:
        return _set_value(args, host[0], ANY), port, f"`{host[1]}` replaced by `{ANY}`"
    return args, port, None


def _binds(args: tuple[str, ...], default_bind: str | None, default: str) -> _ListenResult:
    """Servers with ``--bind HOST:PORT`` (gunicorn, hypercorn)."""
    bind = _option_value(args, ("-b", "--bind"))
    if bind is None:
        if default_bind is not None:
            return args, _port_of(default_bind), None
        host, _, port = default.rpartition(":")
        if host == ANY:
            return args, port, None
        return (*args, "--bind", f"{ANY}:{port}"), port, f"added `--bind {ANY}:{port}`"
    host, _, port = bind[1].rpartition(":")
    if host in _LOOPBACK or not host:
        new = f"{ANY}:{port}"
        return _set_value(args, bind[0], new), port, f"`{bind[1]}` replaced by `{new}`"
    return args, port or None, None


def _port_of(bind: str) -> str | None:
    if bind.startswith(("unix:", "fd://")):
        return None
    return bind.rpartition(":")[2] or None


def _listen_uvicorn(args: tuple[str, ...], _: str | None) -> _ListenResult:
    return _host_port(
        args, hosts=("--host",), ports=("--port",), default_host="127.0.0.1", default_port="8000"
    )


def _listen_granian(args: tuple[str, ...], _: str | None) -> _ListenResult:
    return _listen_uvicorn(args, None)


def _listen_daphne(args: tuple[str, ...], _: str | None) -> _ListenResult:
    if _option_value(args, ("-e", "--endpoint")) is not None:
        return args, None, None
    return _host_port(
        args,
        hosts=("-b", "--bind"),
        ports=("-p", "--port"),
        default_host="127.0.0.1",
        default_port="8000",
    )


def _listen_fastapi(args: tuple[str, ...], _: str | None) -> _ListenResult:
    default_host = "127.0.0.1" if args[:1] == ("dev",) else ANY
    return _host_port(
        args, hosts=("--host",), ports=("--port",), default_host=default_host, default_port="8000"
    )


def _listen_flask(args: tuple[str, ...], _: str | None) -> _ListenResult:
    return _host_port(
        args,
        hosts=("--host", "-h"),
        ports=("--port", "-p"),
        default_host="127.0.0.1",
        default_port="5000",
    )


def _listen_waitress(args: tuple[str, ...], _: str | None) -> _ListenResult:
    listen = _option_value(args, ("--listen",))
    if listen is None:
        return _host_port(
            args, hosts=("--host",), ports=("--port",), default_host=ANY, default_port="8080"
        )
    host, _, port = listen[1].rpartition(":")
    if host in _LOOPBACK:
        new = f"{ANY}:{port}"
        return _set_value(args, listen[0], new), port, f"`{listen[1]}` replaced by `{new}`"
    return args, port, None


def _listen_gunicorn(args: tuple[str, ...], default_bind: str | None) -> _ListenResult:
    # Without --bind, gunicorn listens on 0.0.0.0:$PORT when PORT is set (Heroku's
    # convention, and uvdock sets PORT for such commands), else on 127.0.0.1:8000.
    return _binds(args, default_bind, "127.0.0.1:8000")


def _listen_hypercorn(args: tuple[str, ...], default_bind: str | None) -> _ListenResult:
    return _binds(args, default_bind, "127.0.0.1:8000")


def _listen_django(args: tuple[str, ...], _: str | None) -> _ListenResult:
    if "runserver" not in args:
        return args, None, None
    index = args.index("runserver")
    address = next((a for a in args[index + 1 :] if not a.startswith("-")), None)
    if address is None:
        return (*args, f"{ANY}:8000"), "8000", f"added `{ANY}:8000`"
    host, _, port = address.rpartition(":")
    if host in _LOOPBACK or not host:
        position = args.index(address, index)
        new = f"{ANY}:{port}"
        return _set_value(args, position, new), port, f"`{address}` replaced by `{new}`"
    return args, port, None


_LISTEN: dict[str, Callable[[tuple[str, ...], str | None], _ListenResult]] = {
    "uvicorn": _listen_uvicorn,
    "granian": _listen_granian,
    "daphne": _listen_daphne,
    "fastapi-cli": _listen_fastapi,
    "flask": _listen_flask,
    "waitress": _listen_waitress,
    "gunicorn": _listen_gunicorn,
    "hypercorn": _listen_hypercorn,
    "django": _listen_django,
}
