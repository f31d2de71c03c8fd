"""The daemonless engine (``uvdock build --engine oci``) against the Docker path, in one run.

Contenders, on one example (``--example``, default examples/fastapi-app), all on
the test bed's stand-in base images:

- ``oci``: ``uvdock build --engine oci`` (no daemon, no emulation);
- ``docker``: ``uvdock build --engine docker`` (buildx on the generated custom
  Dockerfile; arm64 under qemu);
- ``guide``: the guide's custom Dockerfile (``benchmarks/contenders/``), the
  fastest Docker path for a source edit (one platform only).

Figures (medians of ``--reps``; the two-platform builds run once each):

- warm rebuild after a one-line source edit, one platform (linux/amd64), output
  loaded into the engine (``--load``) for every contender, so all end at the
  same place;
- two-platform build and push (linux/amd64 + linux/arm64) with empty layer
  caches and the base images present: ``--no-cache`` for buildx (uv's cache
  mount and the engine's image store stay), a fresh ``XDG_CACHE_HOME`` holding
  only the base's blobs for the oci engine (uv's download cache stays warm);
- image size (``docker image inspect .Size`` after ``--load``).

Needs the test bed (``scripts/testbed.sh up``) and SSL_CERT_FILE for the Docker
path's CA secret. Run from the repository root:

    uv run --project . python benchmarks/daemonless.py
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PREFIX = "localhost:5000/standin"
UVDOCK = [sys.executable, "-m", "uvdock"]


def timed(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{done.stderr[-2000:]}")
    return seconds


def size_mb(tag: str) -> float:
    out = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", tag],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return int(out) / 1e6


def edit(root: Path) -> None:
    with (root / "app" / "main.py").open("a") as handle:
        handle.write(f"# edit {uuid.uuid4().hex}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--example", type=Path, default=REPO / "examples" / "fastapi-app")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    ca = os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
    uv = os.environ.get("UV") or shutil.which("uv") or "uv"
    results: dict[str, dict[str, float]] = {"oci": {}, "docker": {}, "guide": {}}
    with tempfile.TemporaryDirectory(prefix="uvdock-daemonless-") as tmp:
        work = Path(tmp)
        root = work / "example"
        shutil.copytree(args.example, root)
        env = {**os.environ, "UV": uv, "XDG_CACHE_HOME": str(work / "cache")}
        common = ["--image-prefix", PREFIX]
        ca_args = ["--ca-bundle", ca]
        oci_load = [*UVDOCK, "build", str(root), "--engine", "oci", "--load", "-t", "bench/oci:1",
                    *common]  # fmt: skip
        docker_load = [*UVDOCK, "build", str(root), "--engine", "docker", "--load",
                       "-t", "bench/docker:1", "--network", "host", *common, *ca_args]  # fmt: skip
        guide_file = REPO / "benchmarks" / "contenders" / (
            "guide-custom.Dockerfile" if args.example.name == "fastapi-app"
            else f"{args.example.name}/guide-custom.Dockerfile"
        )  # fmt: skip
        guide_load = ["docker", "buildx", "build", "--load", "-t", "bench/guide:1", "--network",
                      "host", "--secret", f"id=ca_bundle,src={ca}", "-f", str(guide_file),
                      str(root)]  # fmt: skip
        # Warm everything once, then time source-edit rebuilds.
        for command in (oci_load, docker_load, guide_load):
            timed(command, env=env)
        for key, command in (("oci", oci_load), ("docker", docker_load), ("guide", guide_load)):
            runs = []
            for _ in range(args.reps):
                edit(root)
                runs.append(timed(command, env=env))
            results[key]["warm_edit_s"] = statistics.median(runs)
            print(f"{key:7} warm source-edit rebuild: {runs}")
        results["oci"]["size_mb"] = size_mb("bench/oci:1")
        results["docker"]["size_mb"] = size_mb("bench/docker:1")
        results["guide"]["size_mb"] = size_mb("bench/guide:1")
        two = "linux/amd64,linux/arm64"
        tag = f"localhost:5000/bench/daemonless:{uuid.uuid4().hex[:8]}"
        # Empty layer caches, base images present, for both: buildx keeps its image
        # store under --no-cache, so the oci engine keeps the base's blobs (and
        # nothing else: no layer selectors, facts or build environments).
        fresh = {**env, "XDG_CACHE_HOME": str(work / "fresh-cache")}
        shutil.copytree(work / "cache" / "uvdock" / "oci" / "blobs",
                        work / "fresh-cache" / "uvdock" / "oci" / "blobs")  # fmt: skip
        results["oci"]["two_platform_s"] = timed(
            [*UVDOCK, "build", str(root), "--engine", "oci", "--platform", two, "--push",
             "-t", tag + "-oci", *common], env=fresh,
        )  # fmt: skip
        results["docker"]["two_platform_s"] = timed(
            [*UVDOCK, "build", str(root), "--engine", "docker", "--platform", two, "--push",
             "--no-cache", "-t", tag + "-docker", "--network", "host", *common, *ca_args], env=env,
        )  # fmt: skip
        for name in ("bench/oci:1", "bench/docker:1", "bench/guide:1"):
            subprocess.run(["docker", "image", "rm", "-f", name], capture_output=True, check=False)
    fastest = min(results["docker"]["warm_edit_s"], results["guide"]["warm_edit_s"])
    print(json.dumps(results, indent=2))
    print(
        f"oci warm source edit: {results['oci']['warm_edit_s']:.2f} s; fastest Docker path "
        f"{fastest:.2f} s -> {fastest / results['oci']['warm_edit_s']:.2f}x faster (target 3x)\n"
        f"two platforms: oci {results['oci']['two_platform_s']:.1f} s, buildx "
        f"{results['docker']['two_platform_s']:.1f} s -> "
        f"{results['docker']['two_platform_s'] / results['oci']['two_platform_s']:.1f}x faster "
        "(target 5x)\n"
        f"size: oci {results['oci']['size_mb']:.0f} MB, docker custom "
        f"{results['docker']['size_mb']:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
