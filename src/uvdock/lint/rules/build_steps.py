"""Rules about what the build steps do: the lock, uv's installer, hidden failures, owners."""

from __future__ import annotations

import re
from collections.abc import Iterator

from uvdock.dockerfile import expand
from uvdock.dockerfile.syntax import Instruction, Stage
from uvdock.lint.rules.accounts import ACCOUNT_TOOLS, PACKAGE_TOOLS, image_accounts
from uvdock.lint.rules.base import Analysis, Command, Hit, rule
from uvdock.lint.rules.images import UNKNOWN, UV_IMAGE, split_image, uv_installers
from uvdock.lint.rules.words import copy_sources, has_flag, program, uv_subcommand
from uvdock.lint.shell import ShellCommand, commands

SHELLS = ("sh", "bash", "/bin/sh", "/bin/bash")


def _scripts(item: Instruction) -> list[str]:
    """The shell scripts of a shell-form RUN: its arguments, and heredocs it runs as scripts."""
    if item.keyword != "RUN" or item.exec_form is not None:
        return []
    scripts = [item.args]
    head = item.args.split("<<", 1)[0].split()
    if not head or head[-1] in SHELLS:
        scripts += [heredoc.content for heredoc in item.heredocs]
    return scripts


def _lineage_items(analysis: Analysis, stage: Stage) -> Iterator[tuple[Stage, Instruction]]:
    """The instructions a stage is built from, in build order (its ancestors' first)."""
    for member in reversed(analysis.lineage(stage)):
        for item in member.instructions:
            yield member, item


def _commands_by_instruction(analysis: Analysis) -> dict[int, list[Command]]:
    found: dict[int, list[Command]] = {}
    for _, command in analysis.commands:
        found.setdefault(id(command.instruction), []).append(command)
    return found


# --- UV118: the lock thrown away ---------------------------------------------------------

LOCK_CONSUMERS = {("sync",), ("run",), ("export",)}


def _uses_the_lock(argv: tuple[str, ...]) -> bool:
    return has_flag(argv, "--locked", "--frozen")


def _discards_lock(argv: tuple[str, ...]) -> str | None:
    """``"rm"`` for ``rm [-f] [path/]uv.lock``, ``"lock"`` for ``uv lock`` that rewrites it."""
    if program(argv) == "rm" and any(
        not w.startswith("-") and w.rsplit("/", 1)[-1] == "uv.lock" for w in argv[1:]
    ):
        return "rm"
    if uv_subcommand(argv) == ("lock",) and not has_flag(
        argv, "--check", "--locked", "--check-exists", "--dry-run"
    ):
        return "lock"
    return None


def _lock_is_there(analysis: Analysis, stage: Stage, before: Instruction) -> bool:
    """Whether the build has the project's uv.lock at ``before`` (context or an explicit COPY)."""
    if analysis.context.has_uv_lock:
        return True
    for _, item in _lineage_items(analysis, stage):
        if item is before:
            break
        copied = copy_sources(item) if item.keyword in ("COPY", "ADD") else []
        if item.flag("from") is None and any(s.rsplit("/", 1)[-1] == "uv.lock" for s in copied):
            return True
        if item.keyword == "RUN" and any(
            (m.source or "").rsplit("/", 1)[-1] == "uv.lock" for m in item.mounts
        ):
            return True
    return False


