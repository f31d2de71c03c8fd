"""Rules about secrets and privileges: what ends up readable in an image, and who runs it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from uvdock.dockerfile import key_values
from uvdock.dockerfile.syntax import Instruction, Stage
from uvdock.lint.rules.base import Analysis, Hit, named_as, read_small, rule
from uvdock.lint.rules.start import effective_start, script_files
from uvdock.lint.rules.words import copy_sources, program

# BuildKit's SecretsUsedInArgOrEnv (dockerfile2llb/validations.go), plus PASS/PAT/DSN.
SECRET_NAME = re.compile(
    r"(?i)(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|pass|pat|"
    r"secret|token|dsn)(?:_|$)"
)
# Words that make a secret-sounding name a setting: SECRET_KEY_FILE, AUTH_TYPE, TOKEN_TTL,
# APT_KEY_DONT_WARN_ON_DANGEROUS_USAGE.
NOT_SECRET = re.compile(
    r"(?i)(?:_|^)(?:public|file|version|path|url_?public|id|dir|type|mode|name|user|username|"
    r"host|port|url|length|ttl|expiry|expires|algorithm|header|enabled|disabled?|dont|warn)(?:_|$)"
)
# Client-side settings compiled into a web bundle: public by design.
PUBLIC_PREFIXES = ("VITE_", "NEXT_PUBLIC_", "REACT_APP_", "NUXT_PUBLIC_", "EXPO_PUBLIC_",
                   "PUBLIC_", "GATSBY_")  # fmt: skip
# Values that hold no secret: a switch or a placeholder.
PLACEHOLDER = re.compile(
    r"(?i)^(?:|0|1|yes|no|true|false|on|off|none|null|nil|unset|changeme|change_me|"
    r"placeholder|dummy|example|xxx+|\*+|<[^>]*>)$"
)
# Values that are credentials whatever their variable is called.
SECRET_VALUE = re.compile(
    r"ghp_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{16,}|"
    r"xox[abpr]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9_-]{20,}|"
    r"hf_[A-Za-z0-9]{20,}|pypi-[A-Za-z0-9_-]{20,}|"
    r"[a-z][a-z0-9+.-]*://[^/\s:@$]+:[^/\s@$]+@"
)


def _secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not NOT_SECRET.search(name)


def _declared(analysis: Analysis) -> Iterator[tuple[Stage | None, str, str, int]]:
    """(stage, name, value, line) of every ARG and ENV."""
    for item in analysis.dockerfile.instructions:
        if item.keyword not in ("ARG", "ENV"):
            continue
        stage = analysis.stages[item.stage] if item.stage is not None else None
        for name, value in analysis.variables(item):
            yield stage, name, value, item.span.start_line


@rule(
    "PY208",
    "secret-in-arg-or-env",
    "error",
    summary="a secret in an `ARG` or `ENV` (by its name or its value)",
    why="""
Build arguments and environment variables are stored in the image: `ENV` in its config,
and `ARG` values in the history of every `RUN` that uses them (`docker history`,
`docker inspect`, any registry that serves the image). A token passed that way is
published with the image. Pass it as a BuildKit secret instead
(`RUN --mount=type=secret,id=token,env=UV_INDEX_PRIVATE_PASSWORD ...`).
""",
    bad="""
ARG UV_INDEX_PRIVATE_PASSWORD
RUN uv sync --locked
""",
    good="""
RUN --mount=type=secret,id=index_password,env=UV_INDEX_PRIVATE_PASSWORD \\
    uv sync --locked
