"""``uvdock build``: flags -> one BuildRequest -> ``api.build_project`` -> the result printed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from uvdock.api import build_project
from uvdock.builders.buildx import BuildResult, DockerBuilder
from uvdock.builders.daemonless import DaemonlessBuilder
from uvdock.builders.request import BuildRequest, insecure_hosts, parse_output
from uvdock.cli.options import given_settings, setting_options
from uvdock.cli.output import console, emit_json
from uvdock.cli.progress import engine_progress
from uvdock.docker.cli import DockerCLI

if TYPE_CHECKING:
    from uvdock.oci.engine import OciResult


@click.command(name="build")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=str))
@click.option("--tag", "-t", required=True, help="image reference to build, e.g. myapp:1.0.")
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    metavar="OS/ARCH",
    help="target platform(s): repeat or separate with commas (e.g. linux/amd64,linux/arm64).",
)
@click.option(
    "--push", "push", is_flag=True, help="push to the registry (needed for several platforms)."
)
@click.option("--load", "load", is_flag=True, help="load into the local engine (the default).")
@click.option(
    "--file",
    "-f",
    "dockerfile",
    type=click.Path(dir_okay=False, exists=True),
    help="use this Dockerfile instead of rendering one from the plan.",
)
@click.option("--cache-from", multiple=True, metavar="SPEC", help="passed to buildx (repeatable).")
@click.option("--cache-to", multiple=True, metavar="SPEC", help="passed to buildx (repeatable).")
@click.option(
    "--output",
    "-o",
    "output_spec",
    metavar="SPEC",
    help="buildx output instead of --load/--push, e.g. type=oci,dest=app.tar.",
)
@click.option("--no-cache", is_flag=True, help="build every step again (uv's cache mount stays).")
@click.option(
    "--pull",
    is_flag=True,
    help="ask the registry for the base image's tag now (docker: newer bases; oci: a tag "
    "resolved in the last 10 minutes is otherwise reused).",
)
@click.option(
    "--source-date-epoch",
    type=int,
    metavar="SECONDS",
    help="timestamp for the image (default: $SOURCE_DATE_EPOCH, else the last git commit).",
)
@click.option(
    "--reproducible",
    is_flag=True,
    help="clamp every file time to SOURCE_DATE_EPOCH (rewrite-timestamp) so the same "
    "inputs give the same digest; needs an output that supports it (see README).",
)
@click.option("--builder", metavar="NAME", help="buildx builder (e.g. a remote BuildKit).")
@click.option("--network", metavar="MODE", help="network for RUN steps (e.g. host).")
@click.option(
    "--progress",
    type=click.Choice(["auto", "plain", "quiet"]),
    default="auto",
    show_default=True,
    help="build progress output.",
)
@click.option(
    "--no-bytecode",
    is_flag=True,
    help="oci engine: leave out .pyc files (smaller image; the app compiles at start-up).",
)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--engine",
    type=click.Choice(["docker", "oci"]),
    default="docker",
    show_default=True,
    help="docker: docker buildx on the generated Dockerfile. oci: no daemon and no emulation; "
    "the image is assembled from the base image and uv.lock (binary wheels only).",
)
@click.option(
    "--registry-ca",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="UVDOCK_REGISTRY_CA",
    metavar="FILE",
    help="oci engine: PEM file of CA certificates that registries' TLS certificates are "
    "checked with, on top of the default trust (SSL_CERT_FILE). Not --ca-bundle, which is for "
    "package downloads. [env UVDOCK_REGISTRY_CA]",
)
@click.option(
    "--insecure-registry",
    "insecure_registries",
    multiple=True,
    envvar="UVDOCK_INSECURE_REGISTRY",
    metavar="HOST[:PORT]",
    help="oci engine: a registry reached over plain HTTP, or HTTPS without verification, like "
    "Docker's insecure-registries (loopback is already); repeat, or separate with commas. "
    "[env UVDOCK_INSECURE_REGISTRY]",
)
@setting_options
def build_command(  # click passes every option by name
    *,
    path: str,
    tag: str,
    platforms: tuple[str, ...],
    push: bool,
    load: bool,
    dockerfile: str | None,
    cache_from: tuple[str, ...],
    cache_to: tuple[str, ...],
    builder: str | None,
    output_spec: str | None,
    no_cache: bool,
    pull: bool,
    no_bytecode: bool,
    source_date_epoch: int | None,
    reproducible: bool,
    network: str | None,
    progress: str,
    output_format: str,
    engine: str,
    registry_ca: Path | None,
    insecure_registries: tuple[str, ...],
    **params: Any,
) -> None:
    """Build the image for the project at PATH with docker buildx.

    The Dockerfile is rendered from the plan (the project's files are not
    touched) unless --file names one. Secrets the plan needs (extra CA,
    private index credentials from UV_INDEX_<NAME>_USERNAME/PASSWORD, the SSH
    agent) are passed as BuildKit secrets, never as build arguments.

    \b
    Examples:
      uvdock build -t myapp:dev
      uvdock build -t registry.example.com/myapp:1.0 --platform linux/amd64,linux/arm64 --push
      uvdock build -t myapp --cache-from type=registry,ref=reg/myapp:cache
    """
    insecure = insecure_hosts(insecure_registries)
    if engine == "docker":
        _refuse_registry_options(registry_ca=registry_ca, insecure=insecure)
    quiet = output_format == "json" or progress == "quiet"
    request = BuildRequest(
        tag=tag,
        engine="oci" if engine == "oci" else "docker",
        platforms=tuple(p for value in platforms for p in value.split(",") if p),
        output=parse_output(push=push, load=load, spec=output_spec),
        source_date_epoch=source_date_epoch,
        pull=pull,
        quiet=quiet,
        dockerfile=Path(dockerfile) if dockerfile else None,
        cache_from=cache_from,
        cache_to=cache_to,
        builder=builder,
        network=network,
        no_cache=no_cache,
        reproducible=reproducible,
        progress="quiet" if output_format == "json" else progress,
        bytecode=not no_bytecode,
        registry_ca=registry_ca,
        insecure_registries=insecure,
    )
    options = given_settings(params)
    if engine == "oci":
        bars = progress == "auto" and sys.stderr.isatty()
        with engine_progress(bars=bars, quiet=quiet) as (echo, tasks):
            daemonless = DaemonlessBuilder(on_event=echo, tasks=tasks)
            result = build_project(path, request, builder=daemonless, options=options)
        _print_daemonless(result, output_format=output_format)
        return

    def echo_line(line: str) -> None:
        sys.stderr.write(line + "\n")

    docker = DockerBuilder(docker=DockerCLI(), on_line=echo_line)
    _print_docker(build_project(path, request, builder=docker, options=options), output_format)


def _print_docker(result: BuildResult, output_format: str) -> None:
    if output_format == "json":
        emit_json("build", status="ok", data=result.to_data(), errors=[])
        return
    out = console()
    out.print(f"\n[bold]built[/bold] {result.tag} in {result.seconds:.1f}s ({result.output})")
    if result.digest:
        out.print(f"  digest  {result.digest}")
    for image in result.platforms:
        out.print(f"  {image.platform}  {image.digest or ''}".rstrip())
    if result.size is not None:
        out.print(f"  size    {result.size / 1e6:.1f} MB")


def _print_daemonless(result: OciResult, *, output_format: str) -> None:
    if output_format == "json":
        emit_json("build", status="ok", data=result.to_data(), errors=[])
        return
    out = console()
    out.print(
        f"\n[bold]built[/bold] {result.tag} in {result.seconds:.1f}s ({result.output}, daemonless)"
    )
    out.print(f"  digest  {result.digest}")
    if result.phases:
        out.print("  times   " + ", ".join(f"{k} {v:.2f}s" for k, v in result.phases.items()))
    for image in result.platforms:
        reused = ", dependencies reused" if image.reused_dependencies else ""
        if image.patched_files is not None:
            reused += f", {image.patched_files} edited file(s) patched"
        compiled = "" if image.compiled else ", no bytecode"
        out.print(
            f"  {image.platform}  {image.digest}  {image.size / 1e6:.1f} MB{reused}{compiled}"
        )
    for note in result.notes:
        out.print(f"  note: {note}")


def _refuse_registry_options(*, registry_ca: Path | None, insecure: frozenset[str]) -> None:
    """With the Docker engine the daemon picks registries' trust: say so rather than ignore."""
    source = click.get_current_context().get_parameter_source
    given = [
        flag
        for flag, name, value in (
            ("--registry-ca", "registry_ca", registry_ca),
            ("--insecure-registry", "insecure_registries", insecure),
        )
        if value and source(name) == click.core.ParameterSource.COMMANDLINE
    ]
    if given:
        raise click.UsageError(
            f"{' and '.join(given)}: for --engine oci; with --engine docker the daemon decides "
            "(a CA in /etc/docker/certs.d/HOST:PORT/ca.crt, insecure-registries in daemon.json)"
        )
