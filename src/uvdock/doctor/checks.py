"""Checks of the local build environment, each an ok / note / warning / error ``Check``.

Docker client and engine, buildx builders, compose, binfmt emulation,
registry credentials (presence only: secrets are never read into a result),
free disk space of Docker's data root, and the project's plan problems.
Every check returns values; nothing here prints.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from uvdock.api import plan_project
from uvdock.docker.cli import DockerCLI
from uvdock.errors import UvdockError

Status = Literal["ok", "note", "warning", "error"]

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
MIN_COMPOSE = (2, 22)
MIN_FREE_BYTES = 5 * 1024**3
BINFMT_FIX = (
    "apt-get install qemu-user-static binfmt-support (or, where Docker Hub is reachable: "
    "docker run --privileged --rm tonistiigi/binfmt --install all)"
)
# host machine -> (the foreign platform worth emulating, its binfmt_misc handler)
_FOREIGN = {
    "x86_64": ("linux/arm64", "qemu-aarch64"),
    "amd64": ("linux/arm64", "qemu-aarch64"),
    "aarch64": ("linux/amd64", "qemu-x86_64"),
    "arm64": ("linux/amd64", "qemu-x86_64"),
}
_PROJECT_FILES = ("pyproject.toml", "uv.lock", "requirements.txt")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def to_data(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


def has_errors(checks: tuple[Check, ...] | list[Check]) -> bool:
    return any(c.status == "error" for c in checks)


def parse_version(text: str) -> tuple[int, ...] | None:
    """``"2.26.1-4"`` -> ``(2, 26, 1)``; ``"v0.13.1"`` -> ``(0, 13, 1)``; None when none."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if match is None:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def docker_checks(docker: DockerCLI) -> list[Check]:
    """Client and engine versions; the engine not answering is an error."""
    try:
        done = docker.probe("version", "--format", "{{json .}}", timeout=30)
    except UvdockError as err:
        return [
            Check(
                name="docker",
                status="error",
                detail=err.message,
                fix="install the Docker CLI and put docker on PATH",
            )
        ]
    try:
        info: Any = json.loads(done.stdout.strip().splitlines()[0]) if done.stdout.strip() else {}
    except (json.JSONDecodeError, IndexError):
        info = {}
    client = (info.get("Client") or {}).get("Version") if isinstance(info, dict) else None
    server = (info.get("Server") or {}).get("Version") if isinstance(info, dict) else None
    checks = [
        Check(name="docker client", status="ok", detail=client)
        if client
        else Check(
            name="docker client",
            status="error",
            detail=done.tail(1) or "no version",
            fix="install the Docker CLI",
        )
    ]
    if server:
        checks.append(Check(name="docker engine", status="ok", detail=server))
    else:
        checks.append(
            Check(
                name="docker engine",
                status="error",
                detail="not answering: " + (done.tail(1) or "no reply"),
                fix="start it (e.g. `dockerd &` or `systemctl start docker`), check DOCKER_HOST",
            )
        )
    return checks