@rule(
    "UV118",
    "lock-discarded",
    "warning",
    summary="the build deletes or re-creates `uv.lock` and then installs from it",
    why="""
`uv.lock` is what makes the image reproducible: it pins every package, version and
file hash that was tested. `rm uv.lock` followed by `uv sync`, or `uv lock` (which
resolves again and rewrites the lock) before `uv sync`, installs whatever the indexes
serve on the day of the build instead. Keep the lock the project committed, install
with `uv sync --locked`, and check it with `uv lock --check` if needed.
""",
    bad="""
COPY pyproject.toml uv.lock ./
RUN uv lock && uv sync --locked
""",
    good="""
COPY pyproject.toml uv.lock ./
RUN uv sync --locked
""",
    source='uv docs, "Locking and syncing" (--locked, --frozen, uv lock --check); '
    "uv's Docker guide",
)
def lock_discarded(analysis: Analysis) -> Iterator[Hit]:
    if not any(_discards_lock(c.argv) for _, c in analysis.commands):
        return  # nothing deletes or re-creates the lock: the usual case, decided in one pass
    by_item = _commands_by_instruction(analysis)
    reported: set[int] = set()
    for stage in analysis.stages:
        if stage.index not in analysis.reaching_final:
            continue
        pending: list[tuple[Instruction, str]] = []  # discards not yet followed by an install
        for member, item in _lineage_items(analysis, stage):
            if pending and _restores_lock(analysis, item):
                pending = []  # the committed lock is back (COPY of it, or mounted over it)
            for command in by_item.get(id(item), []):
                argv = command.argv
                kind = _discards_lock(argv)
                if kind == "rm" and (analysis.context.root is None or analysis.context.has_uv_lock):
                    pending.append((item, kind))  # `rm uv.lock` says there is one
                    continue
                if kind == "lock" and _lock_is_there(analysis, member, item):
                    pending.append((item, kind))
                    continue
                if uv_subcommand(argv) not in LOCK_CONSUMERS or not pending:
                    continue
                gone = pending[-1][1] == "rm"
                if gone and _uses_the_lock(argv):
                    continue  # --locked without a lock fails loudly: not silent drift
                for discard, how in pending:
                    if id(discard) in reported:
                        continue
                    reported.add(id(discard))
                    what = "`rm uv.lock` deletes" if how == "rm" else "`uv lock` re-resolves"
                    needle = "uv.lock" if how == "rm" else re.compile(r"uv\s+lock")
                    install = " ".join(uv_subcommand(argv) or ())
                    yield Hit(
                        span=analysis.find_in(discard, needle) or analysis.keyword_span(discard),
                        message=f"{what} the project's lock before `uv {install}` (line "
                        f"{item.span.start_line}): the image gets what resolves today, not what "
                        "uv.lock pins; keep uv.lock and use `uv sync --locked`",
                    )
                pending = []


def _restores_lock(analysis: Analysis, item: Instruction) -> bool:
    """A COPY of the context's uv.lock (or of the whole context), or a RUN that bind-mounts
    it: what an earlier `rm uv.lock` or `uv lock` did is undone for what follows."""
    import fnmatch  # noqa: PLC0415 - only for the few Dockerfiles that re-lock

    if analysis.context.root is not None and not analysis.context.has_uv_lock:
        return False
    if item.keyword == "RUN":
        return any(
            m.type == "bind" and not m.fields.get("from") and (m.source or "").endswith("uv.lock")
            for m in item.mounts
        )
    if item.keyword not in ("COPY", "ADD") or item.flag("from") is not None:
        return False
    for source in copy_sources(item):
        cleaned = source.strip("/").removeprefix("./") or "."
        if cleaned in (".", "*") or fnmatch.fnmatch("uv.lock", cleaned):
            return True
    return False


# --- UV119: PATH at ~/.cargo/bin for an installer that no longer writes there -------------

NEW_LAYOUT = (0, 5, 0)  # uv 0.5.0: the installer writes to $HOME/.local/bin (astral-sh/uv#8420)
INSTALL_DIR_VARIABLES = ("UV_INSTALL_DIR", "UV_UNMANAGED_INSTALL", "XDG_BIN_HOME", "XDG_DATA_HOME",
                         "CARGO_DIST_FORCE_INSTALL_DIR")  # fmt: skip
COPYING = ("mv", "cp", "ln", "install")


def _installs_to_local_bin(analysis: Analysis, stage: Stage, item: Instruction, version: str | None,
                           ) -> bool:  # fmt: skip
    """Whether this installer run certainly writes uv to $HOME/.local/bin."""
    if version == UNKNOWN:
        return False
    if version is not None:
        numbers = tuple(int(n) for n in version.split("."))
        if numbers < NEW_LAYOUT:
            return False
    text = item.args + "".join(h.content for h in item.heredocs)
    env = analysis.env_before(stage, item)
    return not any(name in text or name in env for name in INSTALL_DIR_VARIABLES)


