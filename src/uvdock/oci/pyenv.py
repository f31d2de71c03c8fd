"""A virtual environment for another platform, built on this machine without emulating it.

uv installs wheels for a target platform and Python version it does not run on
(``--python-platform``, ``--python-version``, binary wheels only), into a plain
directory. This module turns that into a venv that works at its place in the
image: ``lib/pythonX.Y/site-packages``, ``bin/python`` pointing at the base
image's interpreter, ``pyvenv.cfg``, and console scripts whose shebang is the
venv's python (uv writes the host interpreter there; astral-sh/uv#1517).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import netrc
import os
import re
import shutil
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

from uvdock._proc import ProcessResult, Runner, run
from uvdock.errors import UvdockError

# The manylinux levels `uv pip install --python-platform` accepts (uv 0.13).
MANYLINUX_LEVELS = (17, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40)
UV_ARCH = {"amd64": "x86_64", "arm64": "aarch64"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class TargetPython:
    """The base image's Python, as found in its config and files."""

    version: str  # "3.13"
    full_version: str | None  # "3.13.5", when the image says
    executable: str  # the interpreter's path in the image, e.g. /usr/local/bin/python3.13
    glibc: tuple[int, int] | None  # None: unknown (or musl)
    musl: bool = False


class NoWheelError(UvdockError):
    """A locked package has no wheel for a target platform."""


def python_platform(architecture: str, target: TargetPython) -> str:
    """uv's ``--python-platform`` for an image architecture and the base's C library."""
    arch = UV_ARCH.get(architecture)
    if arch is None:
        raise UvdockError(
            f"the daemonless engine cannot build for linux/{architecture} yet",
            hint="use linux/amd64 or linux/arm64, or --engine docker",
        )
    if target.musl:
        return f"{arch}-unknown-linux-musl"
    if target.glibc is None:
        return f"{arch}-manylinux_2_17"  # the conservative default (what -gnu means to uv)
    major, minor = target.glibc
    level = max((lv for lv in MANYLINUX_LEVELS if major > 2 or lv <= minor), default=17)  # noqa: PLR2004
    return f"{arch}-manylinux_2_{level}"


# No install-time metadata (INSTALLER, direct_url.json: they vary between machines),
# never a downloaded Python (the image's own interpreter is the target).
UV_ENV = {"UV_NO_INSTALLER_METADATA": "1", "UV_PYTHON_DOWNLOADS": "never"}


def _uv(runner: Runner, uv: str, args: list[str], *, cwd: Path | None = None) -> ProcessResult:
    return runner([uv, *args], cwd=cwd, env=UV_ENV)


def export_requirements(
    project: Path,
    dest: Path,
    *,
    uv: str,
    selection: tuple[str, ...] = ("--no-dev",),
    runner: Runner = run,
) -> Path:
    """``uv export`` of the locked dependencies (hashes kept; nothing local, as ``selection``).

    ``selection`` is the plan's ``uv sync`` selection (``--package``, ``--extra``,
    groups); the project, workspace members and path dependencies are left out:
    they are built as wheels of their own.
    """
    out = dest / "requirements.txt"
    done = _uv(
        runner,
        uv,
        ["export", "--frozen", *selection, "--no-emit-local", "--emit-index-url",
         "--format", "requirements-txt", "--no-header", "-q", "-o", str(out)],
        cwd=project,
    )  # fmt: skip
    if done.returncode != 0:
        raise UvdockError(
            f"uv export failed in {project}: {done.stderr.strip().splitlines()[-1:]}",
            hint="check that uv.lock is current (uv lock --check)",
        )
    return out


# uv: "Because docopt==0.6.2 has no usable wheels and you require ..." (also "has no
# wheels with a matching platform tag").
# uv: "An index URL (https://...) could not be queried due to a lack of valid
# authentication credentials (401 Unauthorized)".
_NO_CREDENTIALS = re.compile(
    r"index URL \((\S+)\) could not be queried due to a lack of valid auth"
)
_NO_WHEEL = re.compile(r"[Bb]ecause ([\w.-]+==[\w.+!-]+) has no (?:usable )?wheels")


