"""BuildPlan -> the development setup: ``Dockerfile.dev`` and ``compose.yaml``.

The venv lives in ``/opt/venv`` (``UV_PROJECT_ENVIRONMENT``), outside ``/app``,
so bind-mounting the source over ``/app`` can never hide it or write a Linux
venv into the host's tree. The project is installed editable, so the mounted
source is what runs; the server reloads on change. ``docker compose watch``
(or ``up --watch``) also rebuilds the image when ``uv.lock`` changes.
"""

from __future__ import annotations

import os
from pathlib import Path

from uvdock.grammar import (
    UnwritableValueError,
    dockerfile_word,
    image_reference,
    relative_path_error,
    yaml_string,
)
from uvdock.plan.model import BuildPlan
from uvdock.render._text import env_block, exec_form, header, run, with_env
from uvdock.render.dockerfile import (
    app_directory,
    apt_install,
    dependency_only,
    requirements_name,
    secret_env,
    secret_mounts,
    sync_words,
)

DEV_UID = 1000  # the usual uid of the first user on a developer's machine
DEV_HOME = "/home/dev"
DEV_VENV = "/opt/venv"


def render_dockerfile_dev(plan: BuildPlan, *, regenerate: str) -> str:
    cache = f"type=cache,target={DEV_HOME}/.cache/uv,uid={DEV_UID},gid={DEV_UID}"
    secrets = secret_mounts(plan, uid=DEV_UID)
    prefixes = secret_env(plan)
    project = plan.project
    blocks = [
        header("#", regenerate),
        "# Development image: used by compose.yaml; the source is bind-mounted at /app.",
        "# uvdock: global ignore=UV107 (a development image keeps the dev dependencies)",
        "",
        f"FROM {image_reference(plan.uv_image.value, 'uv image')} AS uv",
        "",
        f"FROM {image_reference(plan.python_image.value, 'Python image')}",
        "COPY --from=uv /uv /uvx /bin/",
    ]
    packages = [p.value for p in plan.build_packages] + [p.value for p in plan.runtime_packages]
    if packages:
        blocks.append(apt_install(packages, cached=False))
    blocks += [
        env_block(
            [
                ("UV_LINK_MODE", "copy"),
                ("UV_PYTHON_DOWNLOADS", "0"),
                ("UV_PROJECT_ENVIRONMENT", DEV_VENV),
                ("PATH", f"{DEV_VENV}/bin:$PATH"),
                ("PYTHONUNBUFFERED", "1"),
                ("PYTHONDONTWRITEBYTECODE", "1"),
            ],
            plan.runtime.project_env,
        ),
        run(
            [
                f"groupadd --gid {DEV_UID} dev",
                f"useradd --uid {DEV_UID} --gid {DEV_UID} --create-home --home-dir {DEV_HOME} dev",
                f"install -d -o dev -g dev {DEV_VENV} /app {DEV_HOME}/.cache/uv",
            ]
        ),
        "WORKDIR /app",
        # Just the uid: compose watch resolves the user with getent, which fails on "uid:gid".
        f"USER {DEV_UID}",
    ]
    if project.dependency_source.value == "requirements":
        name = requirements_name(plan)
        blocks.append(
            run(
                [
                    f"uv venv --allow-existing {DEV_VENV}",
                    with_env(prefixes, f"uv pip sync --python {DEV_VENV}/bin/python {name}"),
                ],
                mounts=[cache, f"type=bind,source={name},target={name}", *secrets],
            )
        )
        blocks.append("COPY --chown=dev:dev . /app")
    else:
        # The app's member and extras; every dependency group (the dev tools).
        selection = sync_words(plan.member_selection)
        selection = f" {selection}" if selection else ""
        first = f"uv sync {dependency_only(plan)}{selection}"
        blocks += [
            "# All dependency groups (dev included); the project itself comes next, editable.",
            run(
                [with_env(prefixes, first)],
                mounts=[
                    cache,
                    "type=bind,source=uv.lock,target=uv.lock",
                    "type=bind,source=pyproject.toml,target=pyproject.toml",
                    *secrets,
                ],
            ),
            "COPY --chown=dev:dev . /app",
            run([with_env(prefixes, f"uv sync --locked{selection}")], mounts=[cache, *secrets]),
        ]
    if app_directory(plan) != ".":
        blocks.append(f"WORKDIR /app/{dockerfile_word(app_directory(plan), 'app directory')}")
    if plan.listens:
        blocks.append(f"EXPOSE {plan.port}")
    if plan.entrypoint is not None:
        blocks.append(f"CMD {exec_form(plan.entrypoint.value.dev_argv)}")
    return "\n".join(blocks) + "\n"