def _other_uv(analysis: Analysis, stage: Stage, item: Instruction, command: Command | None) -> bool:
    """Whether uv also comes from elsewhere (uv's image, pip, a package manager)."""
    repo, _, _ = split_image(analysis.root_image(stage))
    if repo == UV_IMAGE:
        return True
    if command is not None and (
        program(command.argv) in ("pip", "pip3", "pipx", "apk", "apt-get", "brew")
        and "uv" in command.argv
    ):
        return True
    if item.keyword in ("COPY", "ADD"):
        source = item.flag("from")
        return bool(source and source.value and UV_IMAGE in source.value) or any(
            s.rsplit("/", 1)[-1] in ("uv", "uvx") for s in copy_sources(item)
        )
    return False


@rule(
    "UV119",
    "uv-installer-path",
    "error",
    summary="`~/.cargo/bin` used for uv installed by uv's installer 0.5 or later, which "
    "writes to `~/.local/bin`",
    why="""
Since uv 0.5.0 the installer script puts `uv` in `$HOME/.local/bin` (or `$XDG_BIN_HOME`,
or `$UV_INSTALL_DIR`), no longer in `~/.cargo/bin`. A Dockerfile written for older
versions, with `ENV PATH="/root/.cargo/bin:$PATH"` or `/root/.cargo/bin/uv`, fails with
`uv: not found` as soon as the unversioned installer serves a newer uv. Put
`/root/.local/bin` on `PATH` (or set `UV_INSTALL_DIR`), or better, copy a pinned uv
from its image.
""",
    bad="""
RUN curl -LsSf https://astral.sh/uv/install.sh | sh
ENV PATH="/root/.cargo/bin:$PATH"
RUN uv sync --locked
""",
    good="""
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/
RUN uv sync --locked
""",
    source="uv 0.5.0 release notes (installer: ~/.local/bin instead of ~/.cargo/bin, "
    "astral-sh/uv#8420); astral-sh/uv#8925, #8948",
)
def uv_installer_path(analysis: Analysis) -> Iterator[Hit]:
    installers = {id(i.instruction): i for i in uv_installers(analysis)}
    if not installers:
        return
    by_item = _commands_by_instruction(analysis)
    reported: set[int] = set()
    for stage in analysis.stages:
        new_layout = False
        other_uv = False
        path_set: Instruction | None = None  # the last ENV that put ~/.cargo/bin on PATH
        for member, item in _lineage_items(analysis, stage):
            installer = installers.get(id(item))
            if installer is not None:
                new_layout = _installs_to_local_bin(analysis, member, item, installer.version)
            other_uv = other_uv or _other_uv(analysis, member, item, None)
            if item.keyword == "ENV" and any(k == "PATH" for k, _ in analysis.variables(item)):
                value = dict(analysis.variables(item))["PATH"]
                path_set = item if ".cargo/bin" in value else None
            if not new_layout or member is not stage:
                continue  # a stage reports its own instructions; its ancestors report theirs
            for command in by_item.get(id(item), []):
                other_uv = other_uv or _other_uv(analysis, member, item, command)
                hit = _missing_uv(analysis, command, path_set, other_uv=other_uv)
                if hit is not None and id(hit[0]) not in reported:
                    reported.add(id(hit[0]))
                    yield hit[1]


def _missing_uv(analysis: Analysis, command: Command, path_set: Instruction | None, *,
                other_uv: bool) -> tuple[Instruction, Hit] | None:  # fmt: skip
    argv = command.argv
    item = command.instruction
    script = item.args + "".join(h.content for h in item.heredocs)
    for index, word in enumerate(argv):
        if ".cargo/bin/uv" not in word:
            continue
        if program(argv) in COPYING and index == len(argv) - 1:
            continue  # something is put there, not taken from there
        return item, Hit(
            span=analysis.find_in(item, ".cargo/bin/uv") or analysis.keyword_span(item),
            message="uv's installer (0.5 and later) puts uv in $HOME/.local/bin, so "
            f"{word} does not exist; use $HOME/.local/bin/uv, or COPY a pinned uv from "
            f"{UV_IMAGE}:X.Y.Z",
        )
    if argv[:1] != ("uv",) or other_uv or path_set is None or ".local/bin" in script:
        return None
    path = command.env.get("PATH", "")
    if ".cargo/bin" not in path or ".local/bin" in path:
        return None
    return path_set, Hit(
        span=analysis.find_in(path_set, ".cargo/bin") or analysis.keyword_span(path_set),
        message="uv's installer (0.5 and later) puts uv in $HOME/.local/bin, not ~/.cargo/bin: "
        f"`uv` on line {item.span.start_line} is not found; put /root/.local/bin on PATH, "
        f"or COPY a pinned uv from {UV_IMAGE}:X.Y.Z",
    )


