"""The set of files ``uvdock init`` writes, rendered from one plan."""

from __future__ import annotations

import dataclasses

from uvdock.plan.model import BuildPlan
from uvdock.render.dev import render_compose, render_dockerfile_dev
from uvdock.render.dockerfile import render_dockerfile
from uvdock.render.dockerignore import render_dockerignore


@dataclasses.dataclass(frozen=True, kw_only=True)
class GeneratedFile:
    name: str  # relative to the project root
    content: str
    purpose: str


def render_files(
    plan: BuildPlan,
    *,
    regenerate: str,
    regenerate_shared: str | None = None,
    dockerfile_name: str = "Dockerfile",
) -> list[GeneratedFile]:
    """All files for ``plan``.

    ``regenerate`` is the command that rebuilds the production Dockerfile;
    ``regenerate_shared`` the one for the files both approaches share
    (.dockerignore and the dev setup), without approach-specific flags, so
    generating both approaches into one project yields identical shared files.
    """
    shared = regenerate_shared or regenerate
    # Files in a workspace member's directory are built with the workspace root as
    # the context; BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile
    # before the context's .dockerignore, so each gets its own.
    subdirectory = plan.project.in_subdirectory
    ignore = f"{dockerfile_name}.dockerignore" if subdirectory else ".dockerignore"
    files = [
        GeneratedFile(
            name=dockerfile_name,
            content=render_dockerfile(plan, regenerate=regenerate, dockerfile_name=dockerfile_name),
            purpose=f"production image ({plan.approach} approach)",
        ),
        GeneratedFile(
            name=ignore,
            content=render_dockerignore(plan, regenerate=shared),
            purpose="build context filter",
        ),
    ]
    if subdirectory and plan.settings.get("dev"):
        files.append(
            GeneratedFile(
                name="Dockerfile.dev.dockerignore",
                content=render_dockerignore(plan, regenerate=shared),
                purpose="build context filter of the dev image",
            )
        )
    if plan.settings.get("dev"):
        files += [
            GeneratedFile(
                name="Dockerfile.dev",
                content=render_dockerfile_dev(plan, regenerate=shared),
                purpose="development image (editable install, dev dependencies)",
            ),
            GeneratedFile(
                name="compose.yaml",
                content=render_compose(plan, regenerate=shared),
                purpose="dev setup: bind mount, uv cache volume, hot reload, watch",
            ),
        ]
    return files
