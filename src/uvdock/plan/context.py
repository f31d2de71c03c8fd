"""What the build context sends: the lines of the ``.dockerignore`` uvdock writes.

A fact of the plan, not of one renderer: ``uvdock init`` writes these lines
(render/), and the daemonless engine filters the project with them when the
project has no ``.dockerignore`` of its own, so both send the same files.

Keeps the context small and the cache stable (no ``.venv``, caches, VCS data,
build output) and keeps secrets (``.env*``) out of it. Never excludes what the
build reads: ``uv.lock``, ``pyproject.toml``, ``.python-version``, or the
README/LICENSE files ``pyproject.toml`` points at; re-includes them explicitly
when a broader pattern would catch them.
"""

from __future__ import annotations

from packaging.utils import canonicalize_name

from uvdock.dockerfile.ignore import is_ignored, parse_dockerignore
from uvdock.grammar import plain_path, shell_line
from uvdock.plan.model import BuildPlan

_EXCLUDED = (
    ("# Virtual environments: built inside the image for its platform.",
     ("**/.venv", "venv")),
    ("# Python caches and tool state.", (
        "**/__pycache__", "**/*.py[cod]", ".pytest_cache", ".mypy_cache", ".ruff_cache",
        ".tox", ".nox", ".coverage", ".coverage.*", "htmlcov", ".hypothesis", ".ipynb_checkpoints",
    )),
    ("# Secrets and local settings never enter the build context.", (".env", ".env.*", "**/.env")),
    ("# Build output.", ("build", "dist", "*.egg-info", "**/*.egg-info")),
    ("# Editors, OS files and other tooling.", (
        ".idea", ".vscode", "**/.DS_Store", "**/node_modules",
    )),
)  # fmt: skip
ALWAYS_KEPT = ("uv.lock", "pyproject.toml", ".python-version")


def excluded_patterns(plan: BuildPlan) -> list[str]:
    patterns = [p for _, group in _EXCLUDED for p in group]
    if not plan.project.vcs_versioning:
        patterns += [".git", ".gitignore"]
    return patterns


def _excluded(path: str, patterns: list[str]) -> bool:
    """Whether Docker would drop ``path`` under ``patterns`` (Docker's own matching rules)."""
    return is_ignored(parse_dockerignore("\n".join(patterns)), path) is not None


def _member_allowlist(plan: BuildPlan) -> list[str]:
    """For a workspace member: send only what building it reads, nothing else of the repo.

    ``uv sync --locked --package`` reads the root's pyproject.toml and uv.lock and
    every member's pyproject.toml (to check the lock), and builds the app member
    and the members it depends on; the rest of the repository (a frontend, docs,
    other services) stays out, so editing it neither busts the cache nor ships.
    """
    project = plan.project
    installed = {canonicalize_name(n) for n in project.local_packages}
    built = [m.path.as_posix() for m in project.workspace_members
             if canonicalize_name(m.name) in installed]  # fmt: skip
    keep = [*ALWAYS_KEPT, *(f"{m.path.as_posix()}/pyproject.toml" for m in
            project.workspace_members), project.app_path.as_posix(), *built,
            *project.referenced_files]  # fmt: skip
    if project.vcs_versioning:
        keep.append(".git")
    return [
        (
            "# The context is the workspace root: send only what building "
            f"{shell_line(project.package or '', 'package')} reads."
        ),
        "*",
        *(f"!{plain_path(path, 'kept path')}" for path in dict.fromkeys(keep)),
    ]


def ignore_lines(plan: BuildPlan) -> list[str]:
    """The ``.dockerignore`` for ``plan``, one line each (comments included)."""
    lines: list[str] = []
    if plan.project.package:
        lines += _member_allowlist(plan)
    for comment, group in _EXCLUDED:
        lines.append(comment)
        lines.extend(group)
    if not plan.project.vcs_versioning:
        lines += [
            "# Version control data (the version is not read from git).",
            ".git",
            ".gitignore",
        ]
    # A kept path becomes a pattern of its own: one with a newline or a wildcard
    # could re-include .env or everything else, so such paths are refused.
    kept = [plain_path(f, "file pyproject.toml refers to") for f in plan.project.referenced_files]
    kept[:0] = ALWAYS_KEPT
    if plan.project.requirements_file is not None:
        kept.append(plan.project.requirements_file.name)
    patterns = excluded_patterns(plan)
    caught = [f for f in kept if _excluded(f, patterns)]
    if caught:
        lines.append("# Read by the build: keep them even though a pattern above matches.")
        lines.extend(f"!{plain_path(f, 'kept path')}" for f in caught)
    return lines