# --- PY224: || true after an install -----------------------------------------------------

NO_OPS = {("true",), (":",), ("/bin/true",), ("exit", "0")}
OR_GAP = re.compile(r"[\s\\;)}]*\|\|[\s\\]*")
AND_GAP = re.compile(r"[\s\\]*&&[\s\\]*")


def _installs(argv: tuple[str, ...]) -> bool:
    """Whether a command installs or builds what the image needs."""
    sub = uv_subcommand(argv)
    if sub in {("sync",), ("pip", "install"), ("pip", "sync"), ("build",), ("tool", "install")}:
        return True
    name = program(argv)
    words = [w for w in argv[1:] if not w.startswith("-")]
    if re.fullmatch(r"pip3?(\.\d+)?", name) or (
        re.fullmatch(r"python3?(\.\d+)?", name) and argv[1:3] == ("-m", "pip")
    ):
        return "install" in words
    if name in ("apt-get", "apt", "dnf", "yum", "microdnf"):
        return words[:1] == ["install"]
    if name == "apk":
        return words[:1] == ["add"]
    if name in ("poetry", "pdm"):
        return words[:1] in (["install"], ["sync"])
    return False


OR_NO_OP = re.compile(r"\|\|\s*(?:true|:|/bin/true|exit 0)")


def _in_loop(script: str, command: ShellCommand) -> bool:
    """Whether the command is inside a ``for``/``while`` loop: ``|| true`` there usually skips
    optional items (plugins a glob may or may not find), a deliberate best effort."""
    if command.offsets is None:
        return False
    before = script[: command.offsets[0]]
    return len(re.findall(r"\bdo\b", before)) > len(re.findall(r"\bdone\b", before))


def _guarded(script: str, found: list[ShellCommand]) -> Iterator[tuple[ShellCommand, str]]:
    """(command, no-op) for commands whose failure a following ``|| true`` swallows."""
    top = [(c, c.offsets) for c in found if c.depth == 0 and c.offsets is not None]
    for index in range(1, len(top)):
        fallback, (start, _) = top[index]
        if fallback.argv not in NO_OPS or not OR_GAP.fullmatch(
            script[top[index - 1][1][1] : start]
        ):
            continue
        # `a && b || true`: a failing `a` is swallowed too.
        chain = index - 1
        while chain >= 0:
            yield top[chain][0], " ".join(fallback.argv)
            if chain == 0 or not AND_GAP.fullmatch(script[top[chain - 1][1][1] : top[chain][1][0]]):
                break
            chain -= 1


@rule(
    "PY224",
    "install-failure-ignored",
    "warning",
    summary="an install or build step whose failure a `true` fallback turns into success",
    why="""
`uv sync ... || true` (or `|| :`, `|| exit 0`) turns a failed install into a success:
the build goes on, and the image ships without the packages. The failure then shows up
at run time, as an `ImportError` in production, instead of failing the build where its
log explains it. Let install steps fail; make only the steps that may fail harmlessly
(`rm`, `grep`) optional.
""",
    bad="RUN uv sync --locked --no-dev || true",
    good="RUN uv sync --locked --no-dev",
    source='Docker docs, "Best practices: RUN" (set -o pipefail); hadolint DL4006 (related)',
)
def install_failure_ignored(analysis: Analysis) -> Iterator[Hit]:
    for item in analysis.dockerfile.instructions:
        for script in _scripts(item):
            for command, no_op in _guarded(script, commands(script)):
                if not _installs(command.argv) or _in_loop(script, command):
                    continue
                shown = " ".join(command.argv[:3])
                span = None
                if script is item.args and command.offsets is not None:
                    # The `|| true` right after this command, not the first in the RUN.
                    after = OR_NO_OP.search(script, command.offsets[1])
                    if after is not None:
                        span = item.span_in_args(after.start(), after.end())
                yield Hit(
                    span=span or analysis.find_in(item, OR_NO_OP) or analysis.keyword_span(item),
                    message=f"`|| {no_op}` hides a failed `{shown}`: the build succeeds and the "
                    "image lacks what it installs; remove it",
                )
                break  # one finding per instruction and script is enough


