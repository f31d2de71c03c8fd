"""BuildPlan -> Dockerfile text, for the two approaches.

custom (default): follows uv's multi-stage guidance. The builder and the final
stage start FROM the same Python image, so the virtual environment's
interpreter path is identical in both; uv is copied into the builder only.
The dependency layer is keyed on ``uv.lock``/``pyproject.toml`` alone (bind
mounts). A package is installed non-editable in a ``project`` stage of its own,
and only its own files reach the final stage, as one small layer over the
unchanged dependency venv: a source edit rebuilds that layer and nothing else.
Projects that are not packages get the dependency venv and their code.

official: the guide's first approach done right: one stage on uv's image
with Python, still ``--locked``, non-root, and no ``uv run`` at start-up.
"""

from __future__ import annotations

from collections.abc import Sequence

from packaging.utils import canonicalize_name

from uvdock.grammar import (
    dockerfile_word,
    image_reference,
    inside_path,
    plain_path,
    shell_line,
    shell_word,
)
from uvdock.plan.model import VENV, BuildPlan, Secret
from uvdock.render._text import env_block, exec_form, header, label_block, run, with_env

UV_CACHE = "/root/.cache/uv"
# Debian versions change with every point release; pinning them would break
# builds weeks later, so DL3008 (pin apt versions) is deliberately ignored.
APT_IGNORE = "# hadolint ignore=DL3008"
# BuildKit clamps timestamps to SOURCE_DATE_EPOCH when it is passed; declared here
# it also reaches the RUN steps, where Python then writes hash-based .pyc files
# instead of ones stamped with the (copy-time) source mtimes.
SOURCE_DATE_EPOCH_ARG = (
    "# Reproducible builds: pass --build-arg SOURCE_DATE_EPOCH=<unix time>.\nARG SOURCE_DATE_EPOCH"
)


def secret_mounts(plan: BuildPlan, *, uid: int | None = None) -> list[str]:
    """Secret and ssh mounts; ``uid`` when the step runs as that user (mounts are 0400 root)."""
    owner = f",uid={uid}" if uid is not None else ""
    mounts = []
    for secret in plan.secrets:
        required = ",required=true" if secret.required else ""
        target = secret.target
        if secret.id == "netrc" and uid is not None:
            target = "/home/dev/.netrc"
        mounts.append(f"type=secret,id={secret.id},target={target}{owner}{required}")
    if plan.ssh:
        mounts.append(f"type=ssh{owner}")
    return mounts


def secret_env(plan: BuildPlan) -> list[str]:
    """``VAR=...`` prefixes that turn mounted secret files into what uv and git read."""
    prefixes = []
    for secret in plan.secrets:
        prefixes.extend(_secret_env(plan, secret))
    if plan.ssh:
        # No known_hosts can be baked in without trusting something first; accept-new
        # pins the host key for this one step. Mount a known_hosts to be stricter.
        prefixes.append('GIT_SSH_COMMAND="ssh -o StrictHostKeyChecking=accept-new"')
    return prefixes


def _secret_env(plan: BuildPlan, secret: Secret) -> list[str]:
    if secret.id == "ca_bundle":
        values = [f"SSL_CERT_FILE={secret.target}"]
        if plan.project.git_sources:
            values.append(f"GIT_SSL_CAINFO={secret.target}")
        return values
    if secret.env:
        return [f'{secret.env}="$(cat {secret.target})"']
    return []


def apt_install(packages: Sequence[str], *, cached: bool) -> str:
    """apt-get install; cached (builder) keeps lists in cache mounts, else they are removed."""
    words = " ".join(shell_word(p, "Debian package") for p in packages)
    install = "apt-get install -y --no-install-recommends " + words
    if cached:
        return f"{APT_IGNORE}\n" + run(
            [
                "rm -f /etc/apt/apt.conf.d/docker-clean",
                "apt-get update",
                install,
            ],
            mounts=[
                "type=cache,target=/var/cache/apt,sharing=locked",
                "type=cache,target=/var/lib/apt,sharing=locked",
            ],
        )
    return f"{APT_IGNORE}\n" + run(["apt-get update", install, "rm -rf /var/lib/apt/lists/*"])