def _from_root(plan: BuildPlan, path: str) -> str:
    """A context-relative path as compose.yaml (in the project's root) spells it."""
    project = plan.project
    absolute = project.context / path
    return Path(os.path.relpath(absolute, project.root.resolve())).as_posix()


_q = yaml_string


def render_compose(plan: BuildPlan, *, regenerate: str) -> str:
    project = plan.project
    service = _service_name(project.name)
    # In a workspace member's directory, the context is the workspace root.
    root_in_context = Path(os.path.relpath(project.root.resolve(), project.context)).as_posix()
    dockerfile = "Dockerfile.dev" if root_in_context == "." else f"{root_in_context}/Dockerfile.dev"
    lines = [
        header("#", regenerate),
        "# Develop with: docker compose up --watch   (the server reloads on source changes;",
        "# a change to uv.lock rebuilds the image).",
        "services:",
        f"  {service}:",
        "    build:",
        f"      context: {_q(project.context_from_root)}",
        f"      dockerfile: {_q(dockerfile)}",
    ]
    if plan.secrets:
        lines.append("      secrets:")
        lines.extend(f"        - {s.id}" for s in plan.secrets if s.required)
    if plan.ssh:
        lines += ["      ssh:", "        - default"]
    if plan.listens:
        lines += ["    ports:", f"      - {_q(f'127.0.0.1:{plan.port}:{plan.port}')}"]
    app = app_directory(plan)
    for directory in project.source_dirs:
        error = relative_path_error(directory, "source directory")
        if error is not None:
            raise UnwritableValueError(error)
    in_context = [d if app == "." else f"{app}/{d}" for d in project.source_dirs]
    mounted = [_from_root(plan, d) for d in in_context]
    lines.append("    volumes:")
    if mounted:
        lines.append(
            "      # The code, live (the server reloads); the venv is in /opt/venv, out of the way."
        )
        for host, inside in zip(mounted, in_context, strict=True):
            lines.extend(_bind_mount(f"./{host}", f"/app/{inside}"))
    lines += [
        "      # uv's cache survives rebuilds and `uv add` inside the container.",
        "      - uv-cache:/home/dev/.cache/uv",
    ]
    if plan.entrypoint is not None:
        argv = ", ".join(_q(arg) for arg in plan.entrypoint.value.dev_argv)
        lines.append(f"    command: [{argv}]")
    lines += [
        "    # `docker compose up --watch`: copy the other files in as they change (the",
        "    # mounted code is live already; compose ignores watch paths under a bind",
        "    # mount, which is why the whole project is not mounted), and rebuild the",
        "    # image when the lock changes.",
        "    develop:",
        "      watch:",
        "        - action: sync",
        "          path: .",
        f"          target: {_q('/app' if root_in_context == '.' else f'/app/{root_in_context}')}",
        "          ignore:",
        "            - .venv/",
        *(f"            - {_q(d + '/')}" for d in mounted if not d.startswith("..")),
        "        - action: rebuild",
        f"          path: {_q(_from_root(plan, _lock_file(plan)))}",
        "volumes:",
        "  uv-cache:",
    ]
    required = [s for s in plan.secrets if s.required]
    if required:
        lines.append("secrets:")
        for secret in required:
            lines.append(f"  {secret.id}:")
            if secret.id == "ca_bundle":
                path = plan.settings.get("ca_bundle")
                lines.append(f"    file: {_q(str(path))}")
            else:
                lines.append(f"    environment: {secret.env}")
    return "\n".join(lines) + "\n"


def _bind_mount(source: str, target: str) -> list[str]:
    """A volume entry: the short ``source:target`` form, or the long one when a path has a colon.

    Compose splits the short form at colons, so a directory named ``a: b`` would
    become a wrong mount even though the YAML is valid.
    """
    if ":" not in source + target:
        return [f"      - {_q(f'{source}:{target}')}"]
    return [
        "      - type: bind",
        f"        source: {_q(source)}",
        f"        target: {_q(target)}",
    ]


def _lock_file(plan: BuildPlan) -> str:
    """The file whose change means new dependencies: a rebuild, not a sync."""
    project = plan.project
    if project.dependency_source.value == "requirements" and project.requirements_file:
        return project.requirements_file.name
    return "uv.lock"


def _service_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return cleaned or "app"
