"""Building the planned image with Docker BuildKit (``docker buildx build``).

The Dockerfile is rendered from the plan into a temporary directory, not into
the project (a Dockerfile the user already has is used with ``--file``).
Secrets are passed as BuildKit secrets only. Several platforms: one build
when the builder can make an image index, else one build per platform pushed
to ``<tag>-<os>-<arch>`` and joined in the registry with ``imagetools``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tarfile
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal

from uvdock.builders.request import (
    BuildRequest,
    DockerArchive,
    OciLayout,
    Passthrough,
    Push,
)
from uvdock.docker.cli import DockerCLI
from uvdock.errors import ConfigError, UsageError
from uvdock.imageref import split_reference
from uvdock.plan.model import BuildPlan
from uvdock.render.dockerfile import render_dockerfile
from uvdock.render.dockerignore import render_dockerignore

Output = Literal["load", "push", "custom"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class BuildxOptions:
    """The request as buildx takes it (built from builders.request.BuildRequest)."""

    tag: str
    platforms: tuple[str, ...] = ()
    output: Output = "load"
    dockerfile: Path | None = None
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    builder: str | None = None
    network: str | None = None
    progress: str = "auto"
    output_spec: str | None = None  # --output passed through (output == "custom")
    no_cache: bool = False
    pull: bool = False  # check the registry for newer base images
    source_date_epoch: int | None = None
    reproducible: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class PlatformImage:
    platform: str
    digest: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class BuildResult:
    tag: str
    output: Output
    digest: str | None  # the index (or manifest) digest when pushed, the image id when loaded
    platforms: tuple[PlatformImage, ...]
    size: int | None
    seconds: float
    dockerfile: str

    def to_data(self) -> dict[str, object]:
        return {
            "tag": self.tag,
            "output": self.output,
            "digest": self.digest,
            "platforms": [{"platform": p.platform, "digest": p.digest} for p in self.platforms],
            "size": self.size,
            "seconds": round(self.seconds, 2),
            "dockerfile": self.dockerfile,
        }


def secret_args(plan: BuildPlan, environ: Mapping[str, str]) -> list[str]:
    """``--secret``/``--ssh`` flags for the plan; a missing secret is a clear usage error."""
    args: list[str] = []
    for secret in plan.secrets:
        if secret.id == "ca_bundle":
            path = Path(str(plan.settings.get("ca_bundle")))
            if not path.is_file():
                where = plan.settings.sourced("ca_bundle").source
                raise ConfigError(f"ca-bundle {path} ({where}) is not a file")
            args += ["--secret", f"id=ca_bundle,src={path}"]
        elif secret.id == "netrc":
            netrc = Path(environ.get("NETRC", Path.home() / ".netrc"))
            if netrc.is_file():
                args += ["--secret", f"id=netrc,src={netrc}"]
        elif secret.env:
            if not environ.get(secret.env):
                raise UsageError(
                    f"the build needs the secret {secret.env} ({secret.purpose})",
                    hint=f"export {secret.env}=... (it is passed as a BuildKit secret, never "
                    'stored in the image); an index that needs none: authenticate = "never"',
                )
            args += ["--secret", f"id={secret.id},env={secret.env}"]
    if plan.ssh:
        if not environ.get("SSH_AUTH_SOCK"):
            raise UsageError(
                "git+ssh dependencies need an SSH agent, but SSH_AUTH_SOCK is not set",
                hint="start one (`eval $(ssh-agent)`; `ssh-add`) or set [tool.uvdock] ssh = false",
            )
        args += ["--ssh", "default"]
    return args


def _platform_tag(tag: str, platform: str) -> str:
    """``name:tag-linux-arm64``: one platform's image of a multi-platform tag (no digest)."""
    parts = split_reference(tag, any_tag=True)
    return f"{parts.name}:{parts.tag or 'latest'}-{platform.replace('/', '-')}"


def _common_args(
    request: BuildxOptions, *, dockerfile: Path, secrets: list[str], streaming: bool
) -> list[str]:
    # Captured (not streamed) output must be plain, so a failure can show the step's own log.
    progress = request.progress if streaming else "plain"
    args = ["-f", str(dockerfile), *secrets, "--progress", progress]
    if request.network:
        args += ["--network", request.network]
    if request.builder:
        args += ["--builder", request.builder]
    for cache in request.cache_from:
        args += ["--cache-from", cache]
    for cache in request.cache_to:
        args += ["--cache-to", cache]
    if request.pull:
        args.append("--pull")
    if request.no_cache:
        args.append("--no-cache")
    if request.source_date_epoch is not None:
        args += ["--build-arg", f"SOURCE_DATE_EPOCH={request.source_date_epoch}"]
    return args


def _output_args(request: BuildxOptions, *, multi: bool) -> list[str]:
    if request.output == "custom" and request.output_spec:
        spec = request.output_spec
        if request.reproducible and "rewrite-timestamp" not in spec:
            spec += ",rewrite-timestamp=true"
        return (
            ["--output", spec, "--provenance=false"] if request.reproducible else ["--output", spec]
        )
    if request.output == "push":
        if request.reproducible:
            return ["--output", "type=registry,rewrite-timestamp=true", "--provenance=false"]
        return ["--push"]
    return [] if multi else ["--load"]


