"""``DockerCLI``: the docker commands uvdock runs, through the injectable runner.

Errors come back as uvdock errors with the next step in them: docker missing,
buildx missing, the engine not answering, a failed build (with its log tail).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from uvdock._proc import ProcessResult, Runner, default_runner, which
from uvdock.errors import ProcessFailedError, ToolNotFoundError


class BuildFailedError(ProcessFailedError):
    """``docker buildx build`` exited non-zero."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class BuilderInfo:
    name: str
    driver: str
    platforms: tuple[str, ...]

    @property
    def multi_platform(self) -> bool:
        """Whether one build can produce an image index (the docker driver cannot)."""
        return self.driver != "docker"


class PushFailedError(ProcessFailedError):
    """The image was built but the registry refused it or could not be reached."""


_STEP = re.compile(r"^#(\d+) ")


def _push_failure(output: str) -> tuple[str, str] | None:
    """(message, hint) when a build failed while pushing, else None."""
    errors = [line for line in output.splitlines() if "ERROR" in line]
    pushing = [line for line in output.splitlines() if " pushing " in line]
    if not pushing or not errors:
        return None
    reason = errors[-1].split("ERROR:", 1)[-1].strip()
    lowered = reason.lower()
    if any(word in lowered for word in ("denied", "unauthorized", "401", "403")):
        hint = (
            "the registry denied the push: log in with `docker login <registry>` and check the name"
        )
    elif any(
        word in lowered for word in ("connection refused", "no such host", "timeout", "dial tcp")
    ):
        hint = "the registry is unreachable: check its address and that it is running"
    else:
        hint = "check the registry address, that it is running, and `docker login`"
    return f"pushing failed: {reason}", hint


def failed_step_log(output: str, *, lines: int = 20) -> str:
    """The failing step's own log lines from buildx's plain progress, else the output's tail."""
    all_lines = output.strip().splitlines()
    failed = next(
        (m.group(1) for line in reversed(all_lines)
         if " ERROR" in line and (m := _STEP.match(line))),
        None,
    )  # fmt: skip
    if failed is None:
        return "\n".join(all_lines[-lines:])
    step = [line for line in all_lines if line.startswith(f"#{failed} ")]
    summary = [line for line in all_lines if not _STEP.match(line)][-3:]
    return "\n".join([*step[:1], *step[1:][-lines:], *summary])


def docker_binary() -> str:
    """The docker CLI uvdock runs: $UVDOCK_DOCKER, else ``docker`` on PATH (every caller)."""
    return os.environ.get("UVDOCK_DOCKER") or which("docker") or "docker"


class DockerCLI:
    def __init__(self, *, runner: Runner = default_runner, binary: str | None = None) -> None:
        self._runner = runner
        self._binary = binary or docker_binary()

    def _run(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        on_line: Callable[[str], None] | None = None,
        timeout: float | None = None,
    ) -> ProcessResult:
        return self._runner([self._binary, *args], env=env, on_line=on_line, timeout=timeout)

    def check_engine(self) -> str:
        """The engine version; a clear error when docker, the engine or buildx is missing."""
        if which(self._binary) is None and not Path(self._binary).exists():
            raise ToolNotFoundError(
                "docker not found",
                hint="install Docker (the engine and the buildx plugin) and put docker on PATH",
            )
        version = self._run("version", "--format", "{{.Server.Version}}", timeout=30)
        if not version.ok:
            raise ToolNotFoundError(
                "the Docker Engine is not answering: " + version.tail(1),
                hint="start it (e.g. `dockerd &` or `systemctl start docker`) and retry",
            )
        buildx = self._run("buildx", "version", timeout=30)
        if not buildx.ok:
            raise ToolNotFoundError(
                "docker buildx is not installed",
                hint="install the buildx plugin (Debian: docker-buildx; Docker's repo: "
                "docker-buildx-plugin)",
            )
        return version.stdout.strip()

    def builder(self, name: str | None) -> BuilderInfo:
        args = ["buildx", "inspect", *([name] if name else [])]
        done = self._run(*args, timeout=60)
        if not done.ok:
            raise ToolNotFoundError(
                f"buildx builder {name or '(default)'} not found: {done.tail(1)}",
                hint="list builders with `docker buildx ls`",
            )
        fields: dict[str, str] = {}
        for line in done.stdout.splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
        platforms = tuple(
            p.strip().rstrip("*") for p in fields.get("Platforms", "").split(",") if p.strip()
        )
        return BuilderInfo(
            name=fields.get("Name", name or "default"),
            driver=fields.get("Driver", "docker"),
            platforms=platforms,
        )

    def build(
        self,
        args: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> ProcessResult:
        done = self._run("buildx", "build", *args, env=env, on_line=on_line)
        if not done.ok:
            push = _push_failure(done.stdout + done.stderr)
            if push is not None:
                raise PushFailedError(push[0], hint=push[1])
            if "not supported for the docker driver" in done.stderr:
                raise BuildFailedError(
                    "this output is not supported by the builder's docker driver "
                    "(classic image store): "
                    + next(
                        (line for line in done.stderr.splitlines() if "not supported" in line),
                        done.tail(1),
                    ).strip(),
                    hint="enable Docker's containerd image store, or use a docker-container "
                    "builder (--builder); --load and --push work everywhere",
                )
            raise BuildFailedError(
                "docker buildx build failed:\n" + failed_step_log(done.stdout + done.stderr),
                hint="fix the failing step above; rerun with --progress plain for the full log",
            )
        return done

    def imagetools_create(self, *, tag: str, sources: Sequence[str]) -> None:
        done = self._run("buildx", "imagetools", "create", "-t", tag, *sources, timeout=600)
        if not done.ok:
            raise ProcessFailedError(
                f"joining the platform images into {tag} failed: {done.tail(3)}",
                hint="check the registry is reachable and accepts pushes",
            )

    def manifest_digests(self, reference: str) -> dict[str, str]:
        """``{"linux/amd64": "sha256:...", ...}`` of a pushed image (or index)."""
        done = self._run("buildx", "imagetools", "inspect", "--raw", reference, timeout=120)
        if not done.ok:
            raise ProcessFailedError(f"cannot inspect {reference}: {done.tail(2)}")
        raw = json.loads(done.stdout)
        if "manifests" not in raw:
            return {}
        result: dict[str, str] = {}
        for entry in raw.get("manifests", ()):
            platform = entry.get("platform", {})
            if platform.get("os") == "unknown":
                continue  # attestation manifests
            key = f"{platform.get('os')}/{platform.get('architecture')}"
            result[key] = entry["digest"]
        return result

    def index_digest(self, reference: str) -> str | None:
        """Digest of what ``reference`` points to in the registry (index or manifest)."""
        done = self._run("buildx", "imagetools", "inspect", reference, timeout=120)
        for line in done.stdout.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Digest":
                return value.strip()
        return None

    def image_size(self, reference: str) -> int | None:
        done = self._run("image", "inspect", "-f", "{{.Size}}", reference, timeout=60)
        return int(done.stdout.strip()) if done.ok and done.stdout.strip().isdigit() else None

    def image_id(self, reference: str) -> str | None:
        done = self._run("image", "inspect", "-f", "{{.Id}}", reference, timeout=60)
        return done.stdout.strip() if done.ok else None

    def probe(self, *args: str, timeout: float = 60) -> ProcessResult:
        """Run a docker command that may fail (``uvdock doctor``); the caller reads the result."""
        return self._run(*args, timeout=timeout)