""",
    source='BuildKit check SecretsUsedInArgOrEnv; Docker docs, "Build secrets"',
    aliases=("SecretsUsedInArgOrEnv", "DL3064"),
)
def secret_in_arg_or_env(analysis: Analysis) -> Iterator[Hit]:
    for item, name, _, kind in _secret_declarations(analysis):
        span = analysis.find_in(item, name) or analysis.keyword_span(item)
        if kind == "value":
            yield Hit(
                span=span,
                message=f"{item.keyword} {name} holds a credential: it is stored in the "
                "image; pass it with --secret and RUN --mount=type=secret",
            )
        else:
            yield Hit(
                span=span,
                message=f"{item.keyword} {name} looks like a secret: {item.keyword} values "
                "are stored in the image; use RUN --mount=type=secret,id=...,env=" + name,
            )


def _secret_declarations(analysis: Analysis) -> Iterator[tuple[Instruction, str, str, str]]:
    """(instruction, name, value, "value" or "name") of every ARG/ENV PY208 reports.

    A secret-looking name counts unless its value is a switch or a placeholder
    (``ENV API_KEY=``, ``ARG AUTH=no``; an ``ARG`` without a default is the
    channel a build passes a secret through, so it counts), or it is a
    client-side setting (``VITE_*``, ``NEXT_PUBLIC_*``) in a stage the final
    image does not contain.
    """
    final = analysis.final
    # The stages whose ENV and ARGs the final image records (its FROM chain).
    image_stages = {s.index for s in analysis.lineage(final)} if final is not None else set()
    for item in analysis.dockerfile.instructions:
        if item.keyword not in ("ARG", "ENV"):
            continue
        in_image = item.stage is None or item.stage in image_stages
        declared = dict(key_values(item, escape=analysis.dockerfile.escape))
        for name, value in analysis.variables(item):
            if SECRET_VALUE.search(value):
                yield item, name, value, "value"
                continue
            if not _secret_name(name):
                continue
            if name.upper().startswith(PUBLIC_PREFIXES) and not in_image:
                continue
            no_default = item.keyword == "ARG" and not declared.get(name)
            if not no_default and PLACEHOLDER.match(value.strip()):
                continue
            yield item, name, value, "name"


@rule(
    "PY220",
    "secret-used-in-run",
    "warning",
    summary="a `RUN` consumes a secret-looking `ARG`/`ENV` instead of a secret mount",
    why="""
A `RUN` that reads `$TOKEN` from an `ARG` or `ENV` records the value in the image's
history (for `ARG`) or config (for `ENV`). The same command with
`--mount=type=secret,id=token,env=TOKEN` gets the value only while it runs.
""",
    bad="""
ARG GITHUB_TOKEN
RUN git clone https://$GITHUB_TOKEN@github.com/org/private.git
""",
    good="""
RUN --mount=type=secret,id=github_token,env=GITHUB_TOKEN \\
    git clone https://$GITHUB_TOKEN@github.com/org/private.git
""",
    source='Docker docs, "Build secrets"',
)
def secret_used_in_run(analysis: Analysis) -> Iterator[Hit]:
    secrets = {name for _, name, _, _ in _declared(analysis) if _secret_name(name)}
    if analysis.runs("PY208"):
        # PY208 already reports the declaration: one finding for one defect.
        secrets -= {name for _, name, _, _ in _secret_declarations(analysis)}
    if not secrets:
        return
    for stage in analysis.stages:
        for item in stage.instructions:
            if item.keyword != "RUN":
                continue
            mounted = {m.fields.get("env") for m in item.mounts if m.type == "secret"}
            text = item.args + "".join(h.content for h in item.heredocs)
            used = sorted(
                name for name in secrets - mounted if re.search(rf"\$\{{?{re.escape(name)}\b", text)
            )
            if used:
                yield Hit(
                    span=analysis.keyword_span(item),
                    message=f"this RUN reads {', '.join('$' + u for u in used)} from ARG/ENV, "
                    "which the image records; mount it with --mount=type=secret,env=...",
                )


@rule(
    "PY221",
    "credentials-written-to-layer",
    "error",
    summary="credentials written into a layer (git config with a token, .netrc, .git-credentials)",
    why="""
A file written in a `RUN` stays in that layer even if a later step deletes it: anyone
who pulls the image can read it with `docker save`. `git config url."https://TOKEN@..."`,
`git config credential.helper store`, or writing `~/.netrc` / `~/.git-credentials`
leaves the credential there. Use a secret mount for the one step that needs it.
""",
    bad='RUN git config --global url."https://${TOKEN}@github.com/".insteadOf "https://github.com/"',
    good="""
RUN --mount=type=secret,id=netrc,target=/root/.netrc \\
    uv sync --locked
""",
    source='Docker docs, "Build secrets"; uv docs, "Authentication" (netrc)',
)
def credentials_written_to_layer(analysis: Analysis) -> Iterator[Hit]:
    for _, command in analysis.commands:
        argv = command.argv
        text = command.shell.text
        if program(argv) == "git" and "config" in argv:
            joined = " ".join(argv)
            if re.search(r"url\.[^ ]*://[^/ ]*@", joined) or "credential.helper" in joined:
                yield Hit(
                    span=analysis.keyword_span(command.instruction),
                    message="git config stores a credential in this layer; use a secret mount "
                    "(--mount=type=secret) for the step that needs it",
                )
                continue
        if re.search(r">>?\s*\S*(\.netrc|\.git-credentials|\.pypirc)\b", text):
            yield Hit(
                span=analysis.keyword_span(command.instruction),
                message="credentials written to a file stay in this layer even if deleted "
                "later; mount the file as a secret (--mount=type=secret,target=...)",
            )


def _last_user(analysis: Analysis, stage: Stage) -> tuple[str | None, int | None]:
    """The effective USER of a stage (following FROM <stage>), and the line that sets it."""
    for member in analysis.lineage(stage):
        for item in reversed(member.instructions):
            if item.keyword == "USER":
                return item.args.strip().split(":", 1)[0], item.span.start_line
    return None, None


@rule(
    "PY203",
    "runs-as-root",
    "warning",
    summary="the final stage runs as root (no `USER`, or a last `USER root`/`0`)",
    why="""
