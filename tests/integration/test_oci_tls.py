"""``uvdock build --engine oci`` against registries that are not on loopback: TLS and insecure.

Docker's rule, which the engine follows: a registry on loopback may speak
plain HTTP; any other registry must present a certificate the machine trusts
(``--registry-ca`` adds a CA to the default trust), unless the user marks it
insecure (``--insecure-registry HOST``, Docker's ``insecure-registries``).

To get a registry that is not on loopback while all traffic stays on this
machine, the registries here listen on one of its own non-loopback addresses
(``hostname -I``): one with a certificate signed by a throwaway CA, one in
plain HTTP. Both hold a copy of the stand-in python image, so that the base
is pulled from them too (``--image-prefix``): the options apply to pulls and
pushes alike.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.docker import IMAGE_PREFIX
from tests.integration.registry_process import (
    Certificates,
    Registry,
    free_port,
    make_certificates,
    own_address,
    seed,
)
from tests.integration.test_oci_engine import uvdock
from tests.support.paths import EXAMPLES_DIR

CopyProject = Callable[[str], Path]
BASE = "library/python:3.13-slim-trixie"


@pytest.fixture(scope="module")
def address() -> str:
    found = own_address()
    if found is None:
        pytest.skip("this machine has no non-loopback IPv4 address (hostname -I)")
    return found


@pytest.fixture(scope="module")
def certificates(address: str, tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(
        tmp_path_factory.mktemp("ca"), names=[address, "127.0.0.1", "localhost"]
    )


@pytest.fixture(scope="module")
def tls_registry(
    address: str, certificates: Certificates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Registry]:
    root = tmp_path_factory.mktemp("tls-registry")
    registry = Registry(root, address=f"{address}:{free_port(address)}", certificates=certificates)
    with registry:
        seed(f"{IMAGE_PREFIX}/{BASE}", registry, f"standin/{BASE}")
        yield registry


@pytest.fixture(scope="module")
def plain_registry(address: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    root = tmp_path_factory.mktemp("plain-registry")
    with Registry(root, address=f"{address}:{free_port(address)}") as registry:
        seed(f"{IMAGE_PREFIX}/{BASE}", registry, f"standin/{BASE}")
        yield registry


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One engine cache for the module: the first build fills it, the others reuse it."""
    return tmp_path_factory.mktemp("cache")


