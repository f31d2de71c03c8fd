"""Checks inside a built image: one ``docker run --entrypoint python`` of a small script.

The script (``SCRIPT``) needs only the image's Python (no shell, no uv), runs
as the image's own user with no network, and prints one JSON object: the
Python, ``sys.path``, the installed distributions, the user, which paths it
can write, and whether the entrypoint's module imports. This module builds
its arguments from the image's ``Cmd``/``Entrypoint``, parses its answer
into ``Check`` values and an ``ImageReport``; nothing here prints.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from pathlib import PurePosixPath
from typing import Any

from uvdock.docker.cli import DockerCLI
from uvdock.doctor.checks import Check
from uvdock.errors import ProcessFailedError, UvdockError

MARKER = "UVDOCK_DOCTOR_JSON:"
SERVERS = frozenset({"uvicorn", "gunicorn", "hypercorn", "granian"})
_APP_REF = re.compile(r"^([A-Za-z_][\w.]*):[A-Za-z_][\w.]*(\(.*\))?$")
_PYTHON = re.compile(r"^python(\d(\.\d+)?)?$")

# Runs inside the image as `python -c SCRIPT KIND TARGET`; KIND is module|script|none.
SCRIPT = r"""
import contextlib, importlib, json, os, sys, sysconfig, traceback
from importlib import metadata

kind, target = sys.argv[1], sys.argv[2]
out = {"python": {"version": sys.version.split()[0], "executable": sys.executable,
                  "implementation": sys.implementation.name},
       "sys_path": [p for p in sys.path], "prefix": sys.prefix,
       "base_prefix": sys.base_prefix, "site_packages": sysconfig.get_paths()["purelib"]}
dists = {}
for dist in metadata.distributions():
    name = dist.metadata["Name"]
    if name:
        dists.setdefault(name, dist.version)
out["distributions"] = sorted(([n, v] for n, v in dists.items()), key=lambda d: d[0].lower())
user = {"uid": os.getuid(), "gid": os.getgid(), "name": None, "home": os.environ.get("HOME")}
try:
    import pwd
    entry = pwd.getpwuid(os.getuid())
    user["name"] = entry.pw_name
    user["home"] = user["home"] or entry.pw_dir
except (ImportError, KeyError):
    pass
out["user"] = user
paths = {}
for label, path in (("/app", "/app"), ("/tmp", "/tmp"), ("$HOME", user["home"]),
                    ("prefix", sys.prefix), ("site-packages", out["site_packages"])):
    if path:
        paths[label] = {"path": path, "exists": os.path.isdir(path),
                        "writable": os.path.isdir(path) and os.access(path, os.W_OK)}
out["paths"] = paths
entry = {"kind": kind, "target": target, "module": None, "ok": None, "error": None}
try:
    module = target
    if kind == "script":
        found = [ep for ep in metadata.entry_points(group="console_scripts") if ep.name == target]
        module = found[0].module if found else None
        if module is None:
            entry["ok"] = False
            entry["error"] = "no console script named " + target
    if kind in ("module", "script") and module:
        entry["module"] = module
        with contextlib.redirect_stdout(sys.stderr):
            importlib.import_module(module)
        entry["ok"] = True
except BaseException as err:
    entry["ok"] = False
    entry["error"] = (type(err).__name__ + ": " + str(err)).strip().splitlines()[0][:300]
out["entry"] = entry
sys.stdout.write("\n" + "UVDOCK_DOCTOR_JSON:" + json.dumps(out) + "\n")
"""


class ImageCheckError(UvdockError):
    """The image cannot be checked (missing, no Python, unreadable answer)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class EntryTarget:
    """What to import: ``kind`` is ``module`` (a module name), ``script`` or ``none``."""

    kind: str
    target: str
    how: str


def entry_target(entrypoint: list[str] | None, cmd: list[str] | None) -> EntryTarget:
    """The module the container starts, from the image's Entrypoint + Cmd."""
    argv = [*(entrypoint or []), *(cmd or [])]
    if len(argv) >= 3 and PurePosixPath(argv[0]).name in {"sh", "bash"} and argv[1] == "-c":  # noqa: PLR2004
        try:
            argv = shlex.split(argv[2])
        except ValueError:
            return EntryTarget(kind="none", target="", how="unparsable shell command")
        if argv and argv[0] == "exec":
            argv = argv[1:]
    if not argv:
        return EntryTarget(kind="none", target="", how="the image has no Cmd or Entrypoint")
    program = PurePosixPath(argv[0]).name
    shown = shlex.join(argv)
    if program in SERVERS:
        for arg in argv[1:]:
            match = _APP_REF.match(arg)
            if match:
                return EntryTarget(kind="module", target=match.group(1), how=shown)
        return EntryTarget(kind="none", target="", how=f"no MODULE:ATTR in `{shown}`")
    if _PYTHON.match(program):
        if len(argv) >= 3 and argv[1] == "-m":  # noqa: PLR2004
            return EntryTarget(kind="module", target=argv[2], how=shown)
        return EntryTarget(kind="none", target="", how=f"`{shown}` names no module")
    return EntryTarget(kind="script", target=program, how=shown)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImageReport:
    image: str
    command: str
    info: dict[str, Any]
    checks: tuple[Check, ...]

    def to_data(self) -> dict[str, Any]:
        info = self.info
        return {
            "image": self.image,
            "command": self.command,
            "python": info.get("python"),
            "sys_path": info.get("sys_path", []),
            "distributions": [{"name": n, "version": v} for n, v in info.get("distributions", [])],
            "user": info.get("user"),
            "paths": info.get("paths", {}),
            "entrypoint": info.get("entry"),
            "checks": [c.to_data() for c in self.checks],
        }


