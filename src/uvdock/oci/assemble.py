"""Stage what each platform's image adds to its base: the dependency venv, the project.

Each stage is a directory tree mirroring image paths (``<stage>/app/.venv/...``),
which the layer writer turns into a deterministic tar. Nothing here runs on, or
emulates, the target platform: uv installs the target's wheels, and bytecode is
compiled by a host interpreter of the target's Python version when there is one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from uvdock._proc import Runner, run
from uvdock.oci.pyenv import (
    UV_ENV,
    TargetPython,
    install_for_platform,
    make_venv,
    move_scripts,
)


def site_packages(root: Path, venv_path: str, target: TargetPython) -> Path:
    return root / venv_path.lstrip("/") / "lib" / f"python{target.version}" / "site-packages"


def find_host_python(version: str, *, uv: str, runner: Runner = run) -> str | None:
    """A Python ``version`` (X.Y) on this machine, to compile bytecode for the target."""
    done = runner([uv, "python", "find", version, "--no-project"], env=UV_ENV)
    path = done.stdout.strip()
    if done.returncode == 0 and path:
        return path
    # uv stops at the first broken interpreter on PATH (a pyenv shim for a version
    # that is not selected); look at the usual places directly.
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [
        Path(d) / f"python{version}"
        for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and "shims" not in d
    ]
    candidates += sorted(pyenv_root.glob(f"versions/{version}*/bin/python{version}"), reverse=True)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            check = runner([str(candidate), "-c", "import sys; print(sys.version_info[:2])"])
            if check.returncode == 0:
                return str(candidate)
    return None


def compile_tree(root: Path, directory: Path, *, python: str, runner: Runner = run) -> bool:
    """Compile ``directory`` (inside ``root``) as it will be in the image: unchecked-hash pycs.

    ``-s root -p /`` records the in-image path in each .pyc; unchecked-hash pycs
    do not depend on file times (PEP 552), so they are reproducible.
    """
    return compile_files(root, [directory], python=python, runner=runner)


def compile_files(root: Path, paths: list[Path], *, python: str, runner: Runner = run) -> bool:
    """Compile files or directories of ``root`` as :func:`compile_tree` does."""
    done = runner(
        [python, "-S", "-m", "compileall", "-q", "-j", "0", "--invalidation-mode",
         "unchecked-hash", "-s", str(root), "-p", "/", *(str(path) for path in paths)],
        env={"PYTHONHASHSEED": "0"},
    )  # fmt: skip
    return done.returncode == 0


def stage_dependencies(
    work: Path,
    *,
    architecture: str,
    target: TargetPython,
    python_platform: str,
    requirements: Path,
    venv_path: str,
    uv: str,
    host_python: str | None,
    indexes: tuple[str, ...] = (),
    runner: Runner = run,
) -> tuple[Path, bool]:
    """The venv with the locked dependencies for one platform: (tree, bytecode compiled).

    ``indexes`` are the project's named indexes as ``NAME=URL``: given to uv by
    name, so their ``UV_INDEX_<NAME>_USERNAME``/``_PASSWORD`` credentials apply
    (the exported requirements name the URLs only).
    """
    deps = work / architecture / "deps"
    if deps.exists():
        shutil.rmtree(deps)
    site = site_packages(deps, venv_path, target)
    install_for_platform(
        requirements, site, uv=uv, platform=python_platform,
        python_version=target.version, runner=runner,
        extra=tuple(arg for index in indexes for arg in ("--index", index)),
    )  # fmt: skip
    make_venv(deps / venv_path.lstrip("/"), venv_path=venv_path, target=target, site_packages=site)
    (site / ".lock").unlink(missing_ok=True)  # uv's --target lock file
    compiled = host_python is not None and compile_tree(
        deps, site, python=host_python, runner=runner
    )
    return deps, compiled


def stage_project(
    work: Path,
    *,
    target: TargetPython,
    python_platform: str,
    wheels: list[Path],
    venv_path: str,
    uv: str,
    host_python: str | None,
    runner: Runner = run,
) -> tuple[Path, bool]:
    """The project's own files in the venv: (tree, bytecode compiled).

    A pure-Python wheel installs the same files for every platform of one
    Python version, so callers stage it once per version.
    """
    project = work / f"project-{target.version}"
    if project.exists():
        shutil.rmtree(project)
    site = site_packages(project, venv_path, target)
    wheel_req = work / f"project-{target.version}.txt"
    wheel_req.write_text("".join(f"{wheel}\n" for wheel in wheels))
    install_for_platform(
        wheel_req, site, uv=uv, platform=python_platform,
        python_version=target.version, runner=runner,
    )  # fmt: skip
    move_scripts(site, project / venv_path.lstrip("/") / "bin", python=f"{venv_path}/bin/python")
    (site / ".lock").unlink(missing_ok=True)
    compiled = host_python is not None and compile_tree(
        project, site, python=host_python, runner=runner
    )
    return project, compiled


def stage_source(
    project_root: Path,
    work: Path,
    *,
    ignore_text: str,
    host_python: str | None,
    prefix: str = "",
    runner: Runner = run,
) -> tuple[Path, bool]:
    """A project that is not a package: its files at ``/app``, as ``COPY . /app`` would put them.

    ``ignore_text`` is the ``.dockerignore`` that applies (the project's own, or
    the one uvdock generates), matched with Docker's rules; ``prefix`` is where
    ``project_root`` is in the build context (a workspace member's directory),
    which the patterns are relative to.
    """
    from uvdock.dockerfile.ignore import is_ignored, parse_dockerignore  # noqa: PLC0415

    patterns = parse_dockerignore(ignore_text)
    tree = work / "source"
    if tree.exists():
        shutil.rmtree(tree)
    app = tree / "app"
    app.mkdir(parents=True)
    for path in sorted(project_root.rglob("*")):
        relative = path.relative_to(project_root).as_posix()
        in_context = f"{prefix}/{relative}" if prefix else relative
        if is_ignored(patterns, in_context) is not None or path.is_symlink():
            continue
        target = app / relative
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    compiled = host_python is not None and compile_tree(
        tree, app, python=host_python, runner=runner
    )
    return tree, compiled
