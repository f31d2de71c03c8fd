"""The OCI registry client against real registries, checked with skopeo.

- the test bed's registry on 127.0.0.1:5000 (pull the stand-in python image;
  push blobs, monolithic and chunked, manifests and an index; mount across
  repositories);
- a second registry started here, on 127.0.0.1:5003, that demands basic auth
  (htpasswd), for credentials found in a temporary DOCKER_CONFIG or through
  a credential helper, and for a clear denial without the secret in it;
- a registry started here with a self-signed certificate: ``ca_bundle``,
  ``SSL_CERT_FILE``, an untrusted certificate, and a loopback registry that
  answers plain HTTP with "use HTTPS";
- a small fault-injecting proxy in front of the real registry: 500 and 429
  answers, connections dropped mid-upload and mid-download;
- a registry of its own killed in the middle of ``uvdock build --push``, then
  started again for a re-run.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import stat
import subprocess
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest

from tests.integration.docker import IMAGE_PREFIX, REGISTRY, http_get
from tests.integration.fault_proxy import Fault, FaultProxy, serving
from tests.integration.registry_process import Registry, free_port, make_certificates
from tests.integration.test_oci_engine import uvdock
from uvdock.oci.blobs import BlobStore
from uvdock.oci.engine import resolve_base
from uvdock.oci.model import BlobSizeError, Platform
from uvdock.oci.registry import (
    DigestMismatchError,
    ManifestNotFoundError,
    RegistryAuthError,
    RegistryClient,
    RegistryUnreachableError,
    parse_reference,
)

pytestmark = [pytest.mark.docker]

STANDIN = f"{IMAGE_PREFIX}/library/python:3.13-slim-trixie"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
AUTH_USER = "uvdock"
AUTH_SECRET = "oci-registry-secret-31"
AUTH_HOST = "127.0.0.1:5003"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def new_repo() -> str:
    return f"uvdock-test/oci-{uuid.uuid4().hex[:12]}"


def skopeo(*args: str) -> str:
    done = subprocess.run(
        ["skopeo", *args], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def registry_up() -> None:
    status, _ = http_get(f"http://{REGISTRY}/v2/", timeout=10)
    assert status == 200, f"registry on {REGISTRY} is not up: run scripts/testbed.sh up"


class RecordingTransport(httpx.HTTPTransport):
    """The real HTTP transport, noting each request's method, path and Content-Range."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str, str | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path, request.headers.get("content-range")))
        return super().handle_request(request)


def opener(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(data)


def image(layers: list[bytes]) -> tuple[bytes, bytes]:
    """A minimal, valid linux/amd64 image: (config bytes, manifest bytes)."""
    config = json.dumps({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/bin/true"]},
        "rootfs": {"type": "layers", "diff_ids": [sha(layer) for layer in layers]},
    }, sort_keys=True).encode()  # fmt: skip
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": sha(layer), "size": len(layer)}
                   for layer in layers],
    }).encode()  # fmt: skip
    return config, manifest


def push_image(client: RegistryClient, repo: str, tag: str, layers: list[bytes]) -> str:
    config, manifest = image(layers)
    for blob in [config, *layers]:
        client.push_blob(repo, sha(blob), len(blob), opener(blob))
    return client.put_manifest(repo, tag, manifest, OCI_MANIFEST)


# --- the test bed's registry -----------------------------------------------------------------