def install_for_platform(
    requirements: Path,
    site_packages: Path,
    *,
    uv: str,
    platform: str,
    python_version: str,
    runner: Runner = run,
    extra: tuple[str, ...] = (),
) -> None:
    """Install exactly ``requirements`` (hashed, binary wheels only) for a target platform."""
    site_packages.mkdir(parents=True, exist_ok=True)
    done = _uv(
        runner,
        uv,
        ["pip", "install", "--target", str(site_packages), "--python-platform", platform,
         "--python-version", python_version, "--only-binary", ":all:", "--no-deps",
         "--link-mode", "copy", "--no-progress", *extra, "-r", str(requirements)],
    )  # fmt: skip
    if done.returncode != 0:
        text = done.stderr
        match = _NO_WHEEL.search(text)
        if match:
            name = match.group(1)
            raise NoWheelError(
                f"{name} has no wheel for {platform} (Python {python_version}): the daemonless "
                "engine installs binary wheels only",
                hint="build this platform with --engine docker, which can compile it",
            )
        denied = _NO_CREDENTIALS.search(text)
        if denied:
            url = denied.group(1)
            names = [a.split("=", 1)[0] for a in extra if "=" in a and a.split("=", 1)[1] == url]
            raise _index_refused(url, names[0] if names else None, os.environ)
        last = [line for line in text.strip().splitlines() if line.strip()][-3:]
        raise UvdockError(
            f"uv could not install the dependencies for {platform}: {' '.join(last)}",
            hint="run the same with --debug, or use --engine docker",
        )


def _index_refused(url: str, name: str | None, environ: Mapping[str, str]) -> UvdockError:
    """The error for uv's 401 from ``url``: which credentials were refused, or which are missing.

    uv words a 401 the same whether it sent no credentials or wrong ones, so
    look at what it was given: the named index's ``UV_INDEX_<NAME>_USERNAME``
    and ``_PASSWORD`` (uv's own variables), or a netrc entry for the host. A
    hint to "export" variables that are already set sends the user the
    wrong way (issue 12). Only variable names and paths are shown, never a value.
    """
    shown = re.sub(r"//[^/@]*@", "//", url)  # never repeat credentials written in the URL
    prefix = f"UV_INDEX_{re.sub(r'[^A-Za-z0-9]', '_', name).upper()}" if name else "UV_INDEX_<NAME>"
    user, password = f"{prefix}_USERNAME", f"{prefix}_PASSWORD"
    present = [variable for variable in (user, password) if name and environ.get(variable)]
    if len(present) == 2:  # noqa: PLR2004 - both of the pair
        return UvdockError(
            f"the package index {shown} refused the credentials in {user} and {password} (401)",
            hint="check the user name and password (or token) in those variables, and that the "
            "account may read this index",
        )
    if present:
        missing = password if present[0] == user else user
        return UvdockError(
            f"the package index {shown} refused uv (401): {present[0]} is set but {missing} is not",
            hint=f"export {missing}=... (uvdock passes it to uv on this machine only; it never "
            "reaches the image)",
        )
    host = urllib.parse.urlsplit(url).hostname or ""
    netrc_file = _netrc_with(host, environ)
    if netrc_file is not None:
        return UvdockError(
            f"the package index {shown} refused the credentials in {netrc_file} (401)",
            hint=f"check the entry for {host} in {netrc_file}, or set {user} and {password}",
        )
    return UvdockError(
        f"the package index {shown} refused uv without credentials (401)",
        hint=f"export {user} and {password} (uvdock passes them to uv on this machine only; "
        "they never reach the image)",
    )


def _netrc_with(host: str, environ: Mapping[str, str]) -> Path | None:
    """The netrc file uv reads (``NETRC``, else ``~/.netrc``) when it has an entry for ``host``."""
    home = environ.get("HOME")
    path = Path(environ.get("NETRC") or (Path(home) if home else Path.home()) / ".netrc")
    try:
        found = netrc.netrc(str(path)).authenticators(host) if host else None
    except (OSError, netrc.NetrcParseError):
        return None
    return path if found is not None else None


def build_environment(
    cache: Path, requires: tuple[str, ...], *, uv: str, python: str | None, runner: Runner = run
) -> Path | None:
    """A kept virtual environment with the build backend, or None when it cannot be made.

    Building in a fresh isolated environment costs about 0.5 s per build (create,
    resolve, install the backend); a source edit should not pay that. The
    environment is keyed by ``[build-system] requires`` and the interpreter.
    """
    if not requires:
        return None
    key = hashlib.sha256(json.dumps([requires, python]).encode()).hexdigest()[:16]
    env = cache / "build-envs" / key
    if (env / "bin" / "python").exists() and (env / ".complete").exists():
        return env
    shutil.rmtree(env, ignore_errors=True)
    env.parent.mkdir(parents=True, exist_ok=True)
    made = _uv(runner, uv, ["venv", "-q", *(["--python", python] if python else []), str(env)])
    if made.returncode != 0:
        return None
    installed = _uv(
        runner, uv, ["pip", "install", "-q", "--python", str(env / "bin" / "python"), *requires]
    )
    if installed.returncode != 0:
        shutil.rmtree(env, ignore_errors=True)
        return None
    (env / ".complete").write_text("")
    return env


