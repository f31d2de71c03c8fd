"""A docker-registry process of one's own: plain HTTP or TLS with a throwaway CA.

The test bed's registry on 127.0.0.1:5000 is shared, so a test that stops a
registry, demands credentials or speaks TLS starts its own: Debian's
``docker-registry`` (CNCF distribution 2.8) with its own config, data
directory and port, stopped at the end. Certificates come from the
``openssl`` command (no Python dependency for it).

No pytest here: ``benchmarks/daemonless_pyoci.py`` uses it too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = [
    "Certificates",
    "Registry",
    "free_port",
    "make_certificates",
    "own_address",
    "seed",
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Certificates:
    """A CA, and a server certificate it signed."""

    ca: Path  # the CA's certificate (PEM): what clients are given to trust
    cert: Path  # the server's certificate
    key: Path  # the server's private key

    @property
    def cert_dir(self) -> Path:
        """A directory with ``ca.crt`` only, for skopeo's ``--cert-dir`` (and Docker's certs.d)."""
        directory = self.ca.parent / "cert-dir"
        if not directory.is_dir():
            directory.mkdir()
            (directory / "ca.crt").write_bytes(self.ca.read_bytes())
        return directory


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], capture_output=True, check=True, timeout=60)


def make_certificates(directory: Path, *, names: Sequence[str]) -> Certificates:
    """A new CA, and a certificate it signed for ``names`` (DNS names or IP addresses).

    The extensions are the ones strict X.509 checking (Python 3.13's default)
    asks for: a CA with key usage, key identifiers, a server-auth leaf.
    """
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key = directory / "server.pem", directory / "server.key"
    curve = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *curve, "-days", "2", "-subj", f"/CN=uvdock test CA {directory.name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-addext", "subjectKeyIdentifier=hash",
             "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    request = directory / "server.csr"
    _openssl("req", "-new", *curve, "-subj", f"/CN={names[0]}",
             "-keyout", str(key), "-out", str(request))  # fmt: skip
    alt = ",".join(f"{'IP' if _is_ip(name) else 'DNS'}:{name}" for name in names)
    extensions = directory / "server.ext"
    extensions.write_text(
        f"subjectAltName={alt}\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n"
    )
    _openssl("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key),
             "-set_serial", str(time.time_ns()), "-days", "2", "-extfile", str(extensions),
             "-out", str(cert))  # fmt: skip
    return Certificates(ca=ca, cert=cert, key=key)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def own_address() -> str | None:
    """An IPv4 address of this machine that is not loopback (``hostname -I``), if it has one.

    A registry bound there is "remote" to clients that follow Docker's rule
    (loopback is insecure, everything else needs TLS or an insecure mark),
    while all traffic stays on this machine.
    """
    done = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=False)
    for word in done.stdout.split():
        with contextlib.suppress(ValueError):
            address = ipaddress.ip_address(word)
            if address.version == 4 and not address.is_loopback:
                return word
    return None


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        port: int = probe.getsockname()[1]
        return port


class Registry:
    """``docker-registry serve`` on ``address`` (``IP:PORT``), data under ``root/data``.

    With ``certificates`` it speaks TLS only; with ``htpasswd`` it demands
    basic auth. ``start()`` waits until it answers; ``stop()`` and ``kill()``
    end it (``start()`` again serves the same data). Use as a context manager
    so that it is stopped even when a test fails.
    """

    def __init__(
        self,
        root: Path,
        *,
        address: str,
        certificates: Certificates | None = None,
        htpasswd: Path | None = None,
    ) -> None:
        self.root = root
        self.address = address
        self.certificates = certificates
        self.data = root / "data"
        self.log = root / "registry.log"
        self.config = root / "registry.yml"
        self._process: subprocess.Popen[bytes] | None = None
        root.mkdir(parents=True, exist_ok=True)
        text = (
            "version: 0.1\nlog:\n  level: info\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.data}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: {address}\n"
        )
        if certificates is not None:
            text += f"  tls:\n    certificate: {certificates.cert}\n    key: {certificates.key}\n"
        if htpasswd is not None:
            text += f"auth:\n  htpasswd:\n    realm: uvdock-test\n    path: {htpasswd}\n"
        self.config.write_text(text)

    @property
    def url(self) -> str:
        return f"{'https' if self.certificates else 'http'}://{self.address}"

    def start(self, *, timeout: float = 30.0) -> Self:
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                ["docker-registry", "serve", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while self.status() is None:
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                msg = f"docker-registry on {self.address} did not start:\n{self.log_tail()}"
                raise RuntimeError(msg)
            time.sleep(0.1)
        return self

    def status(self) -> int | None:
        """The HTTP status of ``GET /v2/`` (401 with auth), or None when nothing answers."""
        context = None
        if self.certificates is not None:
            context = ssl.create_default_context(cafile=str(self.certificates.ca))
        try:
            with urllib.request.urlopen(f"{self.url}/v2/", timeout=5, context=context) as answer:  # noqa: S310 - our own registry
                return int(answer.status)
        except urllib.error.HTTPError as err:
            return err.code
        except OSError:
            return None

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """End the process (SIGKILL: as if it crashed) and wait for it."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stored_blobs(self, repository: str) -> set[str]:
        """The digests of the blobs linked into ``repository`` (complete uploads and mounts)."""
        layers = self.data / "docker/registry/v2/repositories" / repository / "_layers/sha256"
        return {f"sha256:{path.name}" for path in layers.glob("*") if (path / "link").is_file()}

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def seed(source: str, registry: Registry, name: str, *, all_platforms: bool = False) -> str:
    """Copy an image from the test bed's registry into ``registry`` with skopeo; its reference."""
    target = f"{registry.address}/{name}"
    dest = (
        ["--dest-cert-dir", str(registry.certificates.cert_dir)]
        if registry.certificates
        else ["--dest-tls-verify=false"]
    )
    subprocess.run(
        ["skopeo", "copy", "--quiet", "--src-tls-verify=false", *dest,
         *(["--all"] if all_platforms else []), f"docker://{source}", f"docker://{target}"],
        capture_output=True, check=True, timeout=300,
    )  # fmt: skip
    return target
