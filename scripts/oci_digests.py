"""Digests of daemonless builds of fixture projects, to compare two versions of the engine.

Builds each fixture (a fresh copy, a fresh cache) with ``uvdock build --engine
oci`` into an OCI layout at a fixed SOURCE_DATE_EPOCH, with the source tree
given by ``--src`` (default: this checkout's), and prints per fixture the
top digest and every manifest and config digest as JSON. Run it on the code
before a refactor (``git archive COMMIT src | tar -x -C DIR``, then
``--src DIR/src``) and after, then diff the two outputs: a refactor that keeps
behaviour keeps every digest. Needs the test bed (``scripts/testbed.sh up``).

    uv run --no-sync python scripts/oci_digests.py [--src DIR] [FIXTURE ...] > digests.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = ("flask-app", "uv-workspace", "cli-tool")
PLATFORMS = "linux/amd64,linux/arm64"
EPOCH = "1700000000"
IMAGE_PREFIX = "localhost:5000/standin"


def build(fixture: str, src: Path, work: Path) -> dict[str, object]:
    """One fixture's build: ``{"top": digest, "images": [{platform, manifest, config}]}``."""
    root = work / fixture
    shutil.copytree(REPO / "tests" / "fixtures" / "projects" / fixture, root)
    layout = work / f"{fixture}-layout"
    env = {**os.environ, "PYTHONPATH": str(src), "XDG_CACHE_HOME": str(work / f"{fixture}-cache"),
           "UV_PYTHON_DOWNLOADS": "never"}  # fmt: skip
    env = {k: v for k, v in env.items() if not k.startswith("UVDOCK_")}
    done = subprocess.run(
        [sys.executable, "-m", "uvdock", "build", str(root), "--engine", "oci",
         "--image-prefix", IMAGE_PREFIX, "--platform", PLATFORMS, "--source-date-epoch", EPOCH,
         "--output", f"type=oci,dest={layout}", "-t", f"pins/{fixture}:1", "--format", "json"],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"{fixture}: build failed\n{done.stderr}")
    data = json.loads(done.stdout)["data"]
    images = []
    for image in data["platforms"]:
        blob = layout / "blobs" / "sha256" / image["digest"].split(":")[1]
        manifest = json.loads(blob.read_text())
        images.append(
            {"platform": image["platform"], "manifest": image["digest"],
             "config": manifest["config"]["digest"], "python": image["python"],
             "compiled": image["compiled"]}
        )  # fmt: skip
    return {"top": data["digest"], "images": images}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=REPO / "src", help="the uvdock source tree")
    parser.add_argument("fixtures", nargs="*", default=list(FIXTURES))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="uvdock-digests-") as tmp:
        found = {name: build(name, args.src.resolve(), Path(tmp)) for name in args.fixtures}
    json.dump(found, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