Without a `USER`, the container's process runs as root: a bug in the app or one of its
dependencies then has root's power over everything in the container and any mounted
volume, and a container escape starts as root on the host. Create a user with a fixed
numeric UID and switch to it (`USER 10001`), so Kubernetes can also verify
`runAsNonRoot`. hadolint's DL3002 only flags an explicit `USER root`, not a missing one.
""",
    bad="""
FROM python:3.13-slim
COPY --from=builder /app/.venv /app/.venv
CMD ["python", "-m", "app"]
""",
    good="""
FROM python:3.13-slim
RUN useradd --system --uid 10001 --no-create-home app
COPY --from=builder /app/.venv /app/.venv
USER 10001
CMD ["python", "-m", "app"]
""",
    source='Docker docs, "Best practices: USER"; docker init\'s Python template; hadolint DL3002',
    aliases=("DL3002",),
)
def runs_as_root(analysis: Analysis) -> Iterator[Hit]:
    final = analysis.final
    if final is None:
        return
    if _not_a_runtime_image(analysis, final):
        return
    user, line = _last_user(analysis, final)
    if (user is None or user in ("root", "0")) and _drops_privileges(analysis, final):
        return  # started as root on purpose, to hand over to a user (gosu, s6, uwsgi uid)
    if user is None:
        image = analysis.root_image(final)
        if "distroless" in image and ":nonroot" in image:
            return
        yield Hit(
            span=analysis.keyword_span(final.from_instruction),
            message="the final stage has no USER, so the app runs as root; add a user with a "
            "numeric UID and `USER 10001`",
        )
    elif user in ("root", "0"):
        item = next(i for i in analysis.dockerfile.instructions if i.span.start_line == line)
        yield Hit(
            span=analysis.keyword_span(item),
            message="the final stage's last USER is root; switch to a non-root user with a "
            "numeric UID",
        )


# A final stage with one of these names (or a Dockerfile named so) builds an image other
# images start FROM or copy from, or runs the tests during the build: no service runs it.
BUILD_ONLY_WORDS = frozenset({"build", "builder", "base", "deps", "compile", "compiler",
                              "test", "tests", "testing", "ci"})  # fmt: skip
DOCKER_ACTION = re.compile(r"(?m)^\s*using\s*:\s*['\"]?docker['\"]?\s*$")


def _not_a_runtime_image(analysis: Analysis, final: Stage) -> bool:
    """A build-only image (``FROM ... AS builder`` last, ``builder.dockerfile``,
    ``Dockerfile.base``, ``Dockerfile.test``) that sets no CMD or ENTRYPOINT of its own (the
    images built FROM it are checked themselves), or a GitHub Docker container action,
    which GitHub runs as root and documents must not set USER."""

    starts_nothing = effective_start(analysis, final) == (None, None)
    if starts_nothing and named_as(analysis, final, BUILD_ONLY_WORDS):
        return True  # named so, and it starts nothing of its own
    root = analysis.context.root
    if root is None:
        return False
    return any(
        DOCKER_ACTION.search(_read_small(root / name)) for name in ("action.yml", "action.yaml")
    )


# Tools that start a program as another user, as entrypoint scripts use them.
PRIVILEGE_DROP = re.compile(
    r"(?:^|[\s;&|(])(?:exec\s+)?(?:gosu|su-exec|s6-setuidgid|setuidgid|setpriv\s+--reuid|"
    r"runuser\s+-u|chpst\s+-u|sudo\s+-u|chroot\s+--userspec|su\s+(?:-\S*\s+)*\S+\s+-c)\s"
)
# uwsgi's `uid = app` (ini), supervisord's `user=app`: the server switches user itself.
CONFIG_USER = re.compile(r"(?m)^\s*(?:uid|user)\s*=\s*(?!root\b|0\b)\S+")
CONFIG_FILE = re.compile(r"[\w./-]+\.(?:ini|conf)\b")
MAX_READ = 256 * 1024


def _read_small(path: Path) -> str:
    return read_small(path, MAX_READ) or ""


def _drops_privileges(analysis: Analysis, final: Stage) -> bool:
    """Whether the container starts as root only to hand over to another user.

    Read from the start command, the script it runs (found through its COPY),
    the uwsgi/supervisord configuration that script or command names, and for
    s6-overlay's ``/init`` the service scripts copied into the image.
    """

    entry, cmd = effective_start(analysis, final)
    words = [
        word
        for item in (entry, cmd)
        if item is not None
        for word in (item.exec_form if item.exec_form is not None else item.args.split())
    ]
    text = " ".join(words)
    if PRIVILEGE_DROP.search(" " + text + " ") or "--uid" in words:
        return True
    root = analysis.context.root
    if root is None or not words:
        return False
    bodies = [text]
    for script in [w for w in words if w.endswith(".sh") or w.startswith(("./", "/"))][:3]:
        for candidate in [*script_files(analysis, final, script, root), *_by_suffix(root, script)]:
            body = _read_small(candidate)
            if body:
                bodies.append(body)
                break
    for body in bodies:
        if PRIVILEGE_DROP.search(body):
            return True
        for name in CONFIG_FILE.findall(body):
            for config in (root / name.lstrip("/"), root / Path(name).name):
                if CONFIG_USER.search(_read_small(config)):
                    return True
    return words[0] == "/init" and _s6_services_drop(analysis, final, root)


def _by_suffix(root: Path, script: str) -> list[Path]:
    """Context files that may be the script, for a COPY whose destination the linter cannot
    resolve: those whose path ends the script's image path (``/app/bin/run.sh`` and
    ``bin/run.sh``), else the only file of that name."""
    name = Path(script).name
    found: list[Path] = []
    for pattern in (name, f"*/{name}", f"*/*/{name}"):
        found.extend(root.glob(pattern))
    ending = [p for p in found if script.endswith(p.relative_to(root).as_posix())]
    if ending:
        return sorted(ending, key=lambda p: -len(p.parts))
    return found if len(found) == 1 else []


def _s6_services_drop(analysis: Analysis, final: Stage, root: Path) -> bool:
    """s6-overlay: a service script copied into the image runs its program with s6-setuidgid."""
    for member in analysis.lineage(final):
        for item in member.instructions:
            if item.keyword not in ("COPY", "ADD") or item.flag("from") is not None:
                continue
            for source in copy_sources(item):
                folder = root / source.strip("/")
                if source.strip("/") in ("", ".") or not folder.is_dir():
                    continue
                for count, path in enumerate(folder.rglob("*")):
                    if count > 2000:  # noqa: PLR2004 - a rootfs overlay, not a whole tree
                        break
                    if "s6" in path.as_posix() and "s6-setuidgid" in _read_small(path):
                        return True
    return False


@rule(
    "PY222",
    "world-writable",
    "warning",
    summary="`chmod 777` / `a+rwx` / `o+w` in the image",
    why="""
