"""``fastapi run``/``fastapi dev`` (fastapi-cli): which app they serve, and the uvicorn equivalent.

fastapi-cli finds the app from the working directory: ``--entrypoint``, a
path argument, ``[tool.fastapi] entrypoint`` in ``./pyproject.toml``, or the
first of ``main.py``, ``app.py``, ``api.py``, ``app/main.py``, ``app/app.py``,
``app/api.py`` (fastapi-cli's ``discover.py``). The image of an installed
package has none of these files in its working directory, so there the
command that works is uvicorn (which fastapi-cli runs, and installs) serving
the same ``module:app``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from uvdock.errors import ConfigError
from uvdock.project.documents import read_pyproject

__all__ = ["fastapi_target", "uvicorn_equivalent"]

_DEFAULT_PATHS = ("main.py", "app.py", "api.py", "app/main.py", "app/app.py", "app/api.py")
_VALUE_OPTIONS = frozenset({"--host", "--port", "--workers", "--root-path", "--app",
                            "--entrypoint", "--forwarded-allow-ips", "--reload-dir"})  # fmt: skip
_KEPT_OPTIONS = ("--host", "--port", "--workers", "--root-path", "--forwarded-allow-ips")


def _options(args: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """(option -> value, positional arguments) of ``fastapi run ...`` arguments."""
    options: dict[str, str] = {}
    positional: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        name, equals, value = word.partition("=")
        if equals and name in _VALUE_OPTIONS:
            options[name] = value
        elif word in _VALUE_OPTIONS and index + 1 < len(args):
            options[word] = args[index + 1]
            index += 1
        elif not word.startswith("-"):
            positional.append(word)
        index += 1
    return options, positional


def _module_of(path: str) -> str:
    parts = list(Path(path.removesuffix(".py")).parts)
    if parts and parts[0] == "src":
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _pyproject_entrypoint(root: Path) -> str | None:
    try:
        data, _ = read_pyproject(root / "pyproject.toml")
    except ConfigError:  # missing or broken: detection reports a broken one where it reads it
        return None
    value = data.get("tool", {}).get("fastapi", {}).get("entrypoint")
    return value if isinstance(value, str) and ":" in value else None


def fastapi_target(
    args: Sequence[str], root: Path, apps: Sequence[tuple[str, str]]
) -> tuple[str, str] | None:
    """(``module:app``, how it was found) for ``fastapi run|dev ARGS``, if it can be told.

    ``apps`` are the FastAPI objects found in the code, as ``(module, attribute)``.
    """
    options, positional = _options(args)
    if "--entrypoint" in options:
        return options["--entrypoint"], "its --entrypoint"
    path = positional[0] if positional else None
    if path is None:
        configured = _pyproject_entrypoint(root)
        if configured is not None:
            return configured, "[tool.fastapi] entrypoint in pyproject.toml"
        path = next((p for p in _DEFAULT_PATHS if (root / p).is_file()), None)
    if path is None:
        return None
    module = _module_of(path)
    names = [attribute for found, attribute in apps if found == module]
    wanted = options.get("--app")
    name = wanted or next((n for n in ("app", "api") if n in names), names[0] if names else None)
    if name is None:
        return None
    return f"{module}:{name}", f"{path} (fastapi-cli's discovery)"


def uvicorn_equivalent(args: Sequence[str], target: str) -> tuple[str, ...]:
    """``fastapi run ARGS`` as uvicorn (``--workers 4`` kept)."""
    options, _ = _options(args)
    options.setdefault("--host", "0.0.0.0")  # noqa: S104 - fastapi run's default
    options.setdefault("--port", "8000")
    kept = [item for name in _KEPT_OPTIONS if name in options for item in (name, options[name])]
    return ("uvicorn", target, *kept)
