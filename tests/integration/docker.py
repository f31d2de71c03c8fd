"""A thin, test-only wrapper over the real ``docker`` CLI (engine, buildx, compose).

Tests use these to build what ``uvdock init`` generated and to check the
results with docker itself, an independent tool.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

REGISTRY = "localhost:5000"
IMAGE_PREFIX = f"{REGISTRY}/standin"
CA_BUNDLE = os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")


def docker_binary() -> str:
    # The engine's own client; an older client may come first on PATH.
    for candidate in (os.environ.get("UVDOCK_TEST_DOCKER"), "/usr/bin/docker"):
        if candidate and Path(candidate).exists():
            return candidate
    found = shutil.which("docker")
    assert found, "docker client not found; run scripts/testbed.sh up"
    return found


def docker(
    *args: str,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [docker_binary(), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=timeout,
    )
    if check and done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-60:])
        msg = f"docker {' '.join(args[:3])} ... failed ({done.returncode}):\n{tail}"
        raise AssertionError(msg)
    return done


def build(
    context: Path,
    *,
    tag: str,
    dockerfile: str = "Dockerfile",
    secrets: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """``docker buildx build`` on the host network (local index/git servers live on loopback)."""
    args = ["buildx", "build", "--load", "--network", "host", "--progress", "plain",
            "-f", str(context / dockerfile), "-t", tag]  # fmt: skip
    for secret in secrets:
        args += ["--secret", secret]
    return docker(*args, *extra, str(context), env=env)


def ca_secret() -> str:
    return f"id=ca_bundle,src={CA_BUNDLE}"


@contextlib.contextmanager
def running(
    image: str, *args: str, port: int = 8000, ready: str | None = "/"
) -> Iterator[tuple[str, str]]:
    """Run ``image`` detached with ``port`` published on loopback; yields (id, base URL).

    With ``ready``, waits until that path answers (any HTTP status) first.
    """
    cid = docker(
        "run", "-d", "--health-interval", "1s", "--health-start-period", "1s",
        "-p", f"127.0.0.1::{port}", *args, image,
    ).stdout.strip()  # fmt: skip
    try:
        mapping = docker("port", cid, f"{port}/tcp").stdout.split()[0]
        url = f"http://{mapping}"
        if ready is not None:
            try:
                http_get(url + ready)
            except AssertionError:
                logs = docker("logs", "--tail", "40", cid, check=False)
                raise AssertionError(logs.stdout + logs.stderr) from None
        yield cid, url
    finally:
        docker("rm", "-f", cid, check=False)


def http_get(url: str, *, timeout: float = 60.0) -> tuple[int, bytes]:
    """GET ``url``, retrying until the server answers (any HTTP status) or time runs out."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback test URL
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()
        except (OSError, urllib.error.URLError) as err:
            last = err
            time.sleep(0.3)
    msg = f"no answer from {url} within {timeout}s: {last}"
    raise AssertionError(msg)


def http_json(
    url: str, *, method: str = "GET", body: object = None, timeout: float = 60.0
) -> tuple[int, object]:
    if method == "GET":
        status, raw = http_get(url, timeout=timeout)
        return status, json.loads(raw)
    data = json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback test URL
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def wait_healthy(cid: str, *, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = docker("inspect", "-f", "{{.State.Health.Status}}", cid).stdout.strip()
        if status == "healthy":
            return status
        time.sleep(0.5)
    return status


def image_files(image: str) -> dict[str, bytes]:
    """Every regular file of every layer, plus the config, from ``docker save``.

    Used to search an image for things that must not be in it (secrets).
    """
    raw = subprocess.run(
        [docker_binary(), "save", image], capture_output=True, check=True, timeout=600
    ).stdout
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(raw)) as outer:
        for member in outer.getmembers():
            if not member.isfile():
                continue
            handle = outer.extractfile(member)
            if handle is None:
                continue
            content = handle.read()
            found[member.name] = content
            with (
                contextlib.suppress(tarfile.TarError),
                tarfile.open(fileobj=io.BytesIO(content)) as layer,
            ):
                for inner in layer.getmembers():
                    if inner.isfile():
                        data = layer.extractfile(inner)
                        if data is not None:
                            found[f"{member.name}!{inner.name}"] = data.read()
    return found


def history(image: str) -> str:
    return docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image).stdout


def remove_image(tag: str) -> None:
    docker("rmi", "-f", tag, check=False)