@pytest.mark.usefixtures("registry_up")
def test_pull_the_standin_index_manifest_config_and_a_layer(tmp_path: Path) -> None:
    host, repo, tag = parse_reference(STANDIN)
    assert (host, repo, tag) == ("localhost:5000", "standin/library/python", "3.13-slim-trixie")
    with RegistryClient(host) as client:
        body, media_type, digest = client.get_manifest(repo, tag)
        raw = skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{STANDIN}")
        assert body == raw.encode()
        assert digest == sha(body)
        index = json.loads(body)
        assert media_type == index["mediaType"]
        assert media_type in {
            OCI_INDEX,
            "application/vnd.docker.distribution.manifest.list.v2+json",
        }
        entry = next(m for m in index["manifests"] if m["platform"]["architecture"] == "amd64")

        body, media_type, digest = client.get_manifest(repo, entry["digest"])
        assert digest == entry["digest"] == sha(body)
        assert media_type == entry["mediaType"]
        manifest = json.loads(body)

        config = io.BytesIO()
        config_digest = manifest["config"]["digest"]
        assert client.get_blob(repo, config_digest, config) == manifest["config"]["size"]
        by_skopeo = skopeo("inspect", "--tls-verify=false", "--config", "--raw",
                           f"docker://{host}/{repo}@{entry['digest']}")  # fmt: skip
        assert config.getvalue() == by_skopeo.encode()
        assert json.loads(config.getvalue())["architecture"] == "amd64"

        layer = min(manifest["layers"], key=lambda d: d["size"])
        path = tmp_path / "layer"
        with path.open("wb") as dest:
            assert client.get_blob(repo, layer["digest"], dest) == layer["size"]
        assert sha(path.read_bytes()) == layer["digest"]
        assert client.head_blob(repo, layer["digest"])
        assert not client.head_blob(repo, sha(b"not there " + os.urandom(8)))


@pytest.mark.usefixtures("registry_up")
def test_push_monolithic_and_chunked_blobs_and_read_back_with_skopeo() -> None:
    repo = new_repo()
    transport = RecordingTransport()
    small, large = os.urandom(10_000), os.urandom(150_000)
    client = RegistryClient(
        REGISTRY, chunk_threshold=64 * 1024, chunk_size=20 * 1024, transport=transport
    )
    with client:
        config, manifest = image([small, large])
        for blob in (config, small, large):
            outcome = client.push_blob(repo, sha(blob), len(blob), opener(blob))
            assert outcome == "uploaded"
        patches = [r for method, _, r in transport.seen if method == "PATCH"]
        assert patches == [f"{n * 20480}-{min(n * 20480 + 20479, 149_999)}" for n in range(8)]
        assert client.push_blob(repo, sha(large), len(large), lambda: io.BytesIO(large)) == (
            "present"
        )
        digest = client.put_manifest(repo, "v1", manifest, OCI_MANIFEST)
        assert digest == sha(manifest)

        index = json.dumps({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": digest, "size": len(manifest),
                           "platform": {"architecture": "amd64", "os": "linux"}}],
        }).encode()  # fmt: skip
        index_digest = client.put_manifest(repo, "multi", index, OCI_INDEX)

        back = io.BytesIO()
        assert client.get_blob(repo, sha(large), back) == len(large)
        assert back.getvalue() == large
        assert client.get_manifest(repo, "v1") == (manifest, OCI_MANIFEST, digest)

    url = f"docker://{REGISTRY}/{repo}"
    assert skopeo("inspect", "--tls-verify=false", "--raw", f"{url}:v1").encode() == manifest
    inspected = json.loads(skopeo("inspect", "--tls-verify=false", f"{url}:v1"))
    assert inspected["Digest"] == digest
    assert inspected["Layers"] == [sha(small), sha(large)]
    assert (inspected["Architecture"], inspected["Os"]) == ("amd64", "linux")
    assert skopeo("inspect", "--tls-verify=false", "--raw", f"{url}:multi").encode() == index
    by_index = json.loads(skopeo("inspect", "--tls-verify=false", f"{url}:multi"))
    assert by_index["Digest"] == index_digest


