"""The daemonless engine (``uvdock build --engine oci``) against the Docker path, in one run.

Contenders, on one example (``--example``, default examples/fastapi-app), all on
the test bed's stand-in base images:

- ``oci``: ``uvdock build --engine oci`` (no daemon, no emulation);
- ``docker``: ``uvdock build --engine docker`` (buildx on the generated custom
  Dockerfile; arm64 under qemu);
- ``guide``: the guide's custom Dockerfile (``benchmarks/contenders/``), the
  fastest Docker path for a source edit (one platform only).

Figures (medians of ``--reps``; the two-platform builds run once each):

- warm rebuild after a one-line source edit, one platform (linux/amd64). The
  Docker paths end with the image in the engine (``--load``); the oci engine is
  timed three ways: into an OCI layout (no daemon at all), pushed to the
  registry on loopback, and loaded into the engine (``--load``);
- two-platform build and push (linux/amd64 + linux/arm64) with empty layer
  caches and the base images present: ``--no-cache`` for buildx (uv's cache
  mount and the engine's image store stay), a fresh ``XDG_CACHE_HOME`` holding
  only the base's blobs for the oci engine (uv's download cache stays warm);
- start-up of the oci image (``docker run`` to the first 200 on /health) with
  its bytecode and built with ``--no-bytecode``;
- image size (``docker image inspect .Size`` after ``--load``).

uvdock runs with bytecode writing allowed (``PYTHONDONTWRITEBYTECODE`` unset),
as on a developer's machine: otherwise each run compiles uvdock's own modules.

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


def oci_startup_ms(
    root: Path, env: dict[str, str], common: list[str], reps: int
) -> dict[str, float]:
    """Start-up to the first 200 of the oci image with and without bytecode (median of reps)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from compare_approaches import NETWORK, measure_runtime  # noqa: PLC0415 - a sibling script

    # The network the other benchmark runs its containers on (no route out).
    subprocess.run(["docker", "network", "create", NETWORK], capture_output=True, check=False)
    figures = {}
    for label, extra in (("with_bytecode", []), ("without_bytecode", ["--no-bytecode"])):
        tag = f"bench/oci-start:{label.replace('_', '-')}"
        timed([*UVDOCK, "build", str(root), "--engine", "oci", "--load", "-t", tag, *extra,
               *common], env=env)  # fmt: skip
        runs = [measure_runtime(tag)["start_ms"] for _ in range(reps)]
        figures[f"start_ms_{label}"] = statistics.median(runs)
        print(f"oci start-up {label}: {runs} ms")
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, check=False)
    return figures


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
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        common = ["--image-prefix", PREFIX]
        ca_args = ["--ca-bundle", ca]
        oci = [*UVDOCK, "build", str(root), "--engine", "oci"]
        run_tag = uuid.uuid4().hex[:8]
        oci_commands = {
            "oci_layout": [*oci, "--output", f"type=oci,dest={work / 'layout'}",
                           "-t", "bench/oci:1", *common],
            "oci_push": [*oci, "--push", "-t", f"localhost:5000/bench/daemonless:{run_tag}-edit",
                         *common],
            "oci_load": [*oci, "--load", "-t", "bench/oci:1", *common],
        }  # fmt: skip
        docker_load = [*UVDOCK, "build", str(root), "--engine", "docker", "--load",
                       "-t", "bench/docker:1", "--network", "host", *common, *ca_args]  # fmt: skip
        guide_file = REPO / "benchmarks" / "contenders" / (
            "guide-custom.Dockerfile" if args.example.name == "fastapi-app"
            else f"{args.example.name}/guide-custom.Dockerfile"
        )  # fmt: skip
        guide_load = ["docker", "buildx", "build", "--load", "-t", "bench/guide:1", "--network",
                      "host", "--secret", f"id=ca_bundle,src={ca}", "-f", str(guide_file),
                      str(root)]  # fmt: skip
        contenders = [
            *(("oci", key, command) for key, command in oci_commands.items()),
            ("docker", "load", docker_load),
            ("guide", "load", guide_load),
        ]
        # Warm everything once, then time source-edit rebuilds.
        for _, _, command in contenders:
            timed(command, env=env)
        for who, how, command in contenders:
            runs = []
            for _ in range(args.reps):
                edit(root)
                runs.append(timed(command, env=env))
            key = f"warm_edit_{how}_s" if who == "oci" else "warm_edit_s"
            results[who][key.replace("oci_", "")] = statistics.median(runs)
            print(f"{who:7} {how:10} warm source-edit rebuild: {[round(r, 3) for r in runs]}")
        results["oci"]["size_mb"] = size_mb("bench/oci:1")
        results["docker"]["size_mb"] = size_mb("bench/docker:1")
        results["guide"]["size_mb"] = size_mb("bench/guide:1")
        results["oci"].update(oci_startup_ms(root, env, common, args.reps))
        two = "linux/amd64,linux/arm64"
        tag = f"localhost:5000/bench/daemonless:{run_tag}"
        # Empty layer caches, base images present, for both: buildx keeps its image
        # store under --no-cache, so the oci engine keeps the base's blobs (and
        # nothing else: no layer selectors, facts or build environments).
        # uv keeps its download cache under XDG_CACHE_HOME too: point it at the warm one.
        fresh = {**env, "XDG_CACHE_HOME": str(work / "fresh-cache"),
                 "UV_CACHE_DIR": str(work / "cache" / "uv")}  # fmt: skip
        shutil.copytree(work / "cache" / "uvdock" / "oci" / "blobs",
                        work / "fresh-cache" / "uvdock" / "oci" / "blobs")  # fmt: skip
        results["oci"]["two_platform_s"] = timed(
            [*oci, "--platform", two, "--push", "-t", tag + "-oci", *common], env=fresh,
        )  # fmt: skip
        results["docker"]["two_platform_s"] = timed(
            [*UVDOCK, "build", str(root), "--engine", "docker", "--platform", two, "--push",
             "--no-cache", "-t", tag + "-docker", "--network", "host", *common, *ca_args], env=env,
        )  # fmt: skip
        for name in ("bench/oci:1", "bench/docker:1", "bench/guide:1"):
            subprocess.run(["docker", "image", "rm", "-f", name], capture_output=True, check=False)
    fastest = min(results["docker"]["warm_edit_s"], results["guide"]["warm_edit_s"])
    print(json.dumps(results, indent=2))
    oci_res = results["oci"]
    print("warm source edit, fastest Docker path (--load) "
          f"{fastest:.2f} s; oci engine (target 3x faster):")  # fmt: skip
    for how in ("layout", "push", "load"):
        seconds = oci_res[f"warm_edit_{how}_s"]
        print(f"  {how:7} {seconds:.2f} s -> {fastest / seconds:.2f}x")
    print(
        f"two platforms: oci {oci_res['two_platform_s']:.1f} s, buildx "
        f"{results['docker']['two_platform_s']:.1f} s -> "
        f"{results['docker']['two_platform_s'] / oci_res['two_platform_s']:.1f}x faster "
        "(target 5x)\n"
        f"start-up: {oci_res['start_ms_with_bytecode']:.0f} ms with bytecode, "
        f"{oci_res['start_ms_without_bytecode']:.0f} ms without\n"
        f"size: oci {oci_res['size_mb']:.0f} MB, docker custom "
        f"{results['docker']['size_mb']:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
