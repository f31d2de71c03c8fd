"""Renderers: BuildPlan -> file text. Pure functions, no I/O; golden-file tested."""

from __future__ import annotations

from uvdock.render.files import GeneratedFile, render_files

__all__ = ["GeneratedFile", "render_files"]
