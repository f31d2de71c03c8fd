"""The registry client's pure parts, and the error paths a real registry cannot produce on demand.

Happy paths run against the real registry in
``tests/integration/test_oci_registry.py``. Here ``httpx.MockTransport``
plays a token service, a registry that fails, rate-limits, drops connections
or lies about digests; ``sleep`` is recorded instead of slept.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import socket
from collections.abc import Callable, Iterator
from typing import BinaryIO

import httpx
import pytest

from uvdock.errors import UvdockError
from uvdock.oci.auth import Credentials
from uvdock.oci.registry import (
    MANIFEST_AND_INDEX_MEDIA_TYPES,
    BlobNotFoundError,
    Challenge,
    DigestMismatchError,
    ImageReference,
    ManifestNotFoundError,
    RegistryAuthError,
    RegistryClient,
    RegistryError,
    RegistryUnreachableError,
    is_loopback,
    parse_challenges,
    parse_reference,
)

SECRET = "hunter2-registry"
CREDS = Credentials(username="octo", password=SECRET, source="/home/me/.docker/config.json")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
Handler = Callable[[httpx.Request], httpx.Response]


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- references ------------------------------------------------------------------------------

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("localhost:5000/standin/library/python:3.13-slim-trixie",
         ("localhost:5000", "standin/library/python", "3.13-slim-trixie")),
        ("python", ("docker.io", "library/python", "latest")),
        ("python:3.13", ("docker.io", "library/python", "3.13")),
        ("library/python:3.13", ("docker.io", "library/python", "3.13")),
        ("astral/uv", ("docker.io", "astral/uv", "latest")),
        ("docker.io/python", ("docker.io", "library/python", "latest")),
        ("index.docker.io/python:3", ("docker.io", "library/python", "3")),
        ("registry-1.docker.io/team/app:1", ("docker.io", "team/app", "1")),
        ("ghcr.io/astral-sh/uv:0.13.9", ("ghcr.io", "astral-sh/uv", "0.13.9")),
        ("localhost/app", ("localhost", "app", "latest")),
        ("localhost:5000/app", ("localhost:5000", "app", "latest")),
        ("127.0.0.1:5000/a/b/c:t", ("127.0.0.1:5000", "a/b/c", "t")),
        ("[::1]:5000/app:1", ("[::1]:5000", "app", "1")),
        ("example.com/app", ("example.com", "app", "latest")),
        ("host:5000/app", ("host:5000", "app", "latest")),
        ("team/app:5000", ("docker.io", "team/app", "5000")),
        (f"python@{DIGEST}", ("docker.io", "library/python", DIGEST)),
        (f"ghcr.io/a/b:1.0@{DIGEST}", ("ghcr.io", "a/b", DIGEST)),
        ("my-registry.example:443/a__b/c-d.e_f:v1.2_3-rc", ("my-registry.example:443", "a__b/c-d.e_f", "v1.2_3-rc")),  # noqa: E501
    ],
)  # fmt: skip
def test_parse_reference(text: str, expected: tuple[str, str, str]) -> None:
    parsed = parse_reference(text)
    assert parsed == expected
    assert isinstance(parsed, ImageReference)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("Python:3", "lowercase"),
        ("ghcr.io/Team/app", "lowercase"),
        ("app:-bad", "not a valid tag"),
        ("app@sha256:abc", "not a supported digest"),
        ("app@md5:" + "a" * 32, "not a supported digest"),
        ("ghcr.io/a//b", "not a valid repository name"),
        ("ghcr.io/a-/b", "not a valid repository name"),
        ("x" * 300, "longer than 255"),
    ],
)
def test_parse_reference_rejects(text: str, why: str) -> None:
    with pytest.raises(UvdockError, match=why) as caught:
        parse_reference(text)
    assert "[HOST[:PORT]/]NAME[:TAG]" in caught.value.one_line()


def test_reference_str() -> None:
    assert str(parse_reference("python:3")) == "docker.io/library/python:3"
    assert str(parse_reference(f"ghcr.io/a/b@{DIGEST}")) == f"ghcr.io/a/b@{DIGEST}"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True), ("localhost:5000", True), ("registry.localhost:80", True),
        ("127.0.0.1", True), ("127.1.2.3:5000", True), ("[::1]:5000", True), ("::1", True),
        ("10.0.0.1:5000", False), ("ghcr.io", False), ("localhost.example.com", False),
        ("[2001:db8::1]:443", False),
    ],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# --- WWW-Authenticate ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/python:pull"',
         [("bearer", {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                      "scope": "repository:library/python:pull"})]),
        ('Basic realm="Registry Realm"', [("basic", {"realm": "Registry Realm"})]),
        ('Basic realm="a", Bearer realm="https://t/x", service=reg',
         [("basic", {"realm": "a"}), ("bearer", {"realm": "https://t/x", "service": "reg"})]),
        ('Bearer realm="https://t",scope="repository:a:pull,push",error="insufficient_scope"',
         [("bearer", {"realm": "https://t", "scope": "repository:a:pull,push",
                      "error": "insufficient_scope"})]),
        ('BEARER Realm = "q\\"uoted" , Service="s"',
         [("bearer", {"realm": 'q"uoted', "service": "s"})]),
        ("Negotiate", [("negotiate", {})]),
        ("", []),
    ],
)  # fmt: skip
def test_parse_challenges(header: str, expected: list[tuple[str, dict[str, str]]]) -> None:
    assert parse_challenges(header) == [
        Challenge(scheme=scheme, params=params) for scheme, params in expected
    ]


# --- a scripted registry ---------------------------------------------------------------------


class Script:
    """Routes requests to handlers by (method, path prefix); records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: list[tuple[str, str, Handler]] = []
        self.sleeps: list[float] = []

    def on(self, method: str, path: str, handler: Handler | httpx.Response) -> None:
        def fixed(_: httpx.Request, response: httpx.Response = handler) -> httpx.Response:  # type: ignore[assignment]
            return response

        self.routes.insert(
            0, (method, path, fixed if isinstance(handler, httpx.Response) else handler)
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        for method, path, handler in self.routes:
            if request.method == method and request.url.path.startswith(path):
                return handler(request)
        return httpx.Response(404, json={"errors": [{"code": "NOT_FOUND", "message": "no route"}]})

    def client(self, host: str = "registry.example", **kwargs: object) -> RegistryClient:
        options: dict[str, object] = {"credentials": None, "sleep": self.sleeps.append}
        options.update(kwargs)
        return RegistryClient(host, transport=httpx.MockTransport(self), **options)  # type: ignore[arg-type]

    def handler(self, method: str, path: str) -> Handler:
        """The handler that answers ``method path`` now (to wrap it)."""
        return next(h for m, p, h in self.routes if m == method and path.startswith(p))

    def seen(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path.startswith(path)]


def sequence(*responses: httpx.Response) -> Handler:
    """Answer with each response in turn, then keep answering with the last."""
    queue = list(responses)

    def answer(_: httpx.Request) -> httpx.Response:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return answer


@pytest.fixture
def script() -> Script:
    script = Script()
    script.on("GET", "/v2/", httpx.Response(200, json={}))
    return script


def bearer_registry(script: Script, *, tokens: list[str] | None = None) -> list[httpx.Request]:
    """A registry that wants ``Bearer token-N``; returns the token requests it sees."""
    issued = tokens if tokens is not None else []
    token_requests: list[httpx.Request] = []
    challenge = 'Bearer realm="https://auth.example/token",service="registry.example"'

    def token(request: httpx.Request) -> httpx.Response:
        token_requests.append(request)
        issued.append(f"token-{len(issued) + 1}")
        return httpx.Response(200, json={"token": issued[-1], "expires_in": 300})

    def guarded(inner: Handler) -> Handler:
        def handle(request: httpx.Request) -> httpx.Response:
            auth = request.headers.get("authorization", "")
            if not issued or auth != f"Bearer {issued[-1]}":
                return httpx.Response(401, headers={"WWW-Authenticate": challenge})
            return inner(request)

        return handle

    script.on("GET", "/v2/", guarded(lambda _: httpx.Response(200, json={})))
    script.on("GET", "/token", token)
    body = b'{"mediaType": "application/vnd.oci.image.manifest.v1+json"}'
    manifest = httpx.Response(200, content=body, headers={"Content-Type": OCI_MANIFEST})
    script.on("GET", "/v2/team/app/manifests/", guarded(lambda _: manifest))
    script.on("HEAD", "/v2/team/app/blobs/", guarded(lambda _: httpx.Response(200)))
    return token_requests


# --- scheme and TLS --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "insecure", "scheme"),
    [
        ("localhost:5000", None, "http"),
        ("127.0.0.1:5000", None, "http"),
        ("[::1]:5000", None, "http"),
        ("registry.example", None, "https"),
        ("registry.example", True, "http"),
        ("localhost:5000", False, "https"),
    ],
)
def test_scheme(script: Script, host: str, insecure: bool | None, scheme: str) -> None:
    with script.client(host, insecure=insecure) as client:
        assert client.head_blob("app", DIGEST) is False
    assert {request.url.scheme for request in script.requests} == {scheme}


