"""Registry credentials, found where ``docker login`` and ``podman login`` put them.

Written by hand because no well-kept Python library reads Docker's credential
stores: docker-py's ``auth`` module is tied to docker-py's API client, and the
``docker-credential-helpers`` protocol has no maintained Python client. The
rules follow docker/cli (``config/configfile``, ``credentials/native_store``)
and containers/image (``pkg/docker/config``):

1. Docker's ``$DOCKER_CONFIG/config.json`` (else ``~/.docker/config.json``):
   ``credHelpers[host]``, else ``credsStore`` (both run
   ``docker-credential-<name> get`` with the server URL on stdin), else
   ``auths[host]`` (base64 ``auth`` or ``username``/``password``, plus
   ``identitytoken``).
2. Podman's ``$REGISTRY_AUTH_FILE``, else ``$XDG_RUNTIME_DIR/containers/auth.json``
   and ``$XDG_CONFIG_HOME/containers/auth.json`` (``~/.config``): the same
   ``auths`` and ``credHelpers`` keys, where a key may also name a namespace
   (``quay.io/team``) and the most specific key wins.

Docker Hub goes by several names (``docker.io``, ``index.docker.io``,
``registry-1.docker.io``, ``https://index.docker.io/v1/``); all of them find
the same entry. Nothing here prints, logs or puts a secret in a message.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from uvdock._proc import Runner, default_runner, which
from uvdock.errors import ConfigError, UvdockError

__all__ = [
    "DOCKER_HUB",
    "DOCKER_HUB_AUTH_KEY",
    "CredentialHelperError",
    "Credentials",
    "canonical_host",
    "find_credentials",
]

DOCKER_HUB = "docker.io"
"""The canonical name of Docker Hub, as image references spell it."""

DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
"""The key ``docker login`` uses for Docker Hub in config.json and credential helpers."""

_DOCKER_HUB_ALIASES = frozenset({
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
})  # fmt: skip

# docker-credential-helpers' ``credentials.errCredentialsNotFoundMessage``.
_NOT_FOUND = "credentials not found"
# A credential helper's Username when Secret is an identity (refresh) token.
_TOKEN_USERNAME = "<token>"  # noqa: S105 - a marker, not a secret


class CredentialHelperError(UvdockError):
    """A ``docker-credential-*`` helper is missing or failed."""


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class Credentials:
    """What to log in to one registry with; ``repr`` and ``str`` never show a secret.

    ``password`` goes with ``username`` as HTTP basic credentials (to the
    registry, or to its token service). ``identity_token`` is an OAuth2
    refresh token (``docker login`` to a registry with single sign-on) and
    is exchanged at the token service instead. ``source`` says where the
    credentials were found, for messages.
    """

    username: str = ""
    password: str = ""
    identity_token: str = ""
    source: str = ""

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secret values, to scrub from any text that could reach a user."""
        return tuple(secret for secret in (self.password, self.identity_token) if secret)

    def __repr__(self) -> str:
        hidden = "***" if self.secrets else "''"
        return f"Credentials(username={self.username!r}, secret={hidden}, source={self.source!r})"

    __str__ = __repr__


def canonical_host(server: str) -> str:
    """The registry host of a config key or server URL; every Docker Hub alias is ``docker.io``.

    Follows docker/cli's ``ConvertToHostname``: drop ``http(s)://`` and
    everything from the first ``/``.
    """
    host = server.strip()
    for scheme in ("https://", "http://"):
        if host.lower().startswith(scheme):
            host = host[len(scheme) :]
            break
    host = host.split("/", 1)[0].lower()
    return DOCKER_HUB if host in _DOCKER_HUB_ALIASES else host


def find_credentials(
    host: str,
    *,
    repository: str | None = None,
    env: Mapping[str, str] | None = None,
    runner: Runner = default_runner,
) -> Credentials | None:
    """The credentials for ``host`` (``ghcr.io``, ``localhost:5000``, ``docker.io``), or None.

    ``repository`` lets podman's namespace-scoped entries (``quay.io/team``)
    match. ``env`` defaults to ``os.environ`` (``DOCKER_CONFIG``,
    ``REGISTRY_AUTH_FILE``, ``XDG_*``, ``HOME``). Raises ``ConfigError`` for an
    unreadable config file and ``CredentialHelperError`` when a configured
    helper is missing or fails (as docker does, rather than silently going
    anonymous).
    """
    environ = os.environ if env is None else env
    wanted = canonical_host(host)
    docker_config = _docker_config_path(environ)
    found = _from_file(
        docker_config, wanted, repository=None, runner=runner, allow_store=True, environ=environ
    )
    if found is not None:
        return found
    for path in _podman_auth_paths(environ):
        found = _from_file(
            path,
            wanted,
            repository=repository or "",
            runner=runner,
            allow_store=False,
            environ=environ,
        )
        if found is not None:
            return found
    return None


def _home(environ: Mapping[str, str]) -> Path:
    home = environ.get("HOME")
    return Path(home) if home else Path.home()


def _docker_config_path(environ: Mapping[str, str]) -> Path:
    directory = environ.get("DOCKER_CONFIG")
    base = Path(directory) if directory else _home(environ) / ".docker"
    return base / "config.json"


def _podman_auth_paths(environ: Mapping[str, str]) -> list[Path]:
    explicit = environ.get("REGISTRY_AUTH_FILE")
    if explicit:
        return [Path(explicit)]
    paths = []
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime:
        paths.append(Path(runtime) / "containers" / "auth.json")
    config_home = environ.get("XDG_CONFIG_HOME")
    config_dir = Path(config_home) if config_home else _home(environ) / ".config"
    paths.append(config_dir / "containers" / "auth.json")
    return paths