def push(
    root: Path, registry: Registry, *options: str, cache: Path, check: bool = True
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Build ``root`` and push it to ``registry`` (its base from there too); (process, ref)."""
    ref = f"{registry.address}/uvdock-test/tls:{uuid.uuid4().hex[:10]}"
    done = uvdock(str(root), "--push", "-t", ref, "--format", "json", *options, cache=cache,
                  check=check, image_prefix=f"{registry.address}/standin")  # fmt: skip
    return done, ref


def inspect(ref: str, *tls: str) -> Any:
    done = subprocess.run(["skopeo", "inspect", *tls, f"docker://{ref}"],
                          capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
    return json.loads(done.stdout)


def error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a failed build (no traceback, nothing after it)."""
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert [line for line in lines if line.startswith("uvdock: error:")] == lines[-1:], lines
    return lines[-1]


@pytest.mark.docker
@pytest.mark.usefixtures("engine")
def test_push_to_a_tls_registry_verified_with_registry_ca(
    tls_registry: Registry,
    certificates: Certificates,
    project_copy: CopyProject,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = project_copy("fastapi-app")
    done, ref = push(root, tls_registry, "--registry-ca", str(certificates.ca), cache=cache)
    digest = json.loads(done.stdout)["data"]["digest"]
    # skopeo checks the certificate against the same CA (an independent TLS client).
    assert inspect(ref, "--cert-dir", str(certificates.cert_dir))["Digest"] == digest

    # The same from the environment; every blob is there already.
    monkeypatch.setenv("UVDOCK_REGISTRY_CA", str(certificates.ca))
    again, second = push(root, tls_registry, cache=cache)
    assert json.loads(again.stdout)["data"]["digest"] == digest
    assert inspect(second, "--cert-dir", str(certificates.cert_dir))["Digest"] == digest


@pytest.mark.docker
@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize("ca", ["none", "another"])
def test_an_untrusted_registry_certificate_is_one_clear_line(
    tls_registry: Registry, project_copy: CopyProject, tmp_path: Path, ca: str
) -> None:
    options = []
    if ca == "another":
        options = ["--registry-ca", str(make_certificates(tmp_path / "other", names=["x"]).ca)]
    started = time.monotonic()
    # An empty cache: the first request is the base's manifest.
    done, _ = push(project_copy("fastapi-app"), tls_registry, *options, cache=tmp_path / "cache",
                   check=False)  # fmt: skip
    line = error_line(done)
    host = tls_registry.address
    assert line.startswith(f"uvdock: error: pulling manifest {host}/standin/{BASE} failed: ")
    assert f"the TLS certificate of {host} is not trusted" in line
    assert "CERTIFICATE_VERIFY_FAILED" in line
    assert "--registry-ca FILE" in line
    assert time.monotonic() - started < 20  # not retried with backoff


@pytest.mark.docker
@pytest.mark.usefixtures("engine")
def test_a_tls_registry_marked_insecure_is_used_unverified(
    tls_registry: Registry, certificates: Certificates, project_copy: CopyProject, cache: Path
) -> None:
    """Docker's insecure-registries: TLS when the registry speaks it, but no verification."""
    root = project_copy("fastapi-app")
    done, ref = push(root, tls_registry, "--insecure-registry", tls_registry.address, cache=cache)
    digest = json.loads(done.stdout)["data"]["digest"]
    assert inspect(ref, "--cert-dir", str(certificates.cert_dir))["Digest"] == digest


@pytest.mark.docker
@pytest.mark.usefixtures("engine")
def test_a_plain_http_registry_off_loopback_is_refused_unless_marked_insecure(
    plain_registry: Registry,
    project_copy: CopyProject,
    cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = project_copy("fastapi-app")
    host = plain_registry.address
    started = time.monotonic()
    refused, _ = push(root, plain_registry, cache=tmp_path / "cache", check=False)
    line = error_line(refused)
    assert line.startswith(f"uvdock: error: pulling manifest {host}/standin/{BASE} failed: ")
    assert f"{host} did not answer in TLS, it may be a plain-HTTP registry" in line
    assert f"--insecure-registry {host}" in line
    assert time.monotonic() - started < 20  # not retried with backoff

    done, ref = push(root, plain_registry, "--insecure-registry", host, cache=cache)
    digest = json.loads(done.stdout)["data"]["digest"]
    assert inspect(ref, "--tls-verify=false")["Digest"] == digest

    # From the environment, among others, comma- or space-separated.
    monkeypatch.setenv("UVDOCK_INSECURE_REGISTRY", f"registry.invalid:5000,{host} other:1")
    again, second = push(root, plain_registry, cache=cache)
    assert json.loads(again.stdout)["data"]["digest"] == digest
    assert inspect(second, "--tls-verify=false")["Digest"] == digest


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--engine", "docker", "--registry-ca", __file__],
         "--registry-ca: for --engine oci; with --engine docker the daemon decides"),
        (["--engine", "docker", "--insecure-registry", "reg.lan:5000"],
         "/etc/docker/certs.d/HOST:PORT/ca.crt, insecure-registries in daemon.json"),
        (["--engine", "oci", "--insecure-registry", "http://reg.lan:5000"],
         "--insecure-registry takes HOST[:PORT] as image references spell it"),
        (["--engine", "oci", "--registry-ca", "/nonexistent/ca.pem"],
         "'--registry-ca': File '/nonexistent/ca.pem' does not exist"),
    ],
)  # fmt: skip
def test_registry_options_misused_are_usage_errors(options: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "uvdock", "build", str(EXAMPLES_DIR / "fastapi-app"),
         "-t", "x:1", "--push", *options],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