def _sync_steps(
    plan: BuildPlan, *, flags: Sequence[str], uv_env: Sequence[str], project_step: bool = True
) -> list[str]:
    """The install steps: dependencies (keyed on the lock), then the project.

    ``project_step=False`` stops after the dependencies (the custom approach
    installs the project in a stage of its own).
    """
    project = plan.project
    cache = f"type=cache,target={UV_CACHE}"
    secrets = secret_mounts(plan)
    prefixes = [*uv_env, *secret_env(plan)]
    extra = " ".join(flags)
    extra = f" {extra}" if extra else ""
    if project.dependency_source.value == "requirements":
        pip_flags = " ".join(f for f in flags if f != "--no-editable")
        extra = f" {pip_flags}" if pip_flags else ""
        name = requirements_name(plan)
        hashes = " --require-hashes" if project.requirements_hashed else ""
        return [
            "# Dependencies from the requirements file, exactly (uv pip sync removes extras).",
            run(
                [
                    f"uv venv {VENV}",
                    with_env(
                        prefixes,
                        f"uv pip sync{extra}{hashes} --python {VENV}/bin/python {name}",
                    ),
                ],
                mounts=[cache, f"type=bind,source={name},target={name}", *secrets],
            ),
        ]
    selection = sync_words(plan.sync_selection)
    first = f"uv sync {dependency_only(plan)} {selection}{extra}"
    dependency_step = run(
        [with_env(prefixes, first)],
        mounts=[
            cache,
            "type=bind,source=uv.lock,target=uv.lock",
            "type=bind,source=pyproject.toml,target=pyproject.toml",
            *secrets,
        ],
    )
    if not plan.project.installs_local:
        # Nothing of the project is installed: the dependencies are the whole venv,
        # and the code is copied into the final stage, so source edits never
        # invalidate this stage.
        return ["# The dependencies, exactly as uv.lock says.", dependency_step]
    first_steps = [
        "# Dependencies first: this layer is reused until uv.lock or pyproject.toml change.",
        dependency_step,
    ]
    if not project_step:
        return first_steps
    return [
        *first_steps,
        "# Then the project, installed non-editable: the venv no longer needs the source.",
        "COPY . /app",
        run([with_env(prefixes, f"uv sync --locked {selection}{extra}")], mounts=[cache, *secrets]),
    ]


def dependency_only(plan: BuildPlan) -> str:
    """The flags that make the first sync install the locked dependencies and nothing local.

    With only uv.lock and pyproject.toml mounted, uv cannot check the lock of a
    workspace or of path dependencies (it needs their pyproject.toml), so this
    layer uses --frozen; the full sync with the source still asserts --locked.
    """
    project = plan.project
    members = {canonicalize_name(m.name) for m in project.workspace_members}
    if set(project.local_packages) - members:
        return "--frozen --no-install-local"
    if project.is_workspace:
        return "--frozen --no-install-workspace"
    return "--locked --no-install-project"


# Copies the files that the project's own distributions installed (their RECORD:
# package, .dist-info, console scripts) to the same paths under /out, and
# byte-compiles just those. The final stage then adds them as one small layer on
# top of the unchanged dependency layer, instead of a new copy of the whole venv.
_COLLECT_PROJECT = """\
import importlib.metadata, os, py_compile, shutil, sys
os.makedirs("/out", exist_ok=True)  # the final stage copies it even when nothing is installed
for name in sys.argv[1:]:
    try:
        files = importlib.metadata.distribution(name).files or ()
    except importlib.metadata.PackageNotFoundError:
        continue  # a workspace member this project does not depend on
    for entry in files:
        path = os.path.normpath(entry.locate())
        copies = [path]
        if path.endswith(".py") and "/site-packages/" in path:
            copies.append(py_compile.compile(path, doraise=True))
        for source in copies:
            target = "/out" + source
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(source, target)
"""


def _project_dists(plan: BuildPlan) -> list[str]:
    """The distributions the project step installs: the project, members, path dependencies."""
    names = [plan.project.name] if plan.project.packaged else []
    names += [m.name for m in plan.project.workspace_members if m.name not in names]
    names += [n for n in plan.project.local_packages if n not in names]
    return names


