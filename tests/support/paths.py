"""Locations of the fixture trees inside the repository."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DISTS_DIR",
    "EXAMPLES_DIR",
    "FIXTURES_DIR",
    "GUIDE",
    "PACKAGES_DIR",
    "PROJECTS_DIR",
    "REPO_ROOT",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = REPO_ROOT / "examples"
FIXTURES_DIR = REPO_ROOT / "tests" / "fixtures"
#: Fixture projects, one directory each, each with its own lock.
PROJECTS_DIR = FIXTURES_DIR / "projects"
#: Sources of the packages the local index and git server publish.
PACKAGES_DIR = FIXTURES_DIR / "packages"
#: Built distributions the local index serves: ``public/`` and ``private/``.
DISTS_DIR = FIXTURES_DIR / "dists"
#: The guide uvdock started from, in ``../shared`` beside the checkout (CI has it there).
GUIDE = REPO_ROOT.parent / "shared" / "seed" / "000_03018ef736a4bf5c.txt"