def parse_buildx_ls(stdout: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """``docker buildx ls --format json`` lines -> ``[(name, driver, platforms)]``."""
    builders: list[tuple[str, str, tuple[str, ...]]] = []
    for line in stdout.splitlines():
        if not line.strip().startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if any(b[0] == entry.get("Name") for b in builders):
            continue  # some clients print a builder twice
        platforms: list[str] = []
        for node in entry.get("Nodes") or ():
            platforms.extend(p for p in node.get("Platforms") or () if p not in platforms)
        builders.append(
            (str(entry.get("Name", "?")), str(entry.get("Driver", "?")), tuple(platforms))
        )
    return builders


def buildx_checks(docker: DockerCLI) -> list[Check]:
    """buildx's version, then each builder with its driver and platforms."""
    try:
        version = docker.probe("buildx", "version", timeout=30)
    except UvdockError as err:
        return [Check(name="buildx", status="error", detail=err.message)]
    if not version.ok:
        return [
            Check(
                name="buildx",
                status="error",
                detail="docker buildx is not installed",
                fix="install the buildx plugin (Debian: docker-buildx; Docker's repo: "
                "docker-buildx-plugin)",
            )
        ]
    checks = [Check(name="buildx", status="ok", detail=version.stdout.strip())]
    listed = docker.probe("buildx", "ls", "--format", "json", timeout=60)
    builders = parse_buildx_ls(listed.stdout) if listed.ok else []
    if not builders:
        plain = docker.probe("buildx", "ls", timeout=60)
        detail = plain.stdout.strip().splitlines()[1:] if plain.ok else []
        checks.append(
            Check(
                name="builders",
                status="warning" if not plain.ok else "ok",
                detail="; ".join(" ".join(line.split()) for line in detail) or plain.tail(1),
                fix="" if plain.ok else "docker buildx ls",
            )
        )
        return checks
    for name, driver, platforms in builders:
        checks.append(
            Check(
                name=f"builder {name}",
                status="ok",
                detail=f"driver {driver}; " + (", ".join(platforms) or "no platforms"),
            )
        )
    return checks


def compose_check(docker: DockerCLI) -> Check:
    """``docker compose`` >= 2.22 (``develop.watch``)."""
    fix = (
        "install the compose plugin (Debian: docker-compose; Docker's repo: "
        "docker-compose-plugin) for `docker compose up --watch`"
    )
    try:
        done = docker.probe("compose", "version", "--short", timeout=30)
    except UvdockError as err:
        return Check(name="compose", status="warning", detail=err.message, fix=fix)
    if not done.ok:
        return Check(
            name="compose", status="warning", detail="docker compose is not installed", fix=fix
        )
    text = done.stdout.strip()
    version = parse_version(text)
    if version is None or version[:2] < MIN_COMPOSE:
        return Check(
            name="compose",
            status="warning",
            detail=f"{text} (develop.watch needs 2.22)",
            fix="upgrade docker compose to 2.22 or later",
        )
    return Check(name="compose", status="ok", detail=text)


def binfmt_check(machine: str | None = None, binfmt_dir: Path = BINFMT_DIR) -> Check:
    """Whether the foreign platform (arm64 on x86_64, amd64 on arm64) can run under qemu."""
    machine = (machine or platform.machine()).lower()
    foreign = _FOREIGN.get(machine)
    if foreign is None:
        return Check(name="emulation", status="note", detail=f"no check for a {machine} host")
    target, handler = foreign
    path = binfmt_dir / handler
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return Check(
            name="emulation",
            status="warning",
            detail=f"{target} emulation missing (no {path})",
            fix=BINFMT_FIX,
        )
    fields = dict(line.split(" ", 1) for line in lines[1:] if " " in line)
    flags = fields.get("flags:", "").strip()
    if not lines or lines[0].strip() != "enabled":
        return Check(
            name="emulation",
            status="warning",
            detail=f"{target} emulation disabled ({path})",
            fix=f"echo 1 > {path}, or " + BINFMT_FIX,
        )
    interpreter = fields.get("interpreter", "").strip()
    detail = f"{target} via {handler} ({interpreter}, flags {flags or 'none'})"
    if "F" not in flags:
        return Check(
            name="emulation",
            status="warning",
            detail=detail + ": without the F flag containers cannot find the interpreter",
            fix=BINFMT_FIX,
        )
    return Check(name="emulation", status="ok", detail=detail)


def _registry_host(key: str) -> str:
    host = re.sub(r"^[a-z]+://", "", key.strip().lower()).split("/", 1)[0]
    return "docker.io" if host in {"index.docker.io", "registry-1.docker.io"} else host


def credentials_check(registry: str, environ: Mapping[str, str] | None = None) -> Check:
    """Whether Docker has credentials for ``registry``: where they are, never what they are."""
    env = os.environ if environ is None else environ
    config_dir = Path(env["DOCKER_CONFIG"]) if env.get("DOCKER_CONFIG") else None
    if config_dir is None:
        config_dir = Path(env.get("HOME") or Path.home()) / ".docker"
    path = config_dir / "config.json"
    name = f"credentials {registry}"
    login = f"docker login {registry}"
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        return Check(name=name, status="warning", detail=f"no {path}", fix=login)
    except (OSError, ValueError) as err:
        return Check(
            name=name,
            status="warning",
            detail=f"{path} unreadable ({type(err).__name__})",
            fix=login,
        )
    if not isinstance(config, dict):
        return Check(name=name, status="warning", detail=f"{path} is not a JSON object", fix=login)
    wanted = _registry_host(registry)
    helpers = config.get("credHelpers")
    if isinstance(helpers, dict):
        for key, helper in helpers.items():
            if _registry_host(str(key)) == wanted:
                return Check(
                    name=name,
                    status="ok",
                    detail=f"credential helper docker-credential-{helper} ({path})",
                )
    auths = config.get("auths")
    if isinstance(auths, dict):
        for key, entry in auths.items():
            if _registry_host(str(key)) != wanted or not isinstance(entry, dict):
                continue
            if entry.get("auth") or entry.get("identitytoken") or entry.get("username"):
                return Check(name=name, status="ok", detail=f"stored in {path} (auths)")
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        return Check(
            name=name,
            status="note",
            detail=f"credsStore docker-credential-{store} may hold them (not queried)",
            fix=f"{login} if a pull or push is refused",
        )
    return Check(name=name, status="warning", detail=f"none in {path}", fix=login)


def disk_check(root: str | None, usage: Callable[[str], Any] = shutil.disk_usage) -> Check:
    """Free space where the engine keeps images and build cache; warn below 5 GB."""
    if not root:
        return Check(
            name="disk",
            status="warning",
            detail="Docker's data root is unknown",
            fix="check that the engine answers (`docker info`)",
        )
    try:
        free = int(usage(root).free)
    except OSError:
        return Check(
            name="disk", status="note", detail=f"{root} is not on this machine (remote engine?)"
        )
    detail = f"{free / 1024**3:.1f} GB free in {root}"
    if free < MIN_FREE_BYTES:
        return Check(
            name="disk",
            status="warning",
            detail=detail + " (less than 5 GB)",
            fix="docker system prune (and docker builder prune) to free space",
        )
    return Check(name="disk", status="ok", detail=detail)


def docker_root(docker: DockerCLI) -> str | None:
    try:
        done = docker.probe("info", "--format", "{{.DockerRootDir}}", timeout=30)
    except UvdockError:
        return None
    if not done.ok:
        return None
    return done.stdout.strip() or None


def project_checks(path: str | Path) -> list[Check]:
    """The plan's problems for the project at ``path``; no project there is a note."""
    root = Path(path)
    if not root.is_dir() or not any((root / name).is_file() for name in _PROJECT_FILES):
        return [
            Check(
                name="project",
                status="note",
                detail=f"no project in {root} (skipped)",
                fix="pass --project DIR to check one",
            )
        ]
    try:
        plan = plan_project(root, options={})
    except UvdockError as err:
        return [Check(name="project", status="error", detail=err.message, fix=err.hint or "")]
    checks = [
        Check(
            name="project",
            status="ok",
            detail=f"{plan.project.name} in {root}: {len(plan.problems)} plan problem(s)",
        )
    ]
    for problem in plan.problems:
        checks.append(
            Check(
                name="plan", status=problem.severity, detail=problem.message, fix=problem.hint or ""
            )
        )
    return checks


def environment_checks(
    docker: DockerCLI,
    *,
    registry: str | None = None,
    project: str | Path = ".",
    machine: str | None = None,
    binfmt_dir: Path = BINFMT_DIR,
    environ: Mapping[str, str] | None = None,
) -> tuple[Check, ...]:
    """Every check of the build environment, in the order the CLI shows them."""
    checks = docker_checks(docker)
    engine_up = not has_errors(checks)
    checks += buildx_checks(docker)
    checks.append(compose_check(docker))
    checks.append(binfmt_check(machine, binfmt_dir))
    if registry:
        checks.append(credentials_check(registry, environ))
    if engine_up:
        checks.append(disk_check(docker_root(docker)))
    checks += project_checks(project)
    return tuple(checks)