@pytest.mark.usefixtures("registry_up")
def test_cross_repository_mount() -> None:
    source, target = new_repo(), new_repo()
    blob = os.urandom(5000)

    def must_not_open() -> io.BytesIO:
        raise AssertionError("a mounted blob must not be read")

    with RegistryClient(REGISTRY) as client:
        assert client.push_blob(source, sha(blob), len(blob), lambda: io.BytesIO(blob)) == (
            "uploaded"
        )
        outcome = client.push_blob(target, sha(blob), len(blob), must_not_open, mount_from=source)
        assert outcome == "mounted"
        assert client.head_blob(target, sha(blob))

        # Mount the stand-in's real layer: base layers cost nothing on the same registry.
        _, base_repo, _ = parse_reference(STANDIN)
        index = json.loads(client.get_manifest(base_repo, "3.13-slim-trixie")[0])
        base = json.loads(client.get_manifest(base_repo, index["manifests"][0]["digest"])[0])
        layer = base["layers"][0]
        outcome = client.push_blob(
            target, layer["digest"], layer["size"], must_not_open, mount_from=base_repo
        )
        assert outcome == "mounted"

        # Not in the source: the registry falls back to an upload session (202).
        other = os.urandom(3000)
        outcome = client.push_blob(
            target, sha(other), len(other), lambda: io.BytesIO(other), mount_from=source
        )
        assert outcome == "uploaded"
        assert client.head_blob(target, sha(other))


@pytest.mark.usefixtures("registry_up")
def test_real_registry_errors_are_clear() -> None:
    repo = new_repo()
    with RegistryClient(REGISTRY) as client:
        with pytest.raises(ManifestNotFoundError) as caught:
            client.get_manifest(repo, "no-such-tag")
        line = caught.value.one_line()
        assert f"{REGISTRY}/{repo}:no-such-tag not found" in line
        assert f"skopeo list-tags docker://{REGISTRY}/{repo}" in line

        blob = os.urandom(100)
        wrong = sha(b"something else")
        with pytest.raises(DigestMismatchError, match=f"does not hash to {wrong}"):
            client.push_blob(repo, wrong, len(blob), lambda: io.BytesIO(blob))

        with pytest.raises(ManifestNotFoundError, match=f"standin/library/python@{wrong}"):
            client.get_manifest("standin/library/python", wrong)


