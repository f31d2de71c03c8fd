"""The auth handshake: ``WWW-Authenticate`` challenges, scopes, tokens, and when to ask again.

Anonymous first; a 401's challenge decides: ``Bearer`` gets a token from the
realm (with basic credentials when there are some, or an identity token's
OAuth2 exchange), cached by the scopes it was asked for, so one ``push,pull``
token also serves pulls; ``Basic`` sends the credentials. Where credentials
come from is :mod:`uvdock.oci.auth`'s job; they are asked for once, on the
first 401.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import threading
from collections.abc import Callable, Mapping, Sequence

import httpx

from uvdock.oci.auth import Credentials
from uvdock.oci.registry.errors import ErrorMapper, RegistryAuthError
from uvdock.oci.registry.transport import Transport

__all__ = [
    "Challenge",
    "CredentialCache",
    "CredentialSource",
    "Handshake",
    "parse_challenges",
    "pick_challenge",
    "pull_scope",
    "push_scope",
]

CredentialSource = Callable[[str], Credentials | None]
"""Where a client gets credentials for its host: ``find_credentials``, or a test's function."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Challenge:
    """One challenge of a ``WWW-Authenticate`` header: ``scheme`` is lowercase."""

    scheme: str
    params: Mapping[str, str]

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


_TOKEN_CHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"  # noqa: S105 - RFC 9110 tchar, not a secret
_SCHEME_RE = re.compile(rf"\s*({_TOKEN_CHARS})")
_PARAM_RE = re.compile(rf'\s*({_TOKEN_CHARS})\s*=\s*("(?:[^"\\]|\\.)*"|{_TOKEN_CHARS}=*)\s*(?:,|$)')


def parse_challenges(header: str) -> list[Challenge]:
    """The challenges in a ``WWW-Authenticate`` value (RFC 9110 section 11.6.1).

    ``Bearer realm="https://auth.example/token",service="reg",scope="repository:a:pull"``
    gives one challenge with three parameters; ``Basic realm="x", Bearer realm="y"``
    gives two.
    """
    challenges: list[Challenge] = []
    position = 0
    while position < len(header):
        while position < len(header) and header[position] in " \t,":
            position += 1
        scheme = _SCHEME_RE.match(header, position)
        if scheme is None:
            break
        position = scheme.end()
        params: dict[str, str] = {}
        while True:
            param = _PARAM_RE.match(header, position)
            if param is None:
                break
            value = param.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[param.group(1).lower()] = value
            position = param.end()
        challenges.append(Challenge(scheme=scheme.group(1).lower(), params=params))
        if scheme.end() == position and position < len(header) and header[position] not in " \t,":
            break  # neither a parameter nor a new scheme: stop rather than loop
    return challenges


def pick_challenge(header: str) -> Challenge | None:
    """The challenge to answer: ``Bearer`` before ``Basic``; ``None`` for neither."""
    by_scheme = {challenge.scheme: challenge for challenge in parse_challenges(header)}
    return by_scheme.get("bearer") or by_scheme.get("basic")


def _scope_actions(scopes: Sequence[str]) -> frozenset[tuple[str, str]]:
    """``repository:a:push,pull`` → {(repository:a, push), (repository:a, pull)}."""
    actions: set[tuple[str, str]] = set()
    for scope in scopes:
        for part in scope.split():
            resource, _, names = part.rpartition(":")
            actions.update((resource, name) for name in names.split(",") if name)
    return frozenset(actions)


def pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


def push_scope(repository: str) -> str:
    return f"repository:{repository}:push,pull"


class CredentialCache:
    """The credentials for one host, asked of their source once, when first needed."""

    def __init__(
        self,
        host: str,
        source: Credentials | CredentialSource | None,
        *,
        lock: threading.RLock,
    ) -> None:
        self._host = host
        self._source = source
        self._lock = lock
        self._credentials: Credentials | None = None
        self._known = False

    def get(self) -> Credentials | None:
        """The credentials, asking their source the first time."""
        with self._lock:
            if not self._known:
                source = self._source
                self._credentials = source(self._host) if callable(source) else source
                self._known = True
            return self._credentials

    def peek(self) -> Credentials | None:
        """The credentials if they were asked for already, else ``None``."""
        return self._credentials


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Token:
    realm: str
    service: str
    actions: frozenset[tuple[str, str]]
    value: str
    expires_at: float