def build_project_wheel(
    project: Path,
    dest: Path,
    *,
    uv: str,
    build_env: Path | None = None,
    targets: tuple[str, ...] = (".",),
    runner: Runner = run,
) -> list[Path]:
    """Build the project's wheels once (pure Python; the same wheel serves every platform).

    With ``build_env`` (see :func:`build_environment`), without build isolation.
    ``targets`` says what to build, from the context ``project``: ``"."`` (the
    root project), ``"--package=NAME"`` (a workspace member), or a directory (a
    path dependency).
    """
    dest.mkdir(parents=True, exist_ok=True)
    isolation = (
        ["--no-build-isolation", "--python", str(build_env / "bin" / "python")]
        if build_env is not None
        else []
    )
    for target in targets:
        done = _uv(
            runner,
            uv,
            ["build", "--wheel", *isolation, "--out-dir", str(dest), "-q", target],
            cwd=project,
        )
        if done.returncode != 0:
            raise UvdockError(
                f"building the wheel of {target.removeprefix('--package=')} failed: "
                f"{done.stderr.strip().splitlines()[-1:]}",
                hint="check that `uv build --wheel` works in the project",
            )
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise UvdockError(
            "building the project's wheel gave no wheel",
            hint="check that `uv build --wheel` works in the project",
        )
    for wheel in wheels:
        if not wheel.name.endswith("-none-any.whl"):
            raise UvdockError(
                f"{wheel.name} is platform-specific: the daemonless engine cannot compile the "
                "project for another platform",
                hint="use --engine docker for projects with compiled extensions",
            )
    return wheels


def make_venv(
    staging: Path,
    *,
    venv_path: str,
    target: TargetPython,
    site_packages: Path,
) -> None:
    """Turn ``staging`` (holding ``lib/pythonX.Y/site-packages``) into a venv for ``venv_path``.

    ``uv pip install --target`` puts console scripts in ``site-packages/bin``;
    they move to ``bin/`` with the venv's python as their interpreter.
    """
    bin_dir = staging / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    move_scripts(site_packages, bin_dir, python=f"{venv_path}/bin/python")
    for name in ("python", "python3", f"python{target.version}"):
        link = bin_dir / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target.executable if name == "python" else "python")
    home = target.executable.rsplit("/", 1)[0]
    cfg = [
        f"home = {home}",
        "include-system-site-packages = false",
        f"version = {target.full_version or target.version}",
        f"executable = {target.executable}",
    ]
    (staging / "pyvenv.cfg").write_text("\n".join(cfg) + "\n")


def move_scripts(site_packages: Path, bin_dir: Path, *, python: str) -> None:
    """Move the console scripts ``uv pip install --target`` left in ``site-packages/bin``
    to ``bin_dir``, with ``python`` as their interpreter."""
    scripts = site_packages / "bin"
    if not scripts.is_dir():
        return
    bin_dir.mkdir(parents=True, exist_ok=True)
    for script in sorted(scripts.iterdir()):
        shutil.move(str(script), bin_dir / script.name)
        rewrite_shebang(bin_dir / script.name, python)
    scripts.rmdir()


def rewrite_shebang(script: Path, python: str) -> None:
    """Point a console script at ``python`` (both plain and ``/bin/sh`` trampoline forms)."""
    try:
        data = script.read_bytes()
    except OSError:
        return
    if not data.startswith(b"#!"):
        return
    first, _, rest = data.partition(b"\n")
    if first.startswith(b"#!/bin/sh") and rest.startswith(b"'''exec'"):
        line, _, tail = rest.partition(b"\n")
        rest = re.sub(rb"'''exec' \S+", b"'''exec' " + python.encode(), line) + b"\n" + tail
        script.write_bytes(first + b"\n" + rest)
    elif b"python" in first:
        script.write_bytes(b"#!" + python.encode() + b"\n" + rest)
    script.chmod(0o755)