# --- PY227: --chown to a user the image does not have ------------------------------------


def _account_names(analysis: Analysis, stage: Stage, before: Instruction) -> set[str] | None:
    """Names the stage's own steps may have created before ``before``; None when unknowable."""
    names: set[str] = set()
    by_item = _commands_by_instruction(analysis)
    for member, item in _lineage_items(analysis, stage):
        if item is before:
            return names
        text = item.args + "".join(h.content for h in item.heredocs)
        if "/etc/passwd" in text or "/etc/group" in text:
            return None
        if item.keyword in ("COPY", "ADD"):
            destination = (copy_sources(item) and (item.exec_form or item.args.split())[-1]) or ""
            if destination.rstrip("/") in ("", "/etc") or destination.startswith("/etc/"):
                return None
        if item.keyword == "USER":
            names.update(expand(item.args.strip(), analysis.env_before(member, item)).split(":"))
        for command in by_item.get(id(item), []):
            words = [expand(w, command.env, keep_unset=True) for w in command.argv]
            name = program(command.argv)
            if name in ACCOUNT_TOOLS:
                if any("$" in w for w in words):
                    return None
                names.update(w for w in words[1:] if not w.startswith("-"))
                names.update(w.split("=", 1)[1] for w in words[1:] if "=" in w)
            elif name in PACKAGE_TOOLS:
                # packages create their own system users (postgresql: postgres, nginx: nginx)
                names.update(w.split("=", 1)[0] for w in words[1:] if not w.startswith("-"))
                if any("$" in w for w in words):
                    return None
            elif name.endswith(".sh") or (
                name in ("sh", "bash") and any(not w.startswith("-") for w in words[1:])
            ):
                return None  # a script we cannot see may create anyone
    return names


def _known(name: str, surely: frozenset[str], created: set[str]) -> bool:
    if name.isdigit() or name in surely or name in created:
        return True
    # A package named after the account (postgres from postgresql, redis from redis-server).
    return any(len(c) >= 4 and (c.startswith(name[:4]) or name.startswith(c[:4])) for c in created)  # noqa: PLR2004


@rule(
    "PY227",
    "chown-unknown-user",
    "warning",
    summary="`COPY --chown`/`ADD --chown` names a user or group the image does not have",
    why="""
BuildKit resolves a `--chown` name in the stage's own `/etc/passwd` and `/etc/group` at
that step. When the name is not there (the `useradd` comes later, sits in another
stage, or was never written), it does not fail: the files are silently owned by UID 0,
root, and the app running as the intended user cannot write to them (the classic
builder stops with "unable to convert uid/gid chown string"). Create the user before
the `COPY`, in the same stage or one it is built FROM, or use numeric IDs.
""",
    bad="""
COPY --chown=app:app . /app
RUN useradd --system --uid 10001 app
""",
    good="""
RUN useradd --system --uid 10001 app
COPY --chown=app:app . /app
""",
    source="BuildKit solver/llbsolver/file/user_linux.go (readUser: an unknown name leaves "
    "UID/GID 0); moby/buildkit#7002; moby/moby#34263",
)
def chown_unknown_user(analysis: Analysis) -> Iterator[Hit]:
    for stage in analysis.stages:
        surely = image_accounts(analysis.root_image(stage))
        if surely is None:
            continue
        users, groups = surely
        for item in stage.instructions:
            flag = item.flag("chown") if item.keyword in ("COPY", "ADD") else None
            if flag is None or not flag.value:
                continue
            value = expand(flag.value, analysis.env_before(stage, item))
            if "$" in value or not value:
                continue
            user, _, group = value.partition(":")
            created = _account_names(analysis, stage, item)
            if created is None:
                continue
            if user and not _known(user, users, created):
                consequence = "the files stay owned by root (UID 0)"
                missing = f"user {user}"
            elif group and not _known(group, groups, created):
                consequence = "the files get the user's own group instead"
                missing = f"group {group}"
            else:
                continue
            yield Hit(
                span=flag.span,
                message=f"--chown={flag.value}: this stage has no {missing} at this point, "
                f"and BuildKit does not fail: {consequence}; create it before the "
                f"{item.keyword} (or use numeric IDs)",
            )