def _oci_digest(spec: str) -> str | None:
    """The manifest (or index) digest of an OCI tar written by ``--output type=oci,dest=``."""
    fields = dict(part.split("=", 1) for part in spec.split(",") if "=" in part)
    if fields.get("type") not in ("oci", "docker") or "dest" not in fields:
        return None
    try:
        with tarfile.open(fields["dest"]) as archive:
            member = archive.extractfile("index.json")
            if member is None:
                return None
            index = json.load(member)
    except (OSError, KeyError, tarfile.TarError, ValueError):
        return None
    manifests = index.get("manifests", [])
    return str(manifests[0]["digest"]) if manifests else None


def _rendered(plan: BuildPlan, scratch: Path) -> Path:
    """The plan's Dockerfile in ``scratch``, with the .dockerignore that applies beside it.

    BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile first, then the
    context's .dockerignore: the project's own file wins, else uvdock's.
    """
    dockerfile = scratch / "Dockerfile"
    dockerfile.write_text(render_dockerfile(plan, regenerate="uvdock build (rendered)"))
    own = plan.project.root / "Dockerfile.dockerignore"
    ignore = scratch / "Dockerfile.dockerignore"
    if plan.project.in_subdirectory and own.is_file():
        ignore.write_bytes(own.read_bytes())
    elif not (plan.project.context / ".dockerignore").exists():
        ignore.write_text(render_dockerignore(plan, regenerate="uvdock build (rendered)"))
    return dockerfile


def build_image(
    plan: BuildPlan,
    request: BuildxOptions,
    *,
    docker: DockerCLI,
    environ: Mapping[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build ``plan`` as ``request`` says; returns digests, size and time."""
    environ = os.environ if environ is None else environ
    if plan.errors:
        first = plan.errors[0]
        raise ConfigError(first.message, hint=first.hint)
    platforms = request.platforms
    if len(platforms) > 1 and request.output == "load":
        builder = docker.builder(request.builder)
        raise UsageError(
            f"{len(platforms)} platforms cannot be loaded into the local engine "
            f"(builder {builder.name}, driver {builder.driver})",
            hint="push them as one image with --push, or build one --platform at a time",
        )
    docker.check_engine()
    secrets = secret_args(plan, environ)
    root = plan.project.context
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="uvdock-build-") as scratch:
        if request.dockerfile is not None:
            dockerfile = request.dockerfile
        else:
            dockerfile = _rendered(plan, Path(scratch))
        common = _common_args(
            request, dockerfile=dockerfile, secrets=secrets, streaming=on_line is not None
        )
        results: list[PlatformImage] = []
        digest: str | None
        if len(platforms) > 1 and not docker.builder(request.builder).multi_platform:
            sources = []
            for platform in platforms:
                platform_tag = _platform_tag(request.tag, platform)
                docker.build(
                    [
                        *common,
                        "--platform",
                        platform,
                        "--provenance=false",
                        "--push",
                        "-t",
                        platform_tag,
                        str(root),
                    ],
                    on_line=on_line,
                )
                sources.append(platform_tag)
            docker.imagetools_create(tag=request.tag, sources=sources)
        else:
            flags = ["--platform", ",".join(platforms)] if platforms else []
            output = _output_args(request, multi=len(platforms) > 1)
            docker.build([*common, *flags, *output, "-t", request.tag, str(root)], on_line=on_line)
        if request.output == "custom":
            digest = _oci_digest(request.output_spec or "")
            results = [PlatformImage(platform=p, digest=None) for p in platforms]
            size = None
        elif request.output == "push":
            per_platform = docker.manifest_digests(request.tag)
            digest = docker.index_digest(request.tag)
            results = [PlatformImage(platform=p, digest=d) for p, d in per_platform.items()]
            if not results:  # one platform: the tag points at a manifest, not an index
                results = [PlatformImage(platform=",".join(platforms) or "native", digest=digest)]
            size = None
        else:
            digest = docker.image_id(request.tag)
            size = docker.image_size(request.tag)
            results = [PlatformImage(platform=p, digest=None) for p in platforms]
    return BuildResult(
        tag=request.tag,
        output=request.output,
        digest=digest,
        platforms=tuple(results),
        size=size,
        seconds=time.monotonic() - started,
        dockerfile=str(request.dockerfile or "(rendered from the plan)"),
    )


class DockerBuilder:
    """The :class:`~uvdock.builders.request.Builder` that runs ``docker buildx build``."""

    def __init__(
        self,
        *,
        docker: DockerCLI,
        environ: Mapping[str, str] | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> None:
        self._docker = docker
        self._environ = environ
        self._on_line = on_line

    def build(self, plan: BuildPlan, request: BuildRequest) -> BuildResult:
        output = request.output
        kind: Output = "load"
        spec = None
        if isinstance(output, Push):
            kind = "push"
        elif isinstance(output, OciLayout | DockerArchive | Passthrough):
            kind, spec = "custom", output.spec
        options = BuildxOptions(
            tag=request.tag,
            platforms=request.platforms,
            output=kind,
            output_spec=spec,
            no_cache=request.no_cache,
            pull=request.pull,
            source_date_epoch=request.source_date_epoch,
            reproducible=request.reproducible,
            dockerfile=request.dockerfile,
            cache_from=request.cache_from,
            cache_to=request.cache_to,
            builder=request.builder,
            network=request.network,
            progress=request.progress,
        )
        on_line = None if request.quiet else self._on_line
        return build_image(
            plan, options, docker=self._docker, environ=self._environ, on_line=on_line
        )