def _load(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as err:
        raise ConfigError(
            f"cannot read registry credentials: {err.strerror}",
            path=path,
            hint="fix the file's permissions or remove it",
        ) from err
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(
            f"not valid JSON (line {err.lineno}): {err.msg}",
            path=path,
            hint="fix the file or log in again with `docker login`",
        ) from err
    if not isinstance(data, dict):
        raise ConfigError("expected a JSON object", path=path, hint="fix the file")
    return data


def _section(data: Mapping[str, Any], name: str, path: Path) -> dict[str, Any]:
    value = data.get(name) or {}
    if not isinstance(value, dict):
        raise ConfigError(f'"{name}" must be an object', path=path, hint="fix the file")
    return value


def _matching_keys(keys: Iterator[str], wanted: str, repository: str | None) -> list[str]:
    """Keys naming ``wanted``, most specific first.

    With ``repository`` (podman's files), a key's path names a namespace
    (``quay.io/team``) and must be a prefix of ``repository``. Without it
    (Docker's file), the path is ignored as docker/cli ignores it
    (``https://index.docker.io/v1/``).
    """
    scopes = [wanted]
    if repository is not None:
        parts = [part for part in repository.split("/") if part]
        scopes = [f"{wanted}/{'/'.join(parts[:n])}" for n in range(len(parts), 0, -1)] + scopes
    matches: list[tuple[int, str]] = []
    for key in keys:
        if canonical_host(key) != wanted:
            continue
        if repository is None:
            matches.append((0 if key == wanted else 1, key))
            continue
        bare = key.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
        path = bare.split("/", 1)[1] if "/" in bare else ""
        scoped = f"{wanted}/{path}" if path and path != "v1" else wanted
        if scoped in scopes:
            matches.append((scopes.index(scoped), key))
    return [key for _, key in sorted(matches)]


def _from_file(
    path: Path,
    wanted: str,
    *,
    repository: str | None,
    runner: Runner,
    allow_store: bool,
    environ: Mapping[str, str],
) -> Credentials | None:
    data = _load(path)
    if data is None:
        return None
    helpers = _section(data, "credHelpers", path)
    for key in _matching_keys(iter(helpers), wanted, repository):
        helper = helpers[key]
        if isinstance(helper, str) and helper:
            return _from_helper(helper, wanted, runner=runner, environ=environ, origin=path)
    store = data.get("credsStore")
    if allow_store and isinstance(store, str) and store:
        # docker/cli: with a credsStore, the store answers for every host and
        # the ``auths`` entries only remember that a login happened.
        return _from_helper(store, wanted, runner=runner, environ=environ, origin=path)
    auths = _section(data, "auths", path)
    for key in _matching_keys(iter(auths), wanted, repository):
        entry = auths[key]
        if isinstance(entry, dict):
            found = _from_entry(entry, source=str(path), path=path)
            if found is not None:
                return found
    return None


def _from_entry(entry: Mapping[str, Any], *, source: str, path: Path) -> Credentials | None:
    username = str(entry.get("username") or "")
    password = str(entry.get("password") or "")
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as err:
            raise ConfigError(
                'an "auth" value is not base64 of "user:password"',
                path=path,
                hint="log in again with `docker login`",
            ) from err
        username, sep, password = decoded.partition(":")
        if not sep:
            raise ConfigError(
                'an "auth" value has no ":" between user and password',
                path=path,
                hint="log in again with `docker login`",
            )
    identity_token = str(entry.get("identitytoken") or "")
    if not (username or password or identity_token):
        return None
    return Credentials(
        username=username, password=password, identity_token=identity_token, source=source
    )


def _from_helper(
    name: str, host: str, *, runner: Runner, environ: Mapping[str, str], origin: Path
) -> Credentials | None:
    program = f"docker-credential-{name}"
    found = which(program)
    if found is None:
        raise CredentialHelperError(
            f"{program} (named in {origin}) is not on PATH",
            hint=f"install it, or remove {name!r} from {origin} and run `docker login {host}`",
        )
    server = DOCKER_HUB_AUTH_KEY if host == DOCKER_HUB else host
    # The helper protocol reads the server URL from stdin. ``_proc.run`` passes
    # no stdin, so a POSIX shell pipes it in; the URL is an argument, not code.
    argv = ["sh", "-c", 'printf "%s" "$1" | "$0" get', found, server]
    result = runner(argv, env=dict(environ), timeout=60)
    if not result.ok:
        if _NOT_FOUND in result.stdout.lower() or _NOT_FOUND in result.stderr.lower():
            return None
        detail = (result.stderr or result.stdout).strip().splitlines()
        reason = detail[-1][:200] if detail else f"exit status {result.returncode}"
        raise CredentialHelperError(
            f"{program} get failed for {host}: {reason}",
            hint=f"check the helper, or log in again with `docker login {host}`",
        )
    try:
        data = json.loads(result.stdout)
    except json.JSONDecodeError as err:
        raise CredentialHelperError(
            f"{program} get printed something other than JSON for {host}",
            hint="check the helper's version; it should print {Username, Secret}",
        ) from err
    if not isinstance(data, dict):
        raise CredentialHelperError(
            f"{program} get printed something other than a JSON object for {host}",
            hint="check the helper's version; it should print {Username, Secret}",
        )
    username = str(data.get("Username") or "")
    secret = str(data.get("Secret") or "")
    if not secret:
        return None
    source = f"{program} ({origin})"
    if username == _TOKEN_USERNAME:
        return Credentials(identity_token=secret, source=source)
    return Credentials(username=username, password=secret, source=source)
