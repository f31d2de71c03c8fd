"""Compare uvdock's generated Dockerfiles with a popular guide's, on an example project.

Run (from the repository root, with the test bed up: ``scripts/testbed.sh status``)::

    uv run --project . python benchmarks/compare_approaches.py [--reps 3] [--arm64]
        [--example examples/fastapi-app | benchmarks/examples/data-app]

The example (``--example``, default ``examples/fastapi-app``) must be a uv project with the
package ``app/`` served as ``uvicorn app.main:app``, a ``GET /health`` answering 200, and
uvdock's ``.dockerignore``.

Contenders (their Dockerfiles are written to ``benchmarks/contenders/`` on every run, each
with a header that says where it came from and what was changed):

- ``guide-official-basic``: the guide's first official-image Dockerfile ("Getting Started:
  Using Official UV Docker Images", the one with ``CMD``).
- ``guide-official-prod``: the guide's production official-image Dockerfile.
- ``guide-custom``: the guide's "Real-World Example: FastAPI Application" (the baseline of
  every ratio).
- ``uvdock-custom`` / ``uvdock-official``: ``uvdock init --approach custom|official``.

The guide's Dockerfiles are taken from the guide text unchanged except: image names mapped
onto the local stand-ins (``python:3.13-slim-bookworm`` -> the python stand-in,
``ghcr.io/astral-sh/uv:latest`` -> the uv 0.13.9 stand-in,
``ghcr.io/astral-sh/uv:python3.13-bookworm(-slim)`` -> the uv+python stand-in; the stand-ins
are Debian trixie, not bookworm), the ``# syntax=`` line removed (BuildKit would pull the
frontend image from a registry this machine cannot reach), and one functional edit: the RUN
that downloads from PyPI gets the BuildKit secret mount of this machine's CA and
``SSL_CERT_FILE`` pointing at it. Their bugs are kept: a contender that fails to build is a
result (reported with the reason), not an error of this script.

Method, per contender and repetition (each in a fresh copy of the example, which
keeps its .dockerignore: uvdock's, identical to what ``uvdock init`` regenerates):

1. cold build: ``docker builder prune -af`` first, so the BuildKit cache is empty. That also
   empties BuildKit cache mounts, so the uv download cache is COLD too: every cold build
   downloads the wheels from PyPI through this machine's proxy. The base images stay in the
   engine's image store (no registry pull is timed beyond resolving them on loopback).
2. image size (``docker image inspect .Size``, bytes as the engine reports them: the
   uncompressed size of all layers, base included) and layer count (``RootFS.Layers``).
   "Size over limit" compares it with the physical limit: the base image's size plus the
   installed dependencies and app, measured as ``du -sb /app/.venv`` in uvdock's custom
   image (where they are exactly that directory, bytecode included).
3. start-up: wall time from ``docker run -d`` (publishing on a random loopback port) to the
   first HTTP 200 on ``/health``, polling every 50 ms. Includes ``docker run``'s own overhead.
4. memory: ``docker stats --no-stream`` (the container's cgroup memory as the engine reports
   it, page cache of the container included) right after the first 200, and after 1,000
   GETs of ``/health`` over one keep-alive ``http.client`` connection.
5. warm rebuild after a one-line source edit (a comment appended to app/main.py).
6. rebuild after a "dependency change": changing uv.lock offline is not possible, so
   pyproject.toml's ``description`` is edited. That changes the file the dependency layer of
   every contender is keyed on (uvdock bind-mounts it, the guide copies it), without changing
   the resolution. The uv cache mount is warm at this point.
7. with ``--arm64``: one cold build for ``linux/arm64`` under qemu emulation (after a prune).

Figures are medians over the repetitions. Caveats: a noisy 2-core VM that other jobs may
share (expect +-20 %); PyPI is reached through a TLS-intercepting proxy, so cold builds
measure that network path; the stand-in images are not the official ones (the python
stand-in keeps its stdlib .pyc files, which the official image deletes, so the start-up of
all contenders benefits equally); ``docker builder prune -af`` also empties the cache of any
other build on this engine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
DEFAULT_EXAMPLE = REPO / "examples" / "fastapi-app"
BENCH = REPO / "benchmarks"
CONTENDERS_DIR = BENCH / "contenders"
RESULTS_DIR = BENCH / "results"
DEFAULT_GUIDE = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_03018ef736a4bf5c.txt"
PREFIX = "localhost:5000/standin"
PYTHON_STANDIN = f"{PREFIX}/library/python:3.13-slim-trixie"
UV_STANDIN = f"{PREFIX}/astral-sh/uv:0.13.9"
UV_PYTHON_STANDIN = f"{PREFIX}/astral-sh/uv:0.13.9-python3.13-trixie-slim"
# Longest first, so `python3.13-bookworm-slim` is not half-replaced as `python3.13-bookworm`.
IMAGE_MAP: tuple[tuple[str, str], ...] = (
    ("ghcr.io/astral-sh/uv:python3.13-bookworm-slim", UV_PYTHON_STANDIN),
    ("ghcr.io/astral-sh/uv:python3.13-bookworm", UV_PYTHON_STANDIN),
    ("ghcr.io/astral-sh/uv:latest", UV_STANDIN),
    ("python:3.13-slim-bookworm", PYTHON_STANDIN),
)
CA_MOUNT = "--mount=type=secret,id=ca_bundle,target=/run/secrets/ca_bundle.pem"
CA_ENV = "SSL_CERT_FILE=/run/secrets/ca_bundle.pem"
IMAGE_REPO = "uvdock-bench"
# Containers run on a network of their own (a bridge created and removed by this script), so
# they do not depend on the engine's default bridge, which other jobs on this machine share.
NETWORK = "uvdock-bench"
BASELINE = "guide-custom"
# The contender whose /app/.venv measures "installed dependencies + app" for the size limit.
LIMIT_FROM = "uvdock-custom"
HTTP_OK = 200
POLL_S = 0.05
START_TIMEOUT_S = 60.0
REQUESTS = 1000


class BenchError(Exception):
    """An error of this script (not a contender's failure)."""


@dataclass(frozen=True)
class Contender:
    key: str
    title: str
    origin: str  # "guide" or "uvdock"
    heading: str = ""  # guide: the heading the Dockerfile follows
    approach: str = ""  # uvdock: custom | official


CONTENDERS: tuple[Contender, ...] = (
    Contender(
        "guide-official-basic",
        "guide: official image, basic",
        "guide",
        heading="### Using Official UV Docker Images",
    ),
    Contender(
        "guide-official-prod",
        "guide: official image, production",
        "guide",
        heading="## Production Environment Setup",
    ),
    Contender(
        BASELINE,
        "guide: custom (FastAPI example)",
        "guide",
        heading="## Real-World Example: FastAPI Application",
    ),
    Contender("uvdock-custom", "uvdock: custom", "uvdock", approach="custom"),
    Contender("uvdock-official", "uvdock: official", "uvdock", approach="official"),
)


@dataclass
class Result:
    key: str
    title: str
    status: str = "ok"  # ok | failed
    reason: str = ""
    dockerfile: str = ""
    runs: list[dict[str, float]] = field(default_factory=list)
    median: dict[str, float] = field(default_factory=dict)
    arm64_cold_build_s: float | None = None
    arm64_reason: str = ""


def run(
    cmd: list[str], *, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


# --- contenders' Dockerfiles ---------------------------------------------------------------


def guide_block(guide: str, heading: str) -> str:
    """The first ```dockerfile block after `heading` in the guide's text."""
    start = guide.find(heading)
    if start < 0:
        raise BenchError(f"heading {heading!r} not found in the guide")
    match = re.compile(r"```dockerfile\n(.*?)```", re.DOTALL).search(guide, start)
    if match is None:
        raise BenchError(f"no dockerfile block after {heading!r}")
    return match.group(1)


def add_ca(text: str) -> tuple[str, int]:
    """Give each RUN that runs `uv pip install` the CA secret mount and SSL_CERT_FILE."""
    out: list[str] = []
    edits = 0
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        j = i
        while lines[j].rstrip().endswith("\\") and j + 1 < len(lines):
            j += 1
        block = lines[i : j + 1]
        if block[0].startswith("RUN ") and any("uv pip install" in ln for ln in block):
            block[0] = "RUN " + CA_MOUNT + " " + block[0][len("RUN ") :]
            block = [ln.replace("uv pip install", f"{CA_ENV} uv pip install") for ln in block]
            edits += 1
        out.extend(block)
        i = j + 1
    return "\n".join(out) + "\n", edits


def guide_dockerfile(guide: str, contender: Contender, guide_path: Path) -> str:
    text = guide_block(guide, contender.heading)
    text = "".join(ln for ln in text.splitlines(keepends=True) if not ln.startswith("# syntax="))
    mapped: list[str] = []
    for official, standin in IMAGE_MAP:
        if official in text:
            text = text.replace(official, standin)
            mapped.append(f"#   {official} -> {standin}")
    text, edits = add_ca(text.lstrip("\n"))
    if edits != 1:
        raise BenchError(f"{contender.key}: expected one downloading RUN, found {edits}")
    header = [
        f"# Contender {contender.key}: from the guide ({guide_path}),",
        f'# the first Dockerfile after "{contender.heading.lstrip("# ")}".',
        "# Changed: the `# syntax=` line removed (if any); images mapped onto the stand-ins:",
        *mapped,
        "# and the one functional edit: the RUN that downloads from PyPI gets",
        f"#   {CA_MOUNT} and {CA_ENV}",
        "# (this machine reaches PyPI only through its CA). Nothing else changed.",
        "",
        "",
    ]
    return "\n".join(header) + text


def uvdock_dockerfile(contender: Contender, example: Path, work: Path) -> str:
    copy = work / f"gen-{contender.approach}"
    copy_example(example, copy)
    uvdock = Path(sys.executable).with_name("uvdock")
    cmd = [str(uvdock)] if uvdock.exists() else ["uv", "run", "--project", str(REPO), "uvdock"]
    args = ["init", str(copy), "--approach", contender.approach, "--dockerfile", "Dockerfile"]
    args += ["--image-prefix", PREFIX, "--ca-bundle", ca_file(), "--force"]
    run(cmd + args, cwd=REPO)
    if (copy / ".dockerignore").read_text().splitlines()[1:] != (
        (example / ".dockerignore").read_text().splitlines()[1:]
    ):
        raise BenchError("uvdock's regenerated .dockerignore differs from the example's")
    header = [
        f"# Contender {contender.key}: generated by this script with",
        f"#   uvdock init <copy of {rel(example)}> --approach {contender.approach}",
        f"#     --dockerfile Dockerfile --image-prefix {PREFIX} --ca-bundle $SSL_CERT_FILE --force",
        "# Unchanged (this header added).",
        "",
        "",
    ]
    return "\n".join(header) + (copy / "Dockerfile").read_text()


def write_contenders(guide_path: Path, example: Path, work: Path) -> dict[str, str]:
    if not guide_path.is_file():
        raise BenchError(f"guide text not found: {guide_path} (pass --guide)")
    guide = guide_path.read_text()
    out_dir = contenders_dir(example)
    out_dir.mkdir(parents=True, exist_ok=True)
    texts: dict[str, str] = {}
    for contender in CONTENDERS:
        if contender.origin == "guide":
            text = guide_dockerfile(guide, contender, guide_path)
        else:
            text = uvdock_dockerfile(contender, example, work)
        (out_dir / f"{contender.key}.Dockerfile").write_text(text)
        texts[contender.key] = text
    return texts


# --- building and measuring ----------------------------------------------------------------


def ca_file() -> str:
    ca = os.environ.get("SSL_CERT_FILE", "")
    if not ca or not Path(ca).is_file():
        raise BenchError("SSL_CERT_FILE must name this machine's CA bundle")
    return ca


def rel(path: Path) -> str:
    """`path` relative to the repository if it is inside it, else as given."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def copy_example(example: Path, dest: Path) -> None:
    shutil.copytree(
        example,
        dest,
        ignore=shutil.ignore_patterns(".venv", "__pycache__", ".pytest_cache", ".ruff_cache"),
    )


def prune() -> None:
    run(["docker", "builder", "prune", "-af"])


def build(ctx: Path, tag: str, *, platform: str | None = None) -> tuple[float, str]:
    """Build `ctx`; return (seconds, "") or (seconds, failure reason)."""
    cmd = ["docker", "buildx", "build", "--progress", "plain", "--network", "host"]
    cmd += ["--secret", f"id=ca_bundle,src={ca_file()}", "-t", tag, "--load"]
    if platform:
        cmd += ["--platform", platform]
    t0 = time.perf_counter()
    proc = run([*cmd, str(ctx)], check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode == 0:
        return seconds, ""
    return seconds, failure_reason(proc.stderr)


def failure_reason(log: str) -> str:
    """The first `error:` line of a failed build's log (BuildKit's step prefix removed)."""
    lines = [re.sub(r"^#\d+ [\d.]+ ", "", ln).strip() for ln in log.splitlines()]
    lines = [ln for ln in lines if ln]
    for pattern in (r"^error:", r"\bERROR\b", r"\berror\b"):
        found = [ln for ln in lines if re.search(pattern, ln)]
        if found:
            return found[0][:300]
    return " | ".join(lines[-3:])[:300]


def inspect(tag: str) -> tuple[float, int]:
    out = run(["docker", "image", "inspect", "-f", "{{.Size}} {{len .RootFS.Layers}}", tag])
    size, layers = out.stdout.split()
    return int(size) / 1e6, int(layers)


MEM_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "kB": 1e3, "MB": 1e6, "GB": 1e9}


def venv_mb(tag: str) -> float:
    """Apparent size of the installed dependencies and app (``du -sb /app/.venv``), in MB."""
    out = run(["docker", "run", "--rm", "--entrypoint", "du", tag, "-sb", "/app/.venv"])
    return int(out.stdout.split()[0]) / 1e6


def add_physical_limit(results: list[Result], meta: dict[str, object]) -> None:
    """Each image's size over the physical limit: base image + installed deps and app.

    The installed dependencies and app are measured once, in uvdock's custom image, where
    they are exactly ``/app/.venv`` (bytecode included, since every contender compiles).
    """
    source = next((r for r in results if r.key == LIMIT_FROM and r.status == "ok"), None)
    if source is None:
        return
    base_mb, _ = inspect(PYTHON_STANDIN)
    limit = base_mb + source.median["venv_mb"]
    meta["physical_limit_mb"] = {"base_image": base_mb, "venv": source.median["venv_mb"]}
    for result in results:
        if result.status == "ok":
            result.median["over_limit_pct"] = (result.median["size_mb"] / limit - 1) * 100


def memory_mib(container: str) -> float:
    out = run(["docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", container])
    used = out.stdout.split("/")[0].strip()
    match = re.fullmatch(r"([\d.]+)\s*([A-Za-z]+)", used)
    if match is None or match.group(2) not in MEM_UNITS:
        raise BenchError(f"cannot read memory usage {used!r}")
    return float(match.group(1)) * MEM_UNITS[match.group(2)] / 2**20


def get_health(conn: http.client.HTTPConnection) -> int:
    conn.request("GET", "/health")
    response = conn.getresponse()
    response.read()
    return response.status


def measure_runtime(tag: str) -> dict[str, float]:
    t0 = time.perf_counter()
    cmd = ["docker", "run", "-d", "--network", NETWORK, "-p", "127.0.0.1::8000", tag]
    cid = run(cmd).stdout.strip()
    try:
        port_line = run(["docker", "port", cid, "8000/tcp"]).stdout.splitlines()[0]
        port = int(port_line.rsplit(":", 1)[1])
        start_ms = -1.0
        while time.perf_counter() - t0 < START_TIMEOUT_S:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                status = get_health(conn)
                conn.close()
            except (OSError, http.client.HTTPException):
                status = 0
            if status == HTTP_OK:
                start_ms = (time.perf_counter() - t0) * 1000
                break
            time.sleep(POLL_S)
        if start_ms < 0:
            logs = run(["docker", "logs", "--tail", "5", cid], check=False)
            raise BenchError(f"{tag}: no 200 on /health in {START_TIMEOUT_S:.0f} s: {logs}")
        mem_start = memory_mib(cid)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        t1 = time.perf_counter()
        for _ in range(REQUESTS):
            if get_health(conn) != HTTP_OK:
                raise BenchError(f"{tag}: /health stopped answering 200")
        requests_s = time.perf_counter() - t1
        conn.close()
        mem_after = memory_mib(cid)
    finally:
        run(["docker", "rm", "-f", cid], check=False)
    return {
        "start_ms": start_ms,
        "mem_start_mib": mem_start,
        "mem_after_1k_mib": mem_after,
        "requests_1k_s": requests_s,
    }


def append(path: Path, text: str) -> None:
    with path.open("a") as f:
        f.write(text)


def one_repetition(
    contender: Contender, dockerfile: str, example: Path, work: Path, rep: int
) -> Result:
    result = Result(contender.key, contender.title, dockerfile=f"contenders/{contender.key}")
    ctx = work / f"{contender.key}-{rep}"
    copy_example(example, ctx)
    (ctx / "Dockerfile").write_text(dockerfile)
    tag = f"{IMAGE_REPO}/{contender.key}:rep{rep}"
    try:
        prune()
        cold, reason = build(ctx, tag)
        if reason:
            result.status, result.reason = "failed", reason
            return result
        size_mb, layers = inspect(tag)
        figures: dict[str, float] = {"cold_build_s": cold, "size_mb": size_mb, "layers": layers}
        if contender.key == LIMIT_FROM:
            figures["venv_mb"] = venv_mb(tag)
        figures |= measure_runtime(tag)
        append(ctx / "app" / "main.py", "# benchmark: one-line source edit\n")
        figures["warm_build_s"], reason = build(ctx, tag)
        if reason:
            raise BenchError(f"{contender.key}: warm rebuild failed: {reason}")
        pyproject = ctx / "pyproject.toml"
        text = pyproject.read_text()
        pyproject.write_text(text.replace('description = "', 'description = "(benchmark) ', 1))
        figures["dep_build_s"], reason = build(ctx, tag)
        if reason:
            raise BenchError(f"{contender.key}: rebuild after the pyproject edit failed: {reason}")
        result.runs.append(figures)
    finally:
        run(["docker", "image", "rm", "-f", tag], check=False)
        shutil.rmtree(ctx, ignore_errors=True)
    return result


def arm64_cold(
    contender: Contender, dockerfile: str, example: Path, work: Path
) -> tuple[float | None, str]:
    ctx = work / f"{contender.key}-arm64"
    copy_example(example, ctx)
    (ctx / "Dockerfile").write_text(dockerfile)
    tag = f"{IMAGE_REPO}/{contender.key}:arm64"
    try:
        prune()
        seconds, reason = build(ctx, tag, platform="linux/arm64")
    finally:
        run(["docker", "image", "rm", "-f", tag], check=False)
        shutil.rmtree(ctx, ignore_errors=True)
    return (None, reason) if reason else (seconds, "")


def bench(
    contender: Contender, dockerfile: str, example: Path, work: Path, reps: int, console: Console
) -> Result:
    dockerfile_path = contenders_dir(example) / f"{contender.key}.Dockerfile"
    result = Result(
        contender.key, contender.title, dockerfile=str(dockerfile_path.relative_to(BENCH))
    )
    for rep in range(1, reps + 1):
        console.print(f"[bold]{contender.key}[/] repetition {rep}/{reps} ...")
        one = one_repetition(contender, dockerfile, example, work, rep)
        if one.status == "failed":
            # A build failure is deterministic: one failed cold build says it all.
            result.status, result.reason = one.status, one.reason
            console.print(f"  [red]failed to build[/]: {one.reason}")
            return result
        result.runs.extend(one.runs)
        console.print("  " + ", ".join(f"{k}={v:.2f}" for k, v in one.runs[0].items()))
    keys = result.runs[0].keys()
    result.median = {k: statistics.median(r[k] for r in result.runs) for k in keys}
    return result


# --- output --------------------------------------------------------------------------------

COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("cold_build_s", "cold build (s)", "{:.1f}"),
    ("warm_build_s", "rebuild, source edit (s)", "{:.1f}"),
    ("dep_build_s", "rebuild, pyproject edit (s)", "{:.1f}"),
    ("size_mb", "image size (MB)", "{:.0f}"),
    ("over_limit_pct", "size over limit", "{:+.1f} %"),
    ("layers", "layers", "{:.0f}"),
    ("start_ms", "start to 200 (ms)", "{:.0f}"),
    ("mem_start_mib", "memory at start (MiB)", "{:.1f}"),
    ("mem_after_1k_mib", "memory after 1k req (MiB)", "{:.1f}"),
    ("requests_1k_s", "1k requests (s)", "{:.2f}"),
    ("arm64_cold_build_s", "arm64 cold build (s)", "{:.0f}"),
)


def cells(result: Result, base: Result | None) -> list[str]:
    if result.status != "ok":
        return [f"failed: {result.reason}"] + [""] * (len(COLUMNS) - 1)
    out: list[str] = []
    for key, _, fmt in COLUMNS:
        if key == "arm64_cold_build_s":
            value = result.arm64_cold_build_s
            ref = base.arm64_cold_build_s if base else None
            if value is None:
                out.append(f"failed: {result.arm64_reason}" if result.arm64_reason else "-")
                continue
        elif key not in result.median:
            out.append("-")
            continue
        else:
            value = result.median[key]
            # A percentage over the limit is compared as it is, not as a ratio.
            has_ref = base and base.status == "ok" and key != "over_limit_pct"
            ref = base.median.get(key) if base and has_ref else None
        text = fmt.format(value)
        if ref and result.key != BASELINE:
            text += f" ({value / ref:.2f}x)"
        out.append(text)
    return out


def render(results: list[Result], meta: dict[str, object]) -> tuple[Table, str]:
    base = next((r for r in results if r.key == BASELINE), None)
    table = Table(title=f"uvdock vs the guide, {meta['example']}, median of {meta['reps']}")
    table.add_column("contender")
    for _, label, _ in COLUMNS:
        table.add_column(label, justify="right")
    md = ["| contender | " + " | ".join(label for _, label, _ in COLUMNS) + " |"]
    md.append("| --- " * (len(COLUMNS) + 1) + "|")
    for result in results:
        row = cells(result, base)
        table.add_row(result.title, *row)
        md.append(f"| {result.title} | " + " | ".join(c.replace("|", "/") for c in row) + " |")
    note = f"Ratios in parentheses: against `{BASELINE}` (the guide's FastAPI example)."
    return table, "\n".join(md) + "\n\n" + note + "\n"


def engine_info() -> dict[str, str]:
    fmt = "{{.ServerVersion}} {{.NCPU}} {{.MemTotal}}"
    version, ncpu, mem = run(["docker", "info", "-f", fmt]).stdout.split()
    return {"engine": version, "cpus": ncpu, "memory_bytes": mem}


def example_problem(example: Path) -> str:
    """Why `example` cannot be benchmarked, or "" if it can."""
    if not (example / "pyproject.toml").is_file() or not (example / "uv.lock").is_file():
        return "not a uv project (pyproject.toml + uv.lock)"
    if not (example / "app" / "main.py").is_file():
        return "has no app/main.py (the Dockerfiles run `uvicorn app.main:app`)"
    if not (example / ".dockerignore").is_file():
        return "has no .dockerignore"
    return ""


def contenders_dir(example: Path) -> Path:
    """benchmarks/contenders/ for the default example, a subdirectory named after any other."""
    return CONTENDERS_DIR if example == DEFAULT_EXAMPLE else CONTENDERS_DIR / example.name


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reps", type=int, default=3, help="repetitions per figure (median)")
    parser.add_argument("--arm64", action="store_true", help="also one emulated arm64 build")
    parser.add_argument("--guide", type=Path, default=DEFAULT_GUIDE, help="the guide's text")
    parser.add_argument(
        "--only", nargs="*", default=None, help="contender keys to run (default: all)"
    )
    parser.add_argument(
        "--example",
        type=Path,
        default=DEFAULT_EXAMPLE,
        help="the example project to build (default: examples/fastapi-app)",
    )
    args = parser.parse_args(argv)
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    problem = example_problem(args.example.resolve())
    if problem:
        parser.error(f"--example {args.example}: {problem}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=200)
    example: Path = args.example.resolve()
    started = dt.datetime.now(dt.UTC)
    try:
        run(["docker", "network", "rm", NETWORK], check=False)
        run(["docker", "network", "create", NETWORK])
        with tempfile.TemporaryDirectory(prefix="uvdock-bench-") as tmp:
            work = Path(tmp)
            texts = write_contenders(args.guide, example, work)
            console.print(f"contender Dockerfiles written to {rel(contenders_dir(example))}/")
            console.print(
                "images: python:3.13-slim-bookworm -> "
                f"{PYTHON_STANDIN}; ghcr.io/astral-sh/uv:latest -> {UV_STANDIN}; "
                f"ghcr.io/astral-sh/uv:python3.13-bookworm(-slim) -> {UV_PYTHON_STANDIN}"
            )
            console.print(
                "cold build = empty BuildKit cache (docker builder prune -af), which also "
                "empties uv's cache mount: the uv download cache is COLD in cold builds and "
                "warm in the two rebuilds."
            )
            results: list[Result] = []
            for contender in CONTENDERS:
                if args.only is not None and contender.key not in args.only:
                    continue
                result = bench(contender, texts[contender.key], example, work, args.reps, console)
                if args.arm64 and result.status == "ok":
                    console.print(f"[bold]{contender.key}[/] arm64 cold build (emulated) ...")
                    seconds, reason = arm64_cold(contender, texts[contender.key], example, work)
                    result.arm64_cold_build_s, result.arm64_reason = seconds, reason
                results.append(result)
    except BenchError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 1
    finally:
        run(["docker", "network", "rm", NETWORK], check=False)
    finished = dt.datetime.now(dt.UTC)
    meta: dict[str, object] = {
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "command": " ".join(["python", "benchmarks/compare_approaches.py", *sys.argv[1:]]),
        "example": rel(example),
        "reps": args.reps,
        "arm64": args.arm64,
        "baseline": BASELINE,
        "images": dict(IMAGE_MAP),
        "uv_cache_in_cold_build": "cold (builder prune empties cache mounts)",
        "dependency_change": "pyproject.toml description edited (uv.lock unchanged)",
        **engine_info(),
    }
    add_physical_limit(results, meta)
    table, markdown = render(results, meta)
    console.print(table)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = RESULTS_DIR / f"{started.date().isoformat()}-{example.name}"
    payload = {"meta": meta, "results": [asdict(r) for r in results]}
    stem.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
    header = f"# Results {started.date().isoformat()}, {meta['example']}\n\n"
    header += f"Command: `{meta['command']}`\n\n"
    stem.with_suffix(".md").write_text(header + markdown)
    console.print(f"wrote {stem.with_suffix('.json')} and {stem.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