# --- a registry that demands credentials -----------------------------------------------------


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """distribution (Debian's docker-registry) on 127.0.0.1:5003 with htpasswd basic auth."""
    root = tmp_path_factory.mktemp("auth-registry")
    hashed = subprocess.run(
        ["htpasswd", "-Bbn", AUTH_USER, AUTH_SECRET], capture_output=True, text=True, check=True
    ).stdout
    (root / "htpasswd").write_text(hashed)
    with Registry(root, address=AUTH_HOST, htpasswd=root / "htpasswd") as registry:
        assert registry.status() == 401, registry.log_tail()
        yield AUTH_HOST


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty DOCKER_CONFIG directory, and no podman auth files; returns the directory."""
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "no-auth.json"))
    return config_dir


def write_docker_config(config_dir: Path, data: object) -> Path:
    path = config_dir / "config.json"
    path.write_text(json.dumps(data))
    return path


def basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def test_credentials_from_docker_config(auth_registry: str, no_credentials: Path) -> None:
    write_docker_config(no_credentials, {"auths": {auth_registry: {
        "auth": basic(AUTH_USER, AUTH_SECRET)}}})  # fmt: skip
    repo = new_repo()
    layer = os.urandom(2000)
    with RegistryClient(auth_registry) as client:
        digest = push_image(client, repo, "v1", [layer])
        assert client.get_manifest(repo, "v1")[2] == digest
        assert client.head_blob(repo, sha(layer))
    inspected = json.loads(skopeo("inspect", "--tls-verify=false", "--authfile",
                                  str(no_credentials / "config.json"),
                                  f"docker://{auth_registry}/{repo}:v1"))  # fmt: skip
    assert inspected["Digest"] == digest


def test_credentials_from_a_credential_helper(
    auth_registry: str, no_credentials: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-uvdocktest"
    answer = json.dumps({"ServerURL": auth_registry, "Username": AUTH_USER, "Secret": AUTH_SECRET})
    helper.write_text(
        f'#!/bin/sh\nread -r server; echo "$1 $server" >> "{tmp_path}/calls"\necho \'{answer}\'\n'
    )
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    write_docker_config(no_credentials, {"credHelpers": {auth_registry: "uvdocktest"}})
    with RegistryClient(auth_registry) as client:
        push_image(client, new_repo(), "v1", [os.urandom(100)])
    assert (tmp_path / "calls").read_text() == f"get {auth_registry}\n"


def test_refused_credentials_give_a_clear_error_without_the_secret(
    auth_registry: str, no_credentials: Path
) -> None:
    wrong = "wrong-secret-9876"
    config = write_docker_config(no_credentials, {"auths": {auth_registry: {
        "auth": basic(AUTH_USER, wrong)}}})  # fmt: skip
    blob = os.urandom(10)
    with RegistryClient(auth_registry) as client, pytest.raises(RegistryAuthError) as caught:
        client.push_blob(new_repo(), sha(blob), len(blob), lambda: io.BytesIO(blob))
    line = caught.value.one_line()
    assert f"{auth_registry} refused the credentials from {config}" in line
    assert f"run `docker login {auth_registry}` again" in line
    assert wrong not in line
    assert AUTH_SECRET not in line
    assert wrong not in repr(caught.value)


def test_no_credentials_give_a_clear_error(auth_registry: str, no_credentials: Path) -> None:
    del no_credentials
    with RegistryClient(auth_registry) as client, pytest.raises(RegistryAuthError) as caught:
        client.get_manifest("team/app", "1")
    line = caught.value.one_line()
    assert f"pulling manifest {auth_registry}/team/app:1 failed" in line
    assert "asks for credentials and none were found" in line
    assert f"run `docker login {auth_registry}`" in line


# --- a registry that speaks TLS with its own CA ------------------------------------------------


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """distribution with a certificate for localhost from a throwaway CA; yields (host, CA)."""
    root = tmp_path_factory.mktemp("tls-registry")
    certificates = make_certificates(root / "ca", names=["localhost", "127.0.0.1"])
    port = free_port()
    with Registry(root, address=f"127.0.0.1:{port}", certificates=certificates):
        status, _ = http_get(f"http://127.0.0.1:{port}/v2/", timeout=30)
        assert status == 400  # HTTP to an HTTPS port
        yield f"localhost:{port}", certificates.ca


def test_tls_registry_with_its_ca_bundle(tls_registry: tuple[str, Path]) -> None:
    host, cert = tls_registry
    with RegistryClient(host, insecure=False, ca_bundle=cert) as client:
        digest = push_image(client, "team/app", "v1", [os.urandom(500)])
        assert client.base_url == f"https://{host}"
        assert client.get_manifest("team/app", "v1")[2] == digest


def test_tls_registry_trusted_through_ssl_cert_file(
    tls_registry: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    host, cert = tls_registry
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with RegistryClient(host, insecure=False) as client:
        assert not client.head_blob("team/app", sha(b"nothing"))


def test_untrusted_certificate_is_a_clear_error_without_retries(
    tls_registry: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    host, _ = tls_registry
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    sleeps: list[float] = []
    client = RegistryClient(host, insecure=False, sleep=sleeps.append)
    with client, pytest.raises(RegistryUnreachableError) as caught:
        client.get_manifest("team/app", "v1")
    line = caught.value.one_line()
    assert f"the TLS certificate of {host} is not trusted" in line
    assert "CA bundle" in line
    assert sleeps == []


def test_loopback_registry_that_speaks_https_is_used_like_docker_does(
    tls_registry: tuple[str, Path],
) -> None:
    """Loopback is insecure by default: a TLS answer switches to HTTPS without verification."""
    host, _ = tls_registry
    with RegistryClient(host) as client:
        assert not client.head_blob("team/app", sha(b"nothing"))
        assert client.base_url == f"https://{host}"


# --- faults: a proxy in front of the real registry -------------------------------------------


def first_requests(count: int, status: int) -> Fault:
    seen = {"n": 0}

    def fault(method: str, path: str) -> tuple[str, int] | None:
        del method, path
        seen["n"] += 1
        return ("status", status) if seen["n"] <= count else None

    return fault


def _kind(method: str, path: str) -> tuple[str, str]:
    return method, re.sub(
        r"/(blobs/uploads|blobs|manifests)/.*", r"/\1/", path.split("?", maxsplit=1)[0]
    )


def once_per_kind(status: int) -> Fault:
    """The first request of each kind (method and route) fails with ``status``."""
    failed: set[tuple[str, str]] = set()

    def fault(method: str, path: str) -> tuple[str, int] | None:
        kind = _kind(method, path)
        if kind in failed:
            return None
        failed.add(kind)
        return ("status", status)

    return fault


def nth(predicate: Callable[[str, str], bool], n: int, action: str) -> Fault:
    """The ``n``-th request matching ``predicate`` gets ``action``."""
    seen = {"n": 0}

    def fault(method: str, path: str) -> tuple[str, int] | None:
        if predicate(method, path):
            seen["n"] += 1
            if seen["n"] == n:
                return (action, 0)
        return None

    return fault


def read_back(repo: str, tag: str) -> dict[str, object]:
    """The pushed image as skopeo sees it on the real registry (not through the proxy)."""
    result: dict[str, object] = json.loads(
        skopeo("inspect", "--tls-verify=false", f"docker://{REGISTRY}/{repo}:{tag}")
    )
    return result


@pytest.mark.usefixtures("registry_up")
@pytest.mark.parametrize("status", [500, 429])
def test_first_requests_failing_are_retried(
    proxy: Callable[[Fault], FaultProxy], status: int
) -> None:
    server = proxy(first_requests(3, status))
    sleeps: list[float] = []
    with RegistryClient(server.host, sleep=sleeps.append) as client:
        _, repo, tag = parse_reference(STANDIN)
        body, _, digest = client.get_manifest(repo, tag)
        assert digest == sha(body)
    # 429 carries Retry-After: 1; 500 backs off exponentially.
    assert sleeps == ([1.0, 1.0, 1.0] if status == 429 else [0.5, 1.0, 2.0])
    assert [kind for _, _, kind in server.log[:4]] == ["status"] * 3 + ["forward"]


@pytest.mark.usefixtures("registry_up")
def test_every_step_survives_a_503(proxy: Callable[[Fault], FaultProxy]) -> None:
    server = proxy(once_per_kind(503))
    repo = new_repo()
    layers = [os.urandom(3000), os.urandom(9000)]
    sleeps: list[float] = []
    client = RegistryClient(server.host, sleep=sleeps.append, chunk_threshold=4096, chunk_size=4096)
    with client:
        digest = push_image(client, repo, "v1", layers)
        out = io.BytesIO()
        client.get_blob(repo, sha(layers[1]), out)
        assert out.getvalue() == layers[1]
        assert client.get_manifest(repo, "v1")[2] == digest
    assert read_back(repo, "v1")["Digest"] == digest
    failed = {_kind(m, p) for m, p, kind in server.log if kind == "status"}
    assert {("GET", "/v2/"), ("HEAD", f"/v2/{repo}/blobs/"),
            ("POST", f"/v2/{repo}/blobs/uploads/"), ("PUT", f"/v2/{repo}/blobs/uploads/"),
            ("PATCH", f"/v2/{repo}/blobs/uploads/"), ("PUT", f"/v2/{repo}/manifests/"),
            ("GET", f"/v2/{repo}/blobs/"), ("GET", f"/v2/{repo}/manifests/")} <= failed  # fmt: skip
    assert len(sleeps) == len(failed)


@pytest.mark.usefixtures("registry_up")
@pytest.mark.parametrize(
    ("threshold", "method", "n"),
    [(1 << 20, "PUT", 1), (4096, "PATCH", 2)],
    ids=["monolithic", "chunked"],
)
def test_connection_dropped_mid_upload(
    proxy: Callable[[Fault], FaultProxy], threshold: int, method: str, n: int
) -> None:
    def is_upload(m: str, path: str) -> bool:
        return m == method and "/blobs/uploads/" in path

    server = proxy(nth(is_upload, n, "drop-request"))
    repo = new_repo()
    layer = os.urandom(10_000)
    sleeps: list[float] = []
    client = RegistryClient(server.host, sleep=sleeps.append, chunk_threshold=threshold,
                            chunk_size=4096)  # fmt: skip
    with client:
        digest = push_image(client, repo, "v1", [layer])
    assert any(kind == "drop-request" for _, _, kind in server.log)
    assert sleeps == [0.5]
    assert read_back(repo, "v1")["Digest"] == digest
    with RegistryClient(REGISTRY) as direct:
        out = io.BytesIO()
        direct.get_blob(repo, sha(layer), out)
        assert out.getvalue() == layer


@pytest.mark.usefixtures("registry_up")
def test_connection_dropped_mid_download_resumes(proxy: Callable[[Fault], FaultProxy]) -> None:
    repo = new_repo()
    layer = os.urandom(200_000)
    with RegistryClient(REGISTRY) as direct:
        push_image(direct, repo, "v1", [layer])

    def is_blob_get(method: str, path: str) -> bool:
        return method == "GET" and f"/blobs/{sha(layer)}" in path

    server = proxy(nth(is_blob_get, 1, "drop-response"))
    sleeps: list[float] = []
    out = io.BytesIO()
    with RegistryClient(server.host, sleep=sleeps.append) as client:
        assert client.get_blob(repo, sha(layer), out) == len(layer)
    assert out.getvalue() == layer
    assert [kind for m, p, kind in server.log if is_blob_get(m, p)] == ["drop-response", "forward"]
    assert sleeps == [0.5]


@pytest.mark.usefixtures("registry_up")
@pytest.mark.parametrize("declared", [0, 5], ids=["no-content-length", "content-length-5"])
def test_a_layer_that_streams_forever_stops_at_its_declared_size(
    proxy: Callable[[Fault], FaultProxy], tmp_path: Path, declared: int
) -> None:
    # Issue 12: the manifest says 5 bytes, the registry streams zeros forever;
    # the base image's pull must stop there, not fill the cache's disk.
    repo = new_repo()
    layer = b"hello"
    with RegistryClient(REGISTRY) as direct:
        push_image(direct, repo, "v1", [layer])

    def endless_layer(method: str, path: str) -> tuple[str, int] | None:
        return ("endless", declared) if method == "GET" and sha(layer) in path else None

    server = proxy(endless_layer)
    store = BlobStore(tmp_path / "cache")
    expected = DigestMismatchError if declared else BlobSizeError  # 5 zeros are not "hello"
    with pytest.raises(expected) as caught:
        resolve_base(
            f"{server.host}/{repo}:v1",
            [Platform.parse("linux/amd64")],
            store,
            client_for=lambda host: RegistryClient(host, retries=0),
            on_event=lambda _: None,
        )
    assert sha(layer) in caught.value.one_line() or "hashes to" in caught.value.one_line()
    assert server.endless_sent < (64 << 20), server.endless_sent  # socket buffers, no more
    assert not store.has(sha(layer))
    assert not any(store.tmp_dir.iterdir())


# --- a registry stopped mid-push -------------------------------------------------------------


def _no_fault(method: str, path: str) -> tuple[str, int] | None:
    del method, path
    return None


def _upload_digest(method: str, path: str) -> str | None:
    """The digest a blob upload's closing PUT names, if this is one."""
    if method != "PUT" or "/blobs/uploads/" not in path:
        return None
    return urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)["digest"][0]