def test_docker_hub_api_host(script: Script) -> None:
    with script.client("index.docker.io") as client:
        assert client.host == "docker.io"
        client.head_blob("library/python", DIGEST)
    assert script.requests[0].url.host == "registry-1.docker.io"


def test_insecure_registry_that_speaks_https_is_used_unverified(script: Script) -> None:
    def ping(request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "http":
            return httpx.Response(400, text="Client sent an HTTP request to an HTTPS server.\n")
        return httpx.Response(200, json={})

    script.on("GET", "/v2/", ping)
    with script.client("10.1.2.3:5000", insecure=True) as client:
        assert client.head_blob("app", DIGEST) is False
        assert client.base_url == "https://10.1.2.3:5000"
    assert [r.url.scheme for r in script.requests] == ["http", "https", "https"]


# --- auth ------------------------------------------------------------------------------------


def test_bearer_token_is_fetched_with_basic_credentials_and_cached(script: Script) -> None:
    token_requests = bearer_registry(script)
    with script.client(credentials=CREDS) as client:
        client.get_manifest("team/app", "1")
        client.get_manifest("team/app", "2")
        client.head_blob("team/app", DIGEST)
    assert len(token_requests) == 1
    request = token_requests[0]
    assert request.url.params.get_list("scope") == ["repository:team/app:pull"]
    assert request.url.params["service"] == "registry.example"
    assert (
        request.headers["authorization"]
        == "Basic " + base64.b64encode(f"octo:{SECRET}".encode()).decode()
    )
    registry_requests = [r for r in script.requests if r.url.host == "registry.example"]
    # ping (401), then each request carries the token without another 401.
    assert [r.headers.get("authorization") for r in registry_requests[1:]] == ["Bearer token-1"] * 3


def test_anonymous_token_has_no_authorization(script: Script) -> None:
    token_requests = bearer_registry(script)
    with script.client() as client:
        client.get_manifest("team/app", "1")
    assert "authorization" not in token_requests[0].headers


def test_credentials_are_looked_up_once_and_only_when_asked_for(script: Script) -> None:
    asked: list[str] = []

    def source(host: str) -> Credentials | None:
        asked.append(host)
        return CREDS

    with script.client(credentials=source) as client:
        client.head_blob("team/app", DIGEST)  # no challenge: anonymous
        assert asked == []
    bearer_registry(script)
    with script.client(credentials=source) as client:
        client.get_manifest("team/app", "1")
        client.head_blob("team/app", DIGEST)
    assert asked == ["registry.example"]


def test_push_pull_token_serves_pulls_and_expiry_refetches(script: Script) -> None:
    token_requests = bearer_registry(script)
    now = [1000.0]
    with script.client(credentials=CREDS, clock=lambda: now[0]) as client:
        client.push_blob("team/app", DIGEST, 3, lambda: io.BytesIO(b"abc"))  # HEAD: present
        client.get_manifest("team/app", "1")
        assert len(token_requests) == 1
        assert token_requests[0].url.params.get_list("scope") == ["repository:team/app:push,pull"]
        now[0] += 400  # past expires_in=300
        client.get_manifest("team/app", "1")
    assert len(token_requests) == 2
    assert token_requests[1].url.params.get_list("scope") == ["repository:team/app:pull"]


def test_insufficient_scope_asks_again_with_the_challenge_scope(script: Script) -> None:
    issued: list[str] = []
    bearer_registry(script, tokens=issued)
    challenge = (
        'Bearer realm="https://auth.example/token",service="registry.example",'
        'scope="repository:team/app:pull,delete",error="insufficient_scope"'
    )

    def strict(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != "Bearer token-2":
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        return httpx.Response(200, content=b"{}", headers={"Content-Type": OCI_MANIFEST})

    script.on("GET", "/v2/team/app/manifests/", strict)
    with script.client(credentials=CREDS) as client:
        client.get_manifest("team/app", "1")
    second = script.seen("GET", "/token")[1]
    assert second.url.params.get_list("scope") == [
        "repository:team/app:pull",
        "repository:team/app:pull,delete",
    ]


def test_identity_token_uses_the_oauth2_refresh_grant(script: Script) -> None:
    issued: list[str] = []
    bearer_registry(script, tokens=issued)
    forms: list[bytes] = []

    def token(request: httpx.Request) -> httpx.Response:
        forms.append(request.content)
        issued.append("token-1")
        return httpx.Response(200, json={"access_token": "token-1"})

    script.on("POST", "/token", token)
    sso = Credentials(identity_token="refresh-xyz", source="helper")
    with script.client(credentials=sso) as client:
        client.get_manifest("team/app", "1")
    form = httpx.QueryParams(forms[0].decode())
    assert form["grant_type"] == "refresh_token"
    assert form["refresh_token"] == "refresh-xyz"
    assert form["scope"] == "repository:team/app:pull"
    assert form["service"] == "registry.example"


def test_basic_challenge_sends_the_credentials(script: Script) -> None:
    expected = "Basic " + base64.b64encode(f"octo:{SECRET}".encode()).decode()

    def guarded(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != expected:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
        return httpx.Response(200)

    script.on("GET", "/v2/", guarded)
    script.on("HEAD", "/v2/", guarded)
    with script.client(credentials=CREDS) as client:
        assert client.head_blob("team/app", DIGEST) is True


def test_no_credentials_says_to_log_in(script: Script) -> None:
    script.on("GET", "/v2/", httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'}))
    script.on("HEAD", "/v2/", httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'}))
    with script.client() as client, pytest.raises(RegistryAuthError) as caught:
        client.head_blob("team/app", DIGEST)
    line = caught.value.one_line()
    assert "registry.example asks for credentials and none were found" in line
    assert "run `docker login registry.example`" in line


def test_refused_credentials_name_their_source_not_the_secret(script: Script) -> None:
    bearer_registry(script)
    script.on("GET", "/token", httpx.Response(401, json={"errors": [
        {"code": "UNAUTHORIZED", "message": f"bad password {SECRET}"}]}))  # fmt: skip
    with script.client(credentials=CREDS) as client, pytest.raises(RegistryAuthError) as caught:
        client.get_manifest("team/app", "1")
    line = caught.value.one_line()
    assert "refused the credentials from /home/me/.docker/config.json" in line
    assert "docker login registry.example" in line
    assert SECRET not in line
    assert SECRET not in repr(caught.value.args)


def test_forbidden_is_an_auth_error(script: Script) -> None:
    script.on("PUT", "/v2/team/app/manifests/", httpx.Response(403, json={"errors": [
        {"code": "DENIED", "message": "requested access to the resource is denied"}]}))  # fmt: skip
    with script.client(credentials=CREDS) as client, pytest.raises(RegistryAuthError) as caught:
        client.put_manifest("team/app", "1", b"{}", OCI_MANIFEST)
    line = caught.value.one_line()
    assert "registry.example denied access" in line
    assert "DENIED" in line
    assert "docker login registry.example" in line


def test_credentials_never_go_to_another_host(script: Script) -> None:
    bearer_registry(script)
    blob = b"layer"
    challenge = 'Bearer realm="https://auth.example/token"'

    def redirect(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != "Bearer token-1":
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        return httpx.Response(307, headers={"Location": "https://storage.example/bucket/b?sig=1"})

    script.on("GET", "/v2/team/app/blobs/", redirect)
    script.on("GET", "/bucket/", httpx.Response(200, content=blob))
    out = io.BytesIO()
    with script.client(credentials=CREDS) as client:
        assert client.get_blob("team/app", sha(blob), out) == len(blob)
    storage = script.seen("GET", "/bucket/")
    assert storage
    assert "authorization" not in storage[0].headers


# --- retries ---------------------------------------------------------------------------------


def test_5xx_is_retried_with_exponential_backoff(script: Script) -> None:
    script.on("HEAD", "/v2/", sequence(httpx.Response(503), httpx.Response(502),
                                       httpx.Response(500), httpx.Response(200)))  # fmt: skip
    with script.client() as client:
        assert client.head_blob("app", DIGEST) is True
    assert script.sleeps == [0.5, 1.0, 2.0]


def test_429_honours_retry_after(script: Script) -> None:
    later = "Wed, 21 Oct 2015 07:28:00 GMT"  # in the past: no wait
    script.on("GET", "/v2/app/manifests/", sequence(
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(429, headers={"Retry-After": later}),
        httpx.Response(429, headers={"Retry-After": "9999"}),
        httpx.Response(200, content=b"{}", headers={"Content-Type": OCI_MANIFEST}),
    ))  # fmt: skip
    with script.client() as client:
        client.get_manifest("app", "1")
    assert script.sleeps == [7.0, 0.0, 60.0]


def test_retries_run_out_with_a_clear_error(script: Script) -> None:
    script.on("GET", "/v2/app/manifests/", httpx.Response(503, json={"errors": [
        {"code": "UNAVAILABLE", "message": "maintenance"}]}))  # fmt: skip
    with script.client(retries=2) as client, pytest.raises(RegistryError) as caught:
        client.get_manifest("app", "1")
    assert script.sleeps == [0.5, 1.0]
    line = caught.value.one_line()
    assert "pulling manifest registry.example/app:1 failed" in line
    assert "503 Service Unavailable: UNAVAILABLE: maintenance" in line
    assert "try again later" in line


def test_rate_limit_on_docker_hub_suggests_logging_in(script: Script) -> None:
    script.on("GET", "/v2/library/python/", httpx.Response(429))
    with script.client("docker.io", retries=0) as client, pytest.raises(RegistryError) as caught:
        client.get_manifest("library/python", "3")
    assert "rate-limiting" in caught.value.one_line()
    assert "docker login" in caught.value.one_line()


def test_connection_errors_are_retried_then_name_the_host(script: Script) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    script.on("GET", "/v2/", refuse)
    client = script.client("registry.example:5000", retries=3)
    with client, pytest.raises(RegistryUnreachableError) as caught:
        client.head_blob("app", DIGEST)
    assert script.sleeps == [0.5, 1.0, 2.0]
    line = caught.value.one_line()
    assert "cannot reach the registry at https://registry.example:5000" in line
    assert "Connection refused" in line
    assert "check the host and port" in line


def test_a_real_refused_connection(script: Script) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = RegistryClient(f"127.0.0.1:{port}", retries=1, sleep=script.sleeps.append)
    with client, pytest.raises(RegistryUnreachableError) as caught:
        client.get_manifest("app", "1")
    assert f"cannot reach the registry at http://127.0.0.1:{port}" in caught.value.one_line()
    assert script.sleeps == [0.5]


def test_tls_verification_failure_is_not_retried(script: Script) -> None:
    import ssl  # noqa: PLC0415

    def untrusted(request: httpx.Request) -> httpx.Response:
        cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed")
        raise httpx.ConnectError(str(cause), request=request) from cause

    script.on("GET", "/v2/", untrusted)
    with script.client() as client, pytest.raises(RegistryUnreachableError) as caught:
        client.head_blob("app", DIGEST)
    assert script.sleeps == []
    assert "TLS certificate of registry.example is not trusted" in caught.value.one_line()
    assert "CA bundle" in caught.value.one_line()


# --- manifests -------------------------------------------------------------------------------


def test_get_manifest_sends_accept_and_verifies_a_digest(script: Script) -> None:
    body = b'{"schemaVersion": 2}'
    index = "application/vnd.oci.image.index.v1+json"
    script.on("GET", "/v2/app/manifests/", httpx.Response(
        200, content=body, headers={"Content-Type": index}))  # fmt: skip
    with script.client() as client:
        got = client.get_manifest("app", sha(body))
        assert got == (body, index, sha(body))
        with pytest.raises(DigestMismatchError, match="digest is " + sha(body)):
            client.get_manifest("app", DIGEST)
    accept = script.seen("GET", "/v2/app/")[0].headers["accept"]
    assert [part.strip() for part in accept.split(",")] == list(MANIFEST_AND_INDEX_MEDIA_TYPES)


def test_media_type_falls_back_to_the_body(script: Script) -> None:
    body = json.dumps({"mediaType": OCI_MANIFEST}).encode()
    script.on("GET", "/v2/app/manifests/", httpx.Response(
        200, content=body, headers={"Content-Type": "application/json"}))  # fmt: skip
    with script.client() as client:
        assert client.get_manifest("app", "1")[1] == OCI_MANIFEST


def test_manifest_not_found_names_repo_and_tag(script: Script) -> None:
    script.on("GET", "/v2/team/app/manifests/", httpx.Response(404, json={"errors": [
        {"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}))  # fmt: skip
    with script.client() as client, pytest.raises(ManifestNotFoundError) as caught:
        client.get_manifest("team/app", "9.9")
    line = caught.value.one_line()
    assert "registry.example/team/app:9.9 not found (MANIFEST_UNKNOWN: manifest unknown)" in line
    assert "skopeo list-tags docker://registry.example/team/app" in line


def test_oversized_manifests_are_refused(script: Script) -> None:
    big = b" " * (4 * 1024 * 1024 + 1)

    def chunked(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([big[:1000], big[1000:]]))  # no Content-Length

    script.on("GET", "/v2/a/manifests/", httpx.Response(200, content=big))
    script.on("GET", "/v2/b/manifests/", chunked)
    with script.client() as client:
        for repo in ("a", "b"):
            with pytest.raises(RegistryError, match="over 4 MiB"):
                client.get_manifest(repo, "1")


def test_put_manifest(script: Script) -> None:
    body = json.dumps({"mediaType": OCI_MANIFEST, "schemaVersion": 2}).encode()
    script.on("PUT", "/v2/app/manifests/", httpx.Response(
        201, headers={"Docker-Content-Digest": sha(body)}))  # fmt: skip
    with script.client() as client:
        assert client.put_manifest("app", "v1", body, OCI_MANIFEST) == sha(body)
        assert client.put_manifest("app", sha(body), body, OCI_MANIFEST) == sha(body)
        with pytest.raises(DigestMismatchError):
            client.put_manifest("app", DIGEST, body, OCI_MANIFEST)
        with pytest.raises(UvdockError, match="is pushed as") as caught:
            client.put_manifest("app", "v1", body, "application/vnd.oci.image.index.v1+json")
        assert "must equal its mediaType" in caught.value.one_line()
    put = script.seen("PUT", "/v2/app/")[0]
    assert put.headers["content-type"] == OCI_MANIFEST
    assert put.content == body


def test_put_manifest_errors(script: Script) -> None:
    script.on("PUT", "/v2/app/manifests/missing", httpx.Response(400, json={"errors": [
        {"code": "MANIFEST_BLOB_UNKNOWN", "message": "blob unknown to registry"}]}))  # fmt: skip
    script.on("PUT", "/v2/app/manifests/rewritten", httpx.Response(
        201, headers={"Docker-Content-Digest": DIGEST}))  # fmt: skip
    with script.client() as client:
        with pytest.raises(RegistryError, match="MANIFEST_BLOB_UNKNOWN") as caught:
            client.put_manifest("app", "missing", b"{}", OCI_MANIFEST)
        assert "push the blobs and child manifests" in caught.value.one_line()
        with pytest.raises(DigestMismatchError, match=r"stored registry\.example/app:rewritten"):
            client.put_manifest("app", "rewritten", b"{}", OCI_MANIFEST)


# --- blob downloads --------------------------------------------------------------------------


class BreakingStream(httpx.SyncByteStream):
    """Sends ``data`` and then loses the connection."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data
        msg = "peer closed connection"
        raise httpx.RemoteProtocolError(msg)


def test_get_blob_resumes_with_range_after_a_lost_connection(script: Script) -> None:
    blob = bytes(range(256)) * 100

    def serve(request: httpx.Request) -> httpx.Response:
        wanted = request.headers.get("range")
        if wanted is None:
            return httpx.Response(200, stream=BreakingStream(blob[:1000]))
        start = int(wanted.removeprefix("bytes=").rstrip("-"))
        return httpx.Response(206, content=blob[start:], headers={
            "Content-Range": f"bytes {start}-{len(blob) - 1}/{len(blob)}"})  # fmt: skip

    script.on("GET", "/v2/app/blobs/", serve)
    out = io.BytesIO()
    with script.client() as client:
        assert client.get_blob("app", sha(blob), out) == len(blob)
    assert out.getvalue() == blob
    assert script.seen("GET", "/v2/app/blobs/")[1].headers["range"] == "bytes=1000-"
    assert script.sleeps == [0.5]


def test_get_blob_starts_again_when_the_server_ignores_range(script: Script) -> None:
    blob = b"x" * 5000
    script.on("GET", "/v2/app/blobs/", sequence(
        httpx.Response(200, stream=BreakingStream(blob[:100])),
        httpx.Response(200, content=blob),
    ))  # fmt: skip
    out = io.BytesIO(b"prefix:")
    out.seek(0, io.SEEK_END)
    with script.client() as client:
        assert client.get_blob("app", sha(blob), out) == len(blob)
    assert out.getvalue() == b"prefix:" + blob


def test_get_blob_digest_mismatch_and_missing_blob(script: Script) -> None:
    script.on("GET", "/v2/app/blobs/", httpx.Response(200, content=b"tampered"))
    script.on("GET", "/v2/other/blobs/", httpx.Response(404, json={"errors": [
        {"code": "BLOB_UNKNOWN"}]}))  # fmt: skip
    with script.client() as client:
        with pytest.raises(DigestMismatchError) as caught:
            client.get_blob("app", DIGEST, io.BytesIO())
        assert f"hashes to {sha(b'tampered')}, not {DIGEST}" in caught.value.one_line()
        with pytest.raises(BlobNotFoundError, match=f"blob {DIGEST} not found"):
            client.get_blob("other", DIGEST, io.BytesIO())


def test_bad_digests_are_refused_before_any_request(script: Script) -> None:
    with script.client() as client:
        for bad in ("sha256:short", "SHA256:" + "a" * 64, "sha256:" + "A" * 64, "latest"):
            with pytest.raises(UvdockError, match="not a supported digest"):
                client.head_blob("app", bad)
    assert script.requests == []


# --- blob uploads ----------------------------------------------------------------------------


class UploadServer:
    """Upload sessions on a scripted registry: tracks POST/PATCH/PUT; faults on request."""

    def __init__(self, script: Script, repo: str = "app") -> None:
        self.blobs: dict[str, bytes] = {}
        self.sessions: dict[str, bytearray] = {}
        self.faults: list[Callable[[httpx.Request], httpx.Response | None]] = []
        base = f"/v2/{repo}/blobs/"
        script.on("HEAD", base, self.head)
        script.on("POST", base + "uploads/", self.post)
        script.on("PATCH", base + "uploads/", self.patch)
        script.on("PUT", base + "uploads/", self.put)

    def fault(self, request: httpx.Request) -> httpx.Response | None:
        for fault in list(self.faults):
            answer = fault(request)
            if answer is not None:
                self.faults.remove(fault)
                return answer
        return None

    def head(self, request: httpx.Request) -> httpx.Response:
        digest = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200 if digest in self.blobs else 404)

    def post(self, request: httpx.Request) -> httpx.Response:
        if answer := self.fault(request):
            return answer
        session = f"s{len(self.sessions)}"
        self.sessions[session] = bytearray()
        # Relative, with a query that must survive (distribution's _state).
        return httpx.Response(202, headers={"Location": f"{session}?_state=st-{session}"})

    def _session(self, request: httpx.Request) -> bytearray:
        assert request.url.params["_state"] == "st-" + request.url.path.rsplit("/", 1)[-1]
        return self.sessions[request.url.path.rsplit("/", 1)[-1]]

    def patch(self, request: httpx.Request) -> httpx.Response:
        if answer := self.fault(request):
            return answer
        data = self._session(request)
        start, end = (int(n) for n in request.headers["content-range"].split("-"))
        assert start == len(data)
        assert end - start + 1 == len(request.content)
        data.extend(request.content)
        return httpx.Response(202, headers={"Location": request.url.path + "?" +
                                            request.url.query.decode(),
                                            "Range": f"0-{len(data) - 1}"})  # fmt: skip

    def put(self, request: httpx.Request) -> httpx.Response:
        if answer := self.fault(request):
            return answer
        data = self._session(request)
        data.extend(request.content)
        digest = request.url.params["digest"]
        if sha(bytes(data)) != digest:
            return httpx.Response(400, json={"errors": [{"code": "DIGEST_INVALID"}]})
        self.blobs[digest] = bytes(data)
        return httpx.Response(201, headers={"Docker-Content-Digest": digest})


def opener(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(data)


def test_small_blobs_go_up_in_one_put(script: Script) -> None:
    server = UploadServer(script)
    blob = b"m" * 3000
    with script.client(chunk_threshold=4096) as client:
        assert client.push_blob("app", sha(blob), len(blob), opener(blob)) == "uploaded"
        assert client.push_blob("app", sha(blob), len(blob), opener(blob)) == "present"
    assert server.blobs == {sha(blob): blob}
    assert script.seen("PATCH", "/") == []
    put = script.seen("PUT", "/")[0]
    assert put.url.params["_state"] == "st-s0"
    assert put.headers["content-length"] == str(len(blob))
    assert put.headers["content-type"] == "application/octet-stream"


def test_large_blobs_go_up_in_chunks(script: Script) -> None:
    server = UploadServer(script)
    blob = bytes(range(256)) * 40  # 10240 bytes
    with script.client(chunk_threshold=4096, chunk_size=4000) as client:
        assert client.push_blob("app", sha(blob), len(blob), opener(blob)) == "uploaded"
    assert server.blobs == {sha(blob): blob}
    ranges = [r.headers["content-range"] for r in script.seen("PATCH", "/")]
    assert ranges == ["0-3999", "4000-7999", "8000-10239"]
    assert script.seen("PUT", "/")[0].content == b""


def test_chunk_size_honours_the_registrys_minimum(script: Script) -> None:
    UploadServer(script)
    original = script.handler("POST", "/v2/app/blobs/uploads/")
    script.on("POST", "/v2/app/blobs/uploads/", lambda r: httpx.Response(
        202, headers={**original(r).headers, "OCI-Chunk-Min-Length": "6000"}))  # fmt: skip
    blob = b"c" * 10000
    with script.client(chunk_threshold=100, chunk_size=1000) as client:
        client.push_blob("app", sha(blob), len(blob), opener(blob))
    assert [r.headers["content-range"] for r in script.seen("PATCH", "/")] == [
        "0-5999", "6000-9999"]  # fmt: skip


@pytest.mark.parametrize(
    ("threshold", "drop_at"), [(1 << 20, 1), (1000, 2)], ids=["monolithic", "chunked"]
)
def test_a_failed_upload_starts_again_from_post(
    script: Script, threshold: int, drop_at: int
) -> None:
    server = UploadServer(script)
    blob = b"r" * 3000
    calls = {"n": 0}

    def drop_a_write(request: httpx.Request) -> httpx.Response | None:
        if request.method in {"PATCH", "PUT"}:
            calls["n"] += 1
            if calls["n"] == drop_at:
                raise httpx.WriteError("connection reset", request=request)
        return None

    server.faults.append(drop_a_write)
    server.faults.append(lambda r: httpx.Response(500) if r.method == "POST" else None)
    with script.client(chunk_threshold=threshold, chunk_size=1000) as client:
        assert client.push_blob("app", sha(blob), len(blob), opener(blob)) == "uploaded"
    assert server.blobs == {sha(blob): blob}
    assert (
        len(script.seen("POST", "/")) == 3
    )  # 500, then a session that broke, then one that worked
    assert len(script.seen("HEAD", "/")) == 3
    assert script.sleeps == [0.5, 1.0]


def test_lost_upload_session_starts_again(script: Script) -> None:
    server = UploadServer(script)
    server.faults.append(lambda r: httpx.Response(404, json={"errors": [
        {"code": "BLOB_UPLOAD_UNKNOWN"}]}) if r.method == "PUT" else None)  # fmt: skip
    blob = b"z" * 10
    with script.client() as client:
        assert client.push_blob("app", sha(blob), len(blob), opener(blob)) == "uploaded"
    assert len(script.seen("POST", "/")) == 2


def test_upload_retries_run_out(script: Script) -> None:
    UploadServer(script)
    script.on("POST", "/v2/app/blobs/uploads/", httpx.Response(503))
    blob = b"z" * 10
    with script.client(retries=2) as client, pytest.raises(RegistryError) as caught:
        client.push_blob("app", sha(blob), len(blob), opener(blob))
    assert "pushing blob" in caught.value.one_line()
    assert "503" in caught.value.one_line()
    assert script.sleeps == [0.5, 1.0]


def test_digest_invalid_is_a_digest_mismatch(script: Script) -> None:
    UploadServer(script)
    with script.client() as client, pytest.raises(DigestMismatchError, match="does not hash"):
        client.push_blob("app", DIGEST, 4, opener(b"abcd"))


def test_content_of_the_wrong_size_is_refused(script: Script) -> None:
    UploadServer(script)
    blob = b"abcd"
    with script.client() as client:
        with pytest.raises(UvdockError, match="should be 5 bytes but has only 4"):
            client.push_blob("app", sha(blob), 5, opener(blob))
        with pytest.raises(UvdockError, match="should be 3 bytes but is longer"):
            client.push_blob("app", sha(blob), 3, opener(blob))


def test_mount_created(script: Script) -> None:
    UploadServer(script)
    script.on("POST", "/v2/app/blobs/uploads/", lambda r: httpx.Response(
        201, headers={"Docker-Content-Digest": r.url.params["mount"]}))  # fmt: skip
    with script.client() as client:
        assert client.push_blob("app", DIGEST, 4, opener(b"...."), mount_from="base/img") == (
            "mounted"
        )
    post = script.seen("POST", "/")[0]
    assert (post.url.params["mount"], post.url.params["from"]) == (DIGEST, "base/img")


def test_mount_accepted_continues_as_an_upload(script: Script) -> None:
    server = UploadServer(script)
    blob = b"mountless"
    with script.client() as client:
        assert client.push_blob("app", sha(blob), len(blob), opener(blob),
                                mount_from="base/img") == "uploaded"  # fmt: skip
    assert len(script.seen("POST", "/")) == 1  # the mount POST's session was used
    assert server.blobs == {sha(blob): blob}


def test_failed_mount_falls_back_to_a_plain_upload(script: Script) -> None:
    server = UploadServer(script)
    original = script.handler("POST", "/v2/app/blobs/uploads/")

    def no_mount(request: httpx.Request) -> httpx.Response:
        if "mount" in request.url.params:
            return httpx.Response(403, json={"errors": [{"code": "DENIED"}]})
        return original(request)

    script.on("POST", "/v2/app/blobs/uploads/", no_mount)
    blob = b"fallback"
    with script.client() as client:
        assert client.push_blob("app", sha(blob), len(blob), opener(blob),
                                mount_from="base/img") == "uploaded"  # fmt: skip
    assert server.blobs == {sha(blob): blob}
    assert [("mount" in r.url.params) for r in script.seen("POST", "/")] == [True, False]


def test_mount_and_push_scopes_are_asked_for_together(script: Script) -> None:
    bearer_registry(script)
    with script.client(credentials=CREDS) as client:
        client.push_blob("team/app", DIGEST, 4, opener(b"...."), mount_from="base/img")
    assert script.seen("GET", "/token")[0].url.params.get_list("scope") == [
        "repository:team/app:push,pull",
        "repository:base/img:pull",
    ]


def test_upload_location_into_a_private_network_is_refused(script: Script) -> None:
    UploadServer(script)
    script.on("POST", "/v2/app/blobs/uploads/", httpx.Response(
        202, headers={"Location": "http://169.254.169.254/latest/meta-data"}))  # fmt: skip
    with script.client() as client, pytest.raises(RegistryError, match="private address"):
        client.push_blob("app", DIGEST, 4, opener(b"...."))


def test_absolute_upload_location_on_the_registry(script: Script) -> None:
    server = UploadServer(script)
    original = script.handler("POST", "/v2/app/blobs/uploads/")
    script.on("POST", "/v2/app/blobs/uploads/", lambda r: httpx.Response(202, headers={
        "Location": "https://registry.example/v2/app/blobs/uploads/"
                    + original(r).headers["location"]}))  # fmt: skip
    blob = b"absolute"
    with script.client() as client:
        client.push_blob("app", sha(blob), len(blob), opener(blob))
    assert server.blobs == {sha(blob): blob}
