"""uvdock's daemonless engine against pyoci, both pushing to a registry that speaks TLS.

Contenders, on one example (``--example``, default examples/fastapi-app; also
benchmarks/examples/data-app), one platform (linux/amd64), both pushing:

- ``uvdock``: ``uvdock build --engine oci --push --registry-ca CA``: installs
  uv.lock's wheels for the base's Python and platform itself, no daemon;
- ``uvdock_no_bytecode``: the same with ``--no-bytecode``, like for like with
  pyoci, which ships no ``.pyc`` files;
- ``pyoci``: pyoci (PyPI, ``--pyoci-version``, default 0.2.1), "Experimental
  OCI image builder for Python projects (pure Python, Docker-less,
  Dockerfile-less)". It pulls the base from a registry, copies the files of
  the project's ``.venv`` site-packages (``--include-deps``) and its source
  into two uncompressed layers, and pushes.

pyoci's registry client has ``https://`` hard-coded, so both use a registry
started here (tests/integration/registry_process.py): Debian's docker-registry
with a certificate from a throwaway CA, on one of this machine's non-loopback
addresses (so that uvdock verifies TLS too; loopback registries are plain HTTP
or unverified, as in Docker). The stand-in python image is copied into it and
both pull their base from there. pyoci trusts the CA through SSL_CERT_FILE,
uvdock through ``--registry-ca``.

What pyoci needs that uvdock does not (set up here; the venv is timed apart):

- a ``.venv`` in the project, made with the base image's Python minor version
  (this machine's default Python is 3.11, the examples' 3.13):
  ``uv sync --frozen --no-dev --no-install-project --python <3.13>``;
- a ``pyoci.toml``: its FastAPI default entrypoint (``uvicorn app.main:app``)
  does not start, as nothing puts the copied site-packages on ``sys.path`` and
  the venv's ``bin/`` is not copied. The one used here runs ``python -m`` on the
  same command with ``PYTHONPATH`` set to the copied site-packages, the
  arguments in ``cmd`` (pyoci keeps the base's ``Cmd``, ``["python3"]``, after
  its entrypoint otherwise). The default is built and run once too, to record
  what happens.

Figures (medians of ``--reps``):

- cold build and push: the builder's own caches empty (uvdock: a fresh
  XDG_CACHE_HOME, so the base's blobs are pulled too; pyoci: a fresh output
  directory and layer cache), uv's download cache warm, a new repository each
  time;
- warm rebuild and push after a one-line source edit, into the same repository;
- what each produces: bytes pushed (compressed for uvdock, uncompressed tar
  for pyoci's own layers), size in the engine, layer media types, platforms,
  whether two cold builds give the same digest, and whether ``docker run``
  serves /health (the image is copied into the engine with skopeo, which is
  given the CA; the engine's own trust is left alone).

Needs the test bed (``scripts/testbed.sh up``), ``openssl``, ``skopeo``, and a
Python of the base's minor version for pyoci's venv (``--venv-python``;
default: the first ``python3.X`` found that runs). Run from the repository root:

    uv run --project . python benchmarks/daemonless_pyoci.py
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the registry helper lives with the tests that use it

from tests.integration.registry_process import (  # noqa: E402
    Registry,
    free_port,
    make_certificates,
    own_address,
    seed,
)

TESTBED = "localhost:5000"
STANDIN = f"{TESTBED}/standin/library/python"
UVDOCK = [sys.executable, "-m", "uvdock"]


def run(
    argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds, done


def edit(*roots: Path) -> None:
    line = f"# edit {uuid.uuid4().hex}\n"
    for root in roots:
        with (root / "app" / "main.py").open("a") as handle:
            handle.write(line)


def python_minor(example: Path) -> str:
    version = (example / ".python-version").read_text().strip()
    return ".".join(version.split(".")[:2])


def find_python(minor: str, given: str | None) -> str | None:
    """An interpreter of ``minor`` that runs (pyenv shims print errors for absent ones)."""
    candidates = [given] if given else [
        shutil.which(f"python{minor}"),
        *map(str, sorted(Path.home().glob(f".pyenv/versions/{minor}*/bin/python{minor}"))),
        f"/usr/local/bin/python{minor}",
        f"/usr/bin/python{minor}",
    ]  # fmt: skip
    for candidate in candidates:
        if not candidate or not Path(candidate).exists():
            continue
        probe = [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
        done = subprocess.run(probe, capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.strip() == minor:
            return candidate
    return None


class Skopeo:
    """skopeo against the benchmark's registry, trusting its CA."""

    def __init__(self, cert_dir: Path) -> None:
        self.cert_dir = cert_dir

    def raw(self, ref: str) -> Any:
        out = subprocess.run(
            ["skopeo", "inspect", "--raw", "--cert-dir", str(self.cert_dir), f"docker://{ref}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return json.loads(out)

    def digest(self, ref: str) -> str:
        out = subprocess.run(
            ["skopeo", "inspect", "--cert-dir", str(self.cert_dir), f"docker://{ref}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return str(json.loads(out)["Digest"])

    def to_engine(self, ref: str, tag: str) -> str:
        """Pull ``ref`` into the engine by way of the test bed's registry; the local name.

        skopeo cannot convert pyoci's manifest (an OCI manifest with Docker layer media
        types) for docker-archive: or docker-daemon:, and the engine does not trust this
        registry's CA (its own configuration is left alone): an exact copy on loopback,
        which Docker reaches without TLS, works for both images.
        """
        local = f"{TESTBED}/bench/pyoci-compare:{tag}"
        subprocess.run(
            ["skopeo", "copy", "--quiet", "--preserve-digests", "--src-cert-dir",
             str(self.cert_dir), "--dest-tls-verify=false", f"docker://{ref}", f"docker://{local}"],
            capture_output=True, check=True, timeout=600,
        )  # fmt: skip
        try:
            subprocess.run(["docker", "pull", "-q", local], capture_output=True, check=True,
                           timeout=600)  # fmt: skip
        finally:  # the repository is this script's own: no other tag shares the manifest
            subprocess.run(["skopeo", "delete", "--tls-verify=false", f"docker://{local}"],
                           capture_output=True, check=False)  # fmt: skip
        return local


def image_facts(skopeo: Skopeo, ref: str, base_layers: set[str]) -> dict[str, Any]:
    manifest = skopeo.raw(ref)
    if "manifests" in manifest:  # an index: describe its amd64 image
        entry = next(m for m in manifest["manifests"] if m["platform"]["architecture"] == "amd64")
        manifest = skopeo.raw(ref.rsplit(":", 1)[0] + "@" + entry["digest"])
    layers = manifest["layers"]
    own = [layer for layer in layers if layer["digest"] not in base_layers]
    return {
        "pushed_mb": (manifest["config"]["size"] + sum(layer["size"] for layer in layers)) / 1e6,
        "own_layers_mb": sum(layer["size"] for layer in own) / 1e6,
        "own_layers": len(own),
        "media_types": sorted({layer["mediaType"] for layer in layers}),
    }


def serves(skopeo: Skopeo, ref: str, *, timeout: float = 30.0) -> dict[str, Any]:
    """Copy ``ref`` into the engine, run it, wait for /health: {"serves", "engine_mb", "detail"}."""
    tag = skopeo.to_engine(ref, uuid.uuid4().hex[:10])
    name = f"bench-pyoci-compare-{uuid.uuid4().hex[:10]}"
    try:
        size = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", tag],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
        facts: dict[str, Any] = {"serves": False, "engine_mb": int(size) / 1e6}
        started = subprocess.run(["docker", "run", "-d", "--name", name, "-p", "127.0.0.1::8000",
                                  tag], capture_output=True, text=True, check=False)  # fmt: skip
        if started.returncode != 0:  # the engine could not even start the command
            first = started.stderr.strip().splitlines()[:1] or ["(no output)"]
            return {**facts, "detail": first[0][:300]}
        mapping = subprocess.run(["docker", "port", name, "8000/tcp"], capture_output=True,
                                 text=True, check=True).stdout.split()[0]  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{mapping}/health", timeout=2) as answer:
                    ok = answer.status == 200  # noqa: PLR2004
                    return {**facts, "serves": ok, "detail": f"/health answered {answer.status}"}
            except (OSError, urllib.error.URLError):
                state = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", name],
                                       capture_output=True, text=True, check=False)  # fmt: skip
                if state.stdout.strip() == "false":
                    break
                time.sleep(0.2)
        logs = subprocess.run(["docker", "logs", "--tail", "3", name],
                              capture_output=True, text=True, check=False)  # fmt: skip
        last = (logs.stdout + logs.stderr).strip().splitlines()[-1:] or ["(no output)"]
        return {**facts, "detail": last[0][:200]}
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, check=False)


def foreign_shared_objects(layout: Path) -> list[str]:
    """x86_64 extension modules in an OCI layout's uncompressed layers (pyoci's arm64 image)."""
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((layout / "blobs" / "sha256" / digest).read_text())
    found = []
    for layer in manifest["layers"]:
        if layer["mediaType"] != "application/vnd.oci.image.layer.v1.tar":
            continue
        with tarfile.open(layout / "blobs" / "sha256" / layer["digest"].split(":")[1]) as tar:
            found += [name for name in tar.getnames() if name.endswith("x86_64-linux-gnu.so")]
    return found


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--example", type=Path, default=REPO / "examples" / "fastapi-app")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--pyoci-version", default="0.2.1")
    parser.add_argument("--venv-python", help="interpreter for pyoci's .venv (the base's X.Y)")
    args = parser.parse_args(argv)
    uv = os.environ.get("UV") or shutil.which("uv") or "uv"
    minor = python_minor(args.example)
    venv_python = find_python(minor, args.venv_python)
    if venv_python is None:
        sys.exit(f"pyoci copies the project's .venv, which must be made with Python {minor} "
                 "(the base image's); none found: pass --venv-python")  # fmt: skip
    address = own_address() or "127.0.0.1"
    results: dict[str, Any] = {"uvdock": {}, "pyoci": {}, "setup": {}}
    results["setup"]["load_average_before"] = os.getloadavg()[0]  # others may share the machine
    with tempfile.TemporaryDirectory(prefix="uvdock-pyoci-") as tmp:
        work = Path(tmp)
        certificates = make_certificates(work / "ca", names=[address])
        registry = Registry(
            work / "registry", address=f"{address}:{free_port(address)}", certificates=certificates
        )
        with registry:
            host = registry.address
            skopeo = Skopeo(certificates.cert_dir)
            base_name = f"standin/library/python:{minor}-slim-trixie"
            seed(f"{STANDIN}:{minor}-slim-trixie", registry, base_name, all_platforms=True)
            base = f"{host}/{base_name}"
            top = skopeo.raw(base)
            children = [skopeo.raw(f"{base.rsplit(':', 1)[0]}@{entry['digest']}")
                        for entry in top.get("manifests", [])] or [top]  # fmt: skip
            base_layers = {layer["digest"] for child in children for layer in child["layers"]}

            # pyoci in its own environment; the two copies of the example.
            pyoci_env = work / "pyoci-env"
            run([uv, "venv", "-q", str(pyoci_env), "--python", sys.executable])
            run([uv, "pip", "install", "-q", "--python", str(pyoci_env / "bin" / "python"),
                 f"pyoci=={args.pyoci_version}"])  # fmt: skip
            pyoci = str(pyoci_env / "bin" / "pyoci")
            ours, theirs = work / "src-uvdock", work / "src-pyoci"
            for target in (ours, theirs):
                shutil.copytree(args.example, target,
                                ignore=shutil.ignore_patterns(".venv", "__pycache__"))  # fmt: skip
            uv_env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
            uv_cache = run([uv, "cache", "dir"], env=uv_env)[1].stdout.strip()
            sync = [uv, "sync", "-q", "--frozen", "--no-dev", "--no-install-project",
                    "--python", venv_python]  # fmt: skip
            results["setup"]["pyoci_venv_s"] = run(sync, env=uv_env, cwd=theirs)[0]
            site = next((theirs / ".venv" / "lib").glob("python*/site-packages"))
            pythonpath = f"/app/{site.relative_to(theirs).as_posix()}"

            # pyoci's own entrypoint, run as a module with the copied packages on the path;
            # its arguments in cmd, as pyoci keeps the base's Cmd (["python3"]) otherwise.
            dry = run([pyoci, "build", "--tag", "x:1", "--base-image", base, "--context",
                       str(theirs), "--include-deps", "--dry-run", "--verbose"],
                      cwd=work)[1]  # fmt: skip
            detected = next(line.split("Entrypoint:", 1)[1].split()
                            for line in (dry.stdout + dry.stderr).splitlines()
                            if "Entrypoint:" in line)  # fmt: skip
            config = work / "pyoci.toml"
            config.write_text(
                "[build]\n"
                f"base_image = {json.dumps(base)}\n"
                f"entrypoint = {json.dumps(['python', '-m', detected[0]])}\n"
                f"cmd = {json.dumps(detected[1:])}\n"
                f"env = {{ PYTHONPATH = {json.dumps(pythonpath)} }}\n"
            )
            results["setup"].update({
                "pyoci_version": args.pyoci_version, "venv_python": venv_python,
                "pyoci_detected_entrypoint": detected, "registry": host,
            })  # fmt: skip
            pyoci_env_vars = {**os.environ, "SSL_CERT_FILE": str(certificates.ca)}

            def uvdock_push(ref: str, cache: Path, *extra: str) -> tuple[float, str]:
                env = {**os.environ, "UV": uv, "XDG_CACHE_HOME": str(cache),
                       "UV_CACHE_DIR": uv_cache}  # fmt: skip
                env.pop("PYTHONDONTWRITEBYTECODE", None)
                seconds, done = run(
                    [*UVDOCK, "build", str(ours), "--engine", "oci", "--push", "-t", ref,
                     "--image-prefix", f"{host}/standin", "--registry-ca", str(certificates.ca),
                     "--format", "json", *extra], env=env,
                )  # fmt: skip
                return seconds, str(json.loads(done.stdout)["data"]["digest"])

            def pyoci_push(ref: str, where: Path, *extra: str) -> tuple[float, str]:
                where.mkdir(parents=True, exist_ok=True)
                seconds, _ = run(
                    [pyoci, "build", "--config", str(config), "--tag", ref, "--context",
                     str(theirs), "--include-deps", "--cache-dir", str(where / "cache"),
                     "--push", "--no-progress", *extra], env=pyoci_env_vars, cwd=where,
                )  # fmt: skip
                return seconds, skopeo.digest(ref)

            # uv's download cache warm for uvdock (pyoci downloads nothing).
            uvdock_push(f"{host}/bench/warm-up:1", work / "throwaway-cache")

            # pyoci ships no bytecode: uvdock --no-bytecode is the like-for-like contender.
            contenders: dict[str, Callable[[str, Path], tuple[float, str]]] = {
                "uvdock": uvdock_push,
                "uvdock_no_bytecode": lambda ref, cache: uvdock_push(ref, cache, "--no-bytecode"),
                "pyoci": pyoci_push,
            }
            results["uvdock_no_bytecode"] = {}
            cold: dict[str, list[tuple[float, str]]] = {who: [] for who in contenders}
            for rep in range(args.reps):  # interleaved, so that load on the machine hits all
                for who, push in contenders.items():
                    where = f"{who.replace('_', '-')}-cold-{rep}"
                    cold[who].append(push(f"{host}/bench/{where}:1", work / where))
            for who, runs in cold.items():
                results[who]["cold_push_s"] = statistics.median(s for s, _ in runs)
                # (None with --reps 1: nothing to compare)
                twice = len({d for _, d in runs}) == 1 if len(runs) > 1 else None
                results[who]["same_digest_twice"] = twice
                print(f"{who:18} cold build + push: {[round(s, 2) for s, _ in runs]}")

            warm: dict[str, list[float]] = {who: [] for who in contenders}
            for who, push in contenders.items():
                where = f"{who.replace('_', '-')}-warm"
                push(f"{host}/bench/{where}:0", work / where)
            for rep in range(1, args.reps + 1):
                edit(ours, theirs)
                for who, push in contenders.items():
                    where = f"{who.replace('_', '-')}-warm"
                    warm[who].append(push(f"{host}/bench/{where}:{rep}", work / where)[0])
            for who, seconds in warm.items():
                results[who]["warm_edit_push_s"] = statistics.median(seconds)
                print(f"{who:18} warm source-edit rebuild + push: "
                      f"{[round(s, 2) for s in seconds]}")  # fmt: skip

            # What each produced (the first cold build's image).
            for who in contenders:
                ref = f"{host}/bench/{who.replace('_', '-')}-cold-0:1"
                results[who].update(image_facts(skopeo, ref, base_layers))
                results[who].update(serves(skopeo, ref))
                results[who]["platforms"] = 1

            # uvdock: two platforms in one index (pyoci builds one per run: its issue #29).
            seconds, _ = uvdock_push(f"{host}/bench/uvdock-two:1", work / "uvdock-two",
                                     "--platform", "linux/amd64,linux/arm64")  # fmt: skip
            results["uvdock"]["two_platform_cold_push_s"] = seconds
            results["uvdock"]["platforms"] = len(skopeo.raw(f"{host}/bench/uvdock-two:1")
                                                 ["manifests"])  # fmt: skip
            # pyoci --platform linux/arm64: what lands in the image is this machine's venv.
            arm = work / "pyoci-arm64"
            arm.mkdir()
            run([pyoci, "build", "--config", str(config), "--tag", f"{host}/bench/pyoci-arm:1",
                 "--context", str(theirs), "--include-deps", "--platform", "linux/arm64"],
                env=pyoci_env_vars, cwd=arm)  # fmt: skip
            foreign = foreign_shared_objects(arm / "dist" / "image")
            results["pyoci"]["arm64_image_x86_64_modules"] = len(foreign)
            print(f"pyoci --platform linux/arm64: {len(foreign)} x86_64 extension module(s), "
                  f"e.g. {foreign[:1]}")  # fmt: skip

            # pyoci's digest from the same lock, after the .venv is made again (new mtimes).
            shutil.rmtree(theirs / ".venv")
            run(sync, env=uv_env, cwd=theirs)
            digest = pyoci_push(f"{host}/bench/pyoci-revenv:1", work / "pyoci-revenv")[1]
            results["pyoci"]["same_digest_after_new_venv"] = digest == cold["pyoci"][0][1]
            # pyoci as documented: no pyoci.toml (its detected entrypoint, no PYTHONPATH).
            default = work / "pyoci-default"
            default.mkdir()
            ref = f"{host}/bench/pyoci-default:1"
            run([pyoci, "build", "--tag", ref, "--base-image", base, "--context", str(theirs),
                 "--include-deps", "--push", "--no-progress"], env=pyoci_env_vars,
                cwd=default)  # fmt: skip
            as_documented = serves(skopeo, ref)
            results["pyoci"]["default_config_serves"] = as_documented["serves"]
            results["pyoci"]["default_config_detail"] = as_documented["detail"]

    results["setup"]["load_average_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))
    ours_, theirs_ = results["uvdock"], results["pyoci"]
    with_venv = theirs_["cold_push_s"] + results["setup"]["pyoci_venv_s"]
    print(
        f"cold build + push ({args.example.name}, linux/amd64, TLS registry): uvdock "
        f"{ours_['cold_push_s']:.2f} s, pyoci {theirs_['cold_push_s']:.2f} s "
        f"(+ {results['setup']['pyoci_venv_s']:.2f} s for its .venv) -> uvdock/pyoci "
        f"{ours_['cold_push_s'] / theirs_['cold_push_s']:.2f}x, with the venv "
        f"{ours_['cold_push_s'] / with_venv:.2f}x\n"
        f"warm source edit + push: uvdock {ours_['warm_edit_push_s']:.2f} s, pyoci "
        f"{theirs_['warm_edit_push_s']:.2f} s -> uvdock/pyoci "
        f"{ours_['warm_edit_push_s'] / theirs_['warm_edit_push_s']:.2f}x\n"
        f"two platforms, cold: uvdock {ours_['two_platform_cold_push_s']:.2f} s "
        f"({ours_['platforms']} platforms); pyoci: one platform per build, and its arm64 image "
        f"carries {theirs_['arm64_image_x86_64_modules']} x86_64 extension module(s)"
    )  # fmt: skip
    plain = results["uvdock_no_bytecode"]
    print(
        f"uvdock --no-bytecode (no .pyc, as pyoci): cold {plain['cold_push_s']:.2f} s -> "
        f"{plain['cold_push_s'] / theirs_['cold_push_s']:.2f}x pyoci; warm edit "
        f"{plain['warm_edit_push_s']:.2f} s -> "
        f"{plain['warm_edit_push_s'] / theirs_['warm_edit_push_s']:.2f}x pyoci"
    )
    for who, facts in (("uvdock", ours_), ("uvdock_no_bytecode", plain), ("pyoci", theirs_)):
        print(
            f"{who:18} pushed {facts['pushed_mb']:.1f} MB ({facts['own_layers']} own layer(s) "
            f"{facts['own_layers_mb']:.1f} MB), in the engine {facts['engine_mb']:.0f} MB, "
            f"same digest twice: {facts['same_digest_twice']}, serves /health: "
            f"{facts['serves']} ({facts['detail']}); media types {facts['media_types']}"
        )
    print(
        f"pyoci same digest after the .venv is made again: "
        f"{theirs_['same_digest_after_new_venv']}; without pyoci.toml the image serves: "
        f"{theirs_['default_config_serves']} ({theirs_['default_config_detail']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