@pytest.mark.usefixtures("engine")
def test_a_registry_stopped_mid_push(project_copy: Callable[[str], Path], tmp_path: Path) -> None:
    """Killed after two of four blobs went up: one clear line, no tag; a re-run sends the rest.

    Blobs go up several at once, so which two is up to the race; the registry's
    storage says which, and the re-run must upload exactly the others.
    """
    root = project_copy("fastapi-app")
    cache = tmp_path / "cache"
    layout = tmp_path / "layout"
    built = uvdock(str(root), "--platform", "linux/amd64", "--output", f"type=oci,dest={layout}",
                   "-t", "x:1", "--format", "json", cache=cache)  # fmt: skip
    expected = json.loads(built.stdout)["data"]["digest"]
    manifest = json.loads((layout / "blobs" / "sha256" / expected.split(":")[1]).read_bytes())
    blobs = {manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])}
    assert len(blobs) >= 4
    repo, tag = new_repo(), uuid.uuid4().hex[:10]
    registry = Registry(tmp_path / "registry", address=f"127.0.0.1:{free_port()}")
    closing_puts: list[str] = []

    def kill_at_the_third_blob(method: str, path: str) -> tuple[str, int] | None:
        digest = _upload_digest(method, path)
        if digest:
            closing_puts.append(digest)
            if len(closing_puts) == 3:
                # Let the first two finish (they are on their way upstream), then kill.
                deadline = time.monotonic() + 30
                while len(registry.stored_blobs(repo)) < 2 and time.monotonic() < deadline:
                    time.sleep(0.01)
                registry.kill()  # SIGKILL: a crash or an OOM kill, nothing drained
                return ("stop", 0)
        return None

    with registry:
        with serving(kill_at_the_third_blob, upstream=registry.address) as failing:
            started = time.monotonic()
            done = uvdock(str(root), "--platform", "linux/amd64", "--push",
                          "-t", f"{failing.host}/{repo}:{tag}", cache=cache,
                          check=False)  # fmt: skip
            seconds = time.monotonic() - started
        assert len(closing_puts) >= 3  # a fourth may have come in after the kill
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert [line for line in lines if line.startswith("uvdock: error")] == lines[-1:]
        line = lines[-1]
        assert line.startswith("uvdock: error: ")
        assert f"in {failing.host}/{repo} failed: cannot reach the registry" in line
        assert "check the host and port, that the registry is running" in line
        assert seconds < 60  # retried with backoff for a few seconds, not for minutes

        registry.start()
        stored = registry.stored_blobs(repo)
        assert stored == set(closing_puts[:2])  # the third, and any mid-upload, never completed
        missing = subprocess.run(["skopeo", "inspect", "--tls-verify=false",
                                  f"docker://{registry.address}/{repo}:{tag}"],
                                 capture_output=True, text=True, check=False)  # fmt: skip
        assert missing.returncode != 0
        assert "manifest unknown" in missing.stderr

        with serving(_no_fault, upstream=registry.address) as recording:
            again = uvdock(str(root), "--platform", "linux/amd64", "--push", "--format", "json",
                           "-t", f"{recording.host}/{repo}:{tag}", cache=cache)  # fmt: skip
        uploaded = [_upload_digest(method, path) for method, path, _ in recording.log]
        assert sorted(digest for digest in uploaded if digest) == sorted(blobs - stored)
        assert json.loads(again.stdout)["data"]["digest"] == expected
        url = f"docker://{registry.address}/{repo}:{tag}"
        assert json.loads(skopeo("inspect", "--tls-verify=false", url))["Digest"] == expected
        # Every blob is there and matches its digest: skopeo copies and verifies them.
        skopeo("copy", "--quiet", "--src-tls-verify=false", url, f"oci:{tmp_path / 'copy'}:1")