def _project_stage(plan: BuildPlan) -> list[str]:
    """A stage that installs the project over the dependencies and collects its files.

    The build backend is installed first, in a step keyed on the dependency layer
    alone, and the project is then built without build isolation: a source edit
    reruns one step that needs neither the network nor a secret mount (each of
    which costs a round trip; a secret mount alone adds about 0.6 s on Docker 26).
    """
    cache = f"type=cache,target={UV_CACHE}"
    steps = [
        "",
        "# The project, in a stage of its own: built from the source as a wheel and",
        "# installed non-editable (the venv does not need the source), then only its",
        "# own files are compiled and collected under /out. A source edit reruns the",
        "# last step alone; the dependency layer and its bytecode are reused as they are.",
        "FROM builder AS project",
        SOURCE_DATE_EPOCH_ARG,
    ]
    requires = plan.project.build_requires
    if requires:
        steps += [
            (
                "# The build backend ([build-system] requires; the final stage never sees it),\n"
                "# resolved as any build of the project resolves it.\n"
                "# uvdock: ignore=UV112"
            ),
            run(
                [
                    with_env(
                        secret_env(plan),
                        f"uv pip install --python {VENV}/bin/python "
                        + " ".join(shell_word(r, "build requirement") for r in requires),
                    )
                ],
                mounts=[
                    cache,
                    "type=bind,source=pyproject.toml,target=pyproject.toml",
                    *secret_mounts(plan),
                ],
            ),
        ]
    selection = sync_words(plan.sync_selection)
    sync = with_env(
        ["UV_COMPILE_BYTECODE=0"],
        f"uv sync --locked {selection} --no-editable --no-build-isolation",
    )
    dists = " ".join(shell_word(name, "distribution name") for name in _project_dists(plan))
    collect = f"{VENV}/bin/python -I - {dists} <<'PY'"
    steps += [
        "COPY . /app",
        run([sync, collect], mounts=[cache]) + "\n" + _COLLECT_PROJECT + "PY",
    ]
    return steps


def _user_step(uid: int) -> str:
    return (
        "# A numeric non-root user (Kubernetes can verify runAsNonRoot); the venv stays\n"
        "# owned by root, so the app cannot modify its own code.\n"
        + run(
            [
                f"groupadd --system --gid {uid} app",
                (
                    f"useradd --system --uid {uid} --gid {uid} --no-create-home "
                    "--home-dir /nonexistent --shell /usr/sbin/nologin app"
                ),
            ]
        )
    )


def _runtime_tail(plan: BuildPlan) -> list[str]:
    """ENV, USER, EXPOSE, HEALTHCHECK, LABEL and CMD of the final stage (``plan.runtime``)."""
    runtime = plan.runtime
    ours = [(v.name, v.value) for v in runtime.env if not v.literal and not v.daemonless_only]
    out = [env_block(ours, runtime.project_env), f"USER {runtime.user}"]
    out += [f"EXPOSE {port}" for port in runtime.ports]
    health = runtime.health
    if health is not None:
        out.append(
            "# Python itself is the probe: no curl or wget in the image.\n"
            f"HEALTHCHECK --interval={health.interval}s --timeout={health.timeout}s "
            f"--start-period={health.start_period}s --retries={health.retries} \\\n"
            f"    CMD {exec_form(health.argv)}"
        )
    out.append(label_block(runtime.labels))
    if runtime.command is not None:
        out.append(f"CMD {exec_form(runtime.command)}")
    return out


def _build_comment(plan: BuildPlan, dockerfile_name: str) -> str:
    return f"# Build: {shell_line(plan.build_command(dockerfile_name), 'the build command')}"


def _from(plan_image: str, what: str, stage: str = "") -> str:
    return f"FROM {image_reference(plan_image, what)}{stage}"


def app_directory(plan: BuildPlan) -> str:
    """The app's directory in the context (``.`` or a member's), never outside it."""
    return inside_path(plan.project.app_path.as_posix(), "app directory")


def requirements_name(plan: BuildPlan) -> str:
    """The requirements file's path in the context, bare (it is bind-mounted and passed to uv)."""
    file = plan.project.requirements_file
    return plain_path(file.name if file else "requirements.txt", "requirements file")


def sync_words(flags: Sequence[str]) -> str:
    """uv's selection flags (--package NAME, --extra NAME, ...) as shell words."""
    return " ".join(shell_word(flag, "uv sync argument") for flag in flags)