class Handshake:
    """The ``Authorization`` header for a request's scopes: none, basic, or a cached token.

    ``challenge`` is what the registry's ping or last 401 asked for. ``lock``
    is shared with the client's ping, so one thread at a time learns or
    answers a challenge.
    """

    def __init__(
        self,
        *,
        transport: Transport,
        errors: ErrorMapper,
        credentials: CredentialCache,
        clock: Callable[[], float],
        lock: threading.RLock,
    ) -> None:
        self._transport = transport
        self._errors = errors
        self._credentials = credentials
        self._clock = clock
        self._lock = lock
        self.challenge: Challenge | None = None
        self._tokens: list[_Token] = []

    def learn(self, response: httpx.Response) -> None:
        """Take the challenge of the ping's 401."""
        self.challenge = pick_challenge(response.headers.get("www-authenticate", ""))

    def authorization(self, scopes: tuple[str, ...], *, action: str) -> str | None:
        challenge = self.challenge
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            credentials = self._credentials.get()
            if credentials is None or not credentials.username:
                return None
            pair = f"{credentials.username}:{credentials.password}".encode()
            return "Basic " + base64.b64encode(pair).decode()
        return "Bearer " + self._token(challenge, scopes, action=action)

    def _token(self, challenge: Challenge, scopes: tuple[str, ...], *, action: str) -> str:
        wanted = _scope_actions(scopes)
        service = challenge.params.get("service", "")
        with self._lock:
            now = self._clock()
            self._tokens = [token for token in self._tokens if token.expires_at > now]
            for token in self._tokens:
                if (
                    token.realm == challenge.realm
                    and token.service == service
                    and wanted <= token.actions
                ):
                    return token.value
            token = self._fetch_token(challenge, scopes, action=action)
            self._tokens.append(token)
            return token.value

    def _fetch_token(self, challenge: Challenge, scopes: tuple[str, ...], *, action: str) -> _Token:
        host = self._transport.host
        realm = challenge.realm
        if not realm.startswith(("https://", "http://")):
            raise RegistryAuthError(
                f"{action} failed: {host} sent a Bearer challenge without a usable realm",
                hint="the registry's token service is misconfigured",
            )
        service = challenge.params.get("service", "")
        credentials = self._credentials.get()
        params: list[tuple[str, str | int | float | bool | None]] = (
            [("service", service)] if service else []
        )

        def send() -> httpx.Response:
            if credentials is not None and credentials.identity_token:
                # OAuth2 refresh-token grant (distribution docs/spec/auth/oauth.md).
                form = {
                    "grant_type": "refresh_token",
                    "refresh_token": credentials.identity_token,
                    "client_id": "uvdock",
                    "scope": " ".join(scopes),
                    **({"service": service} if service else {}),
                }
                return self._transport.http.post(realm, data=form)
            auth = None
            if credentials is not None and credentials.username:
                auth = httpx.BasicAuth(credentials.username, credentials.password)
            query = params + [("scope", scope) for scope in scopes]
            return self._transport.http.get(realm, params=query, auth=auth)

        response = self._transport.send_retrying(
            send,
            errors=self._errors,
            action=action,
            service=f"token service {httpx.URL(realm).host}",
        )
        status = response.status_code
        if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            raise self._errors.auth_error(response, action=action)
        self._errors.expect(response, (httpx.codes.OK,), action=action)
        try:
            data = response.json()
            value = str(data.get("token") or data.get("access_token") or "")
            lifetime = float(data.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError):
            value, lifetime = "", 0.0
        if not value:
            raise RegistryAuthError(
                f"{action} failed: the token service of {host} sent no token",
                hint="the registry's token service is misconfigured",
            )
        # A token lives at least 60 s (token.md); renew 10 s early.
        expires_at = self._clock() + max(60.0, lifetime) - 10.0
        return _Token(
            realm=realm,
            service=service,
            actions=_scope_actions(scopes),
            value=value,
            expires_at=expires_at,
        )

    def reauthenticate(
        self, response: httpx.Response, scopes: tuple[str, ...], *, action: str
    ) -> tuple[str, ...]:
        """Take the 401's challenge; drop cached tokens; the scopes to ask for now."""
        challenge = pick_challenge(response.headers.get("www-authenticate", ""))
        if challenge is None:
            raise self._errors.auth_error(response, action=action)
        with self._lock:
            self.challenge = challenge
            self._tokens.clear()
        extra = challenge.params.get("scope", "")
        if extra and not _scope_actions((extra,)) <= _scope_actions(scopes):
            return (*scopes, extra)
        return scopes
