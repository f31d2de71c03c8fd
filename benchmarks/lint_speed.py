"""``uvdock lint`` against hadolint on the same 1,000 Dockerfiles, in the same run.

The corpus is built deterministically from realistic Dockerfiles: every Dockerfile
``uvdock init`` generates for the test fixtures (tests/golden), the example's, and the
complete Dockerfiles in the guide (``--guide``), each varied (image tags, extra RUN,
COPY, ENV and comment lines) so that no two files are the same and sizes range from
about 5 to 80 lines.

Two ways of running each tool, both counting process start-up:

- ``batch``: one process for all 1,000 files (how CI and ``pre-commit`` call linters);
- ``per-file``: one process per file, for the first ``--per-file`` files (how an editor
  calls them), reported per file.

Each figure is the median of ``--reps`` runs; the ratio is hadolint's time over
uvdock's (above 1.0: uvdock is faster).

uvdock runs as a user runs it: the ``uvdock`` console script of a wheel built
from this checkout and installed, with its bytecode compiled (``uv pip install
--compile-bytecode``, as ``pip`` does and as a ``uv tool`` environment has after
its first run), into a fresh virtual environment of the project's Python.
Without bytecode every run would compile uvdock's modules first, and with
``PYTHONDONTWRITEBYTECODE`` set (as in some CI images) it never stops doing so.
``--uvdock PATH`` times another executable instead (another checkout's, or the
project venv's editable one). Run from the repository root:

    uv run --project . python benchmarks/lint_speed.py
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_GUIDE = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_03018ef736a4bf5c.txt"
BIN = Path(sys.executable).parent
EXTRA_LINES = (
    (
        "RUN apt-get update && apt-get install -y --no-install-recommends libpq5 "
        "&& rm -rf /var/lib/apt/lists/*"
    ),
    "ENV APP_ENV=production",
    "# a comment line",
    "COPY config/ /app/config/",
    "RUN --mount=type=cache,target=/root/.cache/uv uv pip install --system httpx==0.28.1",
    "LABEL org.opencontainers.image.vendor=example",
    "EXPOSE 8080",
    "RUN python -m compileall -q /app",
)


def seeds(guide: Path) -> list[str]:
    texts = [p.read_text() for p in sorted((REPO / "tests" / "golden").glob("*/*/Dockerfile*"))]
    texts += [p.read_text() for p in sorted((REPO / "examples").glob("*/Dockerfile*"))]
    if guide.is_file():
        blocks = re.findall(r"```dockerfile\n(.*?)```", guide.read_text(), re.DOTALL)
        texts += [b for b in blocks if b.lstrip().startswith(("FROM", "#"))]
    return texts


def vary(text: str, rng: random.Random, number: int) -> str:
    lines = text.splitlines()
    insert_at = max(1, len(lines) - 2)
    extra = [rng.choice(EXTRA_LINES) for _ in range(rng.randint(0, 12))]
    lines[insert_at:insert_at] = [*extra, f"# variant {number}"]
    out = "\n".join(lines) + "\n"
    return out.replace("3.13", rng.choice(("3.12", "3.13", "3.14")))


def corpus(directory: Path, count: int, guide: Path) -> list[Path]:
    rng = random.Random(20261124)  # noqa: S311 - a reproducible corpus, not security
    base = seeds(guide)
    paths = []
    for number in range(count):
        path = directory / f"{number:04d}.Dockerfile"
        path.write_text(vary(base[number % len(base)], rng, number))
        paths.append(path)
    return paths


def install(directory: Path) -> Path:
    """Build this checkout's wheel and install it, bytecode compiled, into a new venv."""
    dist, venv = directory / "dist", directory / "venv"
    _uv("build", "--wheel", "--quiet", "--out-dir", str(dist), str(REPO))
    _uv("venv", "--quiet", "--python", sys.executable, str(venv))
    wheels = [str(p) for p in dist.glob("*.whl")]
    _uv("pip", "install", "--quiet", "--compile-bytecode", "--python", str(venv / "bin" / "python"),
        *wheels)  # fmt: skip
    return venv / "bin" / "uvdock"


def _uv(*args: str) -> None:
    uv = os.environ.get("UV") or shutil.which("uv") or "uv"
    # With the project venv synced, uv's cache holds every dependency: no network needed.
    if subprocess.run([uv, *args, "--offline"], check=False).returncode != 0:
        subprocess.run([uv, *args], check=True)


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--per-file", type=int, default=100)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--guide", type=Path, default=DEFAULT_GUIDE)
    parser.add_argument(
        "--uvdock", type=Path, help="the uvdock executable to time (default: a fresh install)"
    )
    args = parser.parse_args(argv)
    hadolint = [str(BIN / "hadolint"), "--no-fail"]
    with tempfile.TemporaryDirectory(prefix="uvdock-lint-bench-") as tmp:
        executable = args.uvdock or install(Path(tmp) / "install")
        uvdock = [str(executable), "lint", "--fail-level", "error"]
        version = subprocess.run(
            [str(executable.parent / "python"), "-VV"], capture_output=True, text=True, check=False
        ).stdout.strip()
        print(f"uvdock: {executable} ({version or 'Python unknown'})")
        corpus_dir = Path(tmp) / "corpus"
        corpus_dir.mkdir()
        paths = corpus(corpus_dir, args.files, args.guide)
        names = [str(p) for p in paths]
        lines = sum(len(p.read_text().splitlines()) for p in paths)
        per = lines / len(paths)
        print(f"corpus: {len(paths)} Dockerfiles, {lines} lines ({per:.0f} per file)")
        # A crashing linter is quick: time only one that reports on every file.
        check = subprocess.run([*uvdock, *names], capture_output=True, text=True, check=False)
        summary = f"in {len(names)} files"
        if check.returncode not in {0, 1} or check.stderr or summary not in check.stdout:
            sys.exit(f"uvdock does not lint the corpus cleanly:\n{check.stderr[-2000:]}")
        results: dict[str, dict[str, float]] = {}
        for tool, command in (("hadolint", hadolint), ("uvdock", uvdock)):
            batch = statistics.median(timed([*command, *names]) for _ in range(args.reps))
            sample = names[: args.per_file]
            per_file = statistics.median(
                sum(timed([*command, name]) for name in sample) / len(sample)
                for _ in range(args.reps)
            )
            results[tool] = {"batch_s": batch, "per_file_s": per_file}
            print(
                f"{tool:9} batch: {batch:6.2f} s ({len(paths) / batch:7.0f} files/s)   "
                f"one process per file: {per_file * 1000:6.1f} ms/file"
            )
        h, u = results["hadolint"], results["uvdock"]
        print(
            f"hadolint/uvdock time ratio: batch {h['batch_s'] / u['batch_s']:.2f}x, "
            f"per file {h['per_file_s'] / u['per_file_s']:.2f}x (above 1: uvdock is faster)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