Making a directory writable by everyone (often a cache or the venv, to get around a
permission error) lets any process in the container, whatever its user, replace code
the app imports. Give the directory to the user that needs it (`--chown=`, `chown`), or
better, keep code read-only and write only to a dedicated data directory.
""",
    bad="RUN chmod -R 777 /app",
    good="COPY --chown=10001:10001 data/ /app/data/",
    source="CIS Docker Benchmark 4.x (file permissions); uv-docker-example#82",
)
def world_writable(analysis: Analysis) -> Iterator[Hit]:
    for _, command in analysis.commands:
        if program(command.argv) != "chmod":
            continue
        modes = [w for w in command.words[1:] if not w.startswith("-")][:1]
        if modes and _sticky(modes[0]):
            continue  # 1777, +t: a shared scratch directory (as /tmp is), not shared code
        if modes and re.fullmatch(r"[0-7]?[0-7][0-7][2367]|.*(?:a|o)\+[rx]*w.*", modes[0]):
            yield Hit(
                span=analysis.keyword_span(command.instruction),
                message=f"chmod {modes[0]} makes files writable by every user; chown them to "
                "the user that needs them instead",
            )


def _sticky(mode: str) -> bool:
    """Whether a chmod mode sets the sticky bit (``1777``, ``+t``, ``a+rwxt``)."""
    if re.fullmatch(r"[0-7]{4}", mode):
        return int(mode[0]) & 1 == 1
    return bool(re.search(r"\+[rwxX]*t", mode))