def parse_answer(stdout: str) -> dict[str, Any]:
    """The JSON object after the marker on the script's last marked line."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            if isinstance(data, dict):
                return data
    raise ImageCheckError("the in-image check printed no result", hint="rerun with --debug")


_CODE_PATHS = ("/app", "prefix", "site-packages")


def image_checks(info: dict[str, Any], target: EntryTarget) -> tuple[Check, ...]:
    """Judge what the script found: root, writable code, the entrypoint import."""
    python = info.get("python") or {}
    checks = [
        Check(
            name="python",
            status="ok",
            detail=f"{python.get('version')} at {python.get('executable')}",
        )
    ]
    user = info.get("user") or {}
    uid, gid, name = user.get("uid"), user.get("gid"), user.get("name")
    who = f"uid {uid}, gid {gid}, " + (f"name {name}" if name else "no passwd entry")
    if uid == 0:
        checks.append(
            Check(
                name="user",
                status="warning",
                detail=who + " (root)",
                fix="run as a numeric non-root user: USER 10001:10001",
            )
        )
    else:
        checks.append(Check(name="user", status="ok", detail=who + " (non-root)"))
    for label, entry in (info.get("paths") or {}).items():
        path = entry.get("path")
        if not entry.get("exists"):
            checks.append(Check(name=f"writable {label}", status="ok", detail=f"{path}: missing"))
            continue
        writable = bool(entry.get("writable"))
        state = f"{path}: {'writable' if writable else 'read-only'} for uid {uid}"
        if label in _CODE_PATHS and writable and uid != 0:
            checks.append(
                Check(
                    name=f"writable {label}",
                    status="warning",
                    detail=state,
                    fix="keep code and the venv owned by root (COPY without "
                    "--chown) so the app cannot change its own code",
                )
            )
        elif label == "/tmp" and not writable:  # noqa: S108 - a path in the image
            checks.append(
                Check(
                    name="writable /tmp",
                    status="warning",
                    detail=state,
                    fix="mount a tmpfs on /tmp (docker run --tmpfs /tmp)",
                )
            )
        else:
            checks.append(Check(name=f"writable {label}", status="ok", detail=state))
    checks.append(_entry_check(info.get("entry") or {}, target))
    dists = info.get("distributions") or []
    checks.append(Check(name="distributions", status="ok", detail=f"{len(dists)} installed"))
    return tuple(checks)


def _entry_check(entry: dict[str, Any], target: EntryTarget) -> Check:
    if target.kind == "none":
        return Check(name="entrypoint", status="note", detail=f"not checked: {target.how}")
    module = entry.get("module") or target.target
    if entry.get("ok"):
        return Check(name="entrypoint", status="ok", detail=f"{module} imports ({target.how})")
    return Check(
        name="entrypoint",
        status="error",
        detail=f"{module} does not import: {entry.get('error')} ({target.how})",
        fix="check the module path in CMD and that the project is installed in the image's venv",
    )


def _image_config(docker: DockerCLI, image: str) -> dict[str, Any]:
    fmt = "{{json .Config}}"
    done = docker.probe("image", "inspect", "--format", fmt, image, timeout=60)
    if not done.ok:
        pulled = docker.probe("pull", "--quiet", image, timeout=600)
        if not pulled.ok:
            raise ImageCheckError(
                f"image {image} not found: {pulled.tail(1)}", hint="build or pull it first"
            )
        done = docker.probe("image", "inspect", "--format", fmt, image, timeout=60)
    try:
        config = json.loads(done.stdout)
    except json.JSONDecodeError as err:
        raise ImageCheckError(f"cannot read the configuration of {image}") from err
    return config if isinstance(config, dict) else {}


def inspect_image(docker: DockerCLI, image: str) -> ImageReport:
    """Run the check script in ``image``; a clear error when it has no ``python``."""
    config = _image_config(docker, image)
    target = entry_target(config.get("Entrypoint"), config.get("Cmd"))
    done = docker.probe(
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "python",
        image,
        "-c",
        SCRIPT,
        target.kind,
        target.target,
        timeout=300,
    )
    if not done.ok and MARKER not in done.stdout:
        text = done.stdout + done.stderr
        if done.returncode == 127 or "executable file not found" in text:  # noqa: PLR2004
            raise ImageCheckError(
                f"{image} has no `python` on its PATH, so it cannot be checked",
                hint="doctor runs the image's own Python; images without one "
                "(like uv's distroless image) cannot be inspected",
            )
        raise ProcessFailedError(f"the check in {image} failed: {done.tail(1)}")
    info = parse_answer(done.stdout)
    command = shlex.join([*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])])
    return ImageReport(image=image, command=command, info=info, checks=image_checks(info, target))