def render_custom(plan: BuildPlan, *, regenerate: str, dockerfile_name: str) -> str:
    builder_env = [
        ("UV_COMPILE_BYTECODE", "1"),
        ("UV_LINK_MODE", "copy"),
        ("UV_PYTHON_DOWNLOADS", "0"),
        ("UV_NO_INSTALLER_METADATA", "1"),
    ]
    blocks: list[str] = [
        header("#", regenerate),
        _build_comment(plan, dockerfile_name),
        "",
        _from(plan.uv_image.value, "uv image", " AS uv"),
        "",
        "# Build stage: the same Python image as the final stage, so the virtual",
        "# environment's interpreter path matches; uv exists only here.",
        _from(plan.base_image.value, "base image", " AS builder"),
        SOURCE_DATE_EPOCH_ARG,
        "COPY --from=uv /uv /uvx /bin/",
    ]
    if plan.build_packages:
        blocks.append(apt_install([p.value for p in plan.build_packages], cached=True))
    blocks += [
        "# Compile bytecode at install time, copy files out of the cache mount, never",
        "# download a Python (the image's own interpreter is the one the app runs on),",
        "# and write no install-time metadata (timestamps would make layers differ).",
        env_block(builder_env),
        "WORKDIR /app",
        *_sync_steps(plan, flags=["--no-editable"], uv_env=[], project_step=False),
    ]
    installs_project = plan.project.installs_local
    if installs_project:
        blocks += _project_stage(plan)
    blocks += [
        "",
        (
            "# Final stage: the dependencies, then the project's own files; nothing else\n"
            "# from the build (no uv, no source, no build tools)."
            if installs_project
            else "# Final stage: the virtual environment and nothing else from the build."
        ),
        _from(plan.base_image.value, "base image"),
    ]
    if plan.runtime_packages:
        blocks.append(apt_install([p.value for p in plan.runtime_packages], cached=False))
    runtime = plan.runtime
    blocks += [
        _user_step(plan.uid),
        f"WORKDIR {runtime.workdir}",
        f"COPY --from=builder {runtime.venv} {runtime.venv}",
    ]
    if installs_project:
        blocks.append("COPY --from=project /out/ /")
    files = runtime.files
    if files:
        blocks.append(
            "# Files the command reads at run time (the package itself has no source here)."
        )
        blocks += [
            f"COPY {plain_path(source, 'run-time file')} "
            f"{runtime.workdir}/{plain_path(target, 'run-time file')}"
            for source, target in files
        ]
    if not plan.project.packaged:
        blocks.append("# Not a package (no build system): the code runs from /app.")
        blocks.append(f"COPY {_app_source(plan)} {runtime.workdir}")
    blocks += _runtime_tail(plan)
    return "\n".join(blocks) + "\n"


def _app_source(plan: BuildPlan) -> str:
    """What holds the app's code in the context: ``.``, or a member's directory."""
    path = app_directory(plan)
    return "." if path == "." else f"{plain_path(path, 'app directory')}/"


def render_official(plan: BuildPlan, *, regenerate: str, dockerfile_name: str) -> str:
    blocks: list[str] = [
        header("#", regenerate),
        _build_comment(plan, dockerfile_name),
        "",
        "# One stage on uv's image with Python: simple, still locked, non-root, and uv",
        "# is never run at start-up (no sync, no writes to the venv at run time).",
        _from(plan.base_image.value, "base image"),
        SOURCE_DATE_EPOCH_ARG,
    ]
    packages = [p.value for p in plan.build_packages] + [p.value for p in plan.runtime_packages]
    if packages:
        blocks.append(apt_install(packages, cached=False))
    blocks += [
        "# Use the image's Python, never a downloaded one.",
        env_block([("UV_PYTHON_DOWNLOADS", "0")]),
        _user_step(plan.uid),
        "WORKDIR /app",
        *_sync_steps(
            plan,
            flags=["--no-editable", "--compile-bytecode", "--link-mode=copy"],
            uv_env=["UV_NO_INSTALLER_METADATA=1"],
        ),
    ]
    if not plan.project.installs_local:
        blocks += ["# Not a package (no build system): the code runs from /app.", "COPY . /app"]
    elif not plan.project.packaged and app_directory(plan) != ".":
        blocks += [
            "# The app member is not a package: it runs from its directory.",
            f"WORKDIR /app/{dockerfile_word(app_directory(plan), 'app directory')}",
        ]
    blocks += _runtime_tail(plan)
    return "\n".join(blocks) + "\n"


def render_dockerfile(
    plan: BuildPlan, *, regenerate: str, dockerfile_name: str = "Dockerfile"
) -> str:
    render = render_official if plan.approach == "official" else render_custom
    return render(plan, regenerate=regenerate, dockerfile_name=dockerfile_name)
