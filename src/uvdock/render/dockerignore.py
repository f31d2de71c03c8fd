"""BuildPlan -> ``.dockerignore``: the plan's context lines (plan/context.py) under a header."""

from __future__ import annotations

from uvdock.plan.context import ignore_lines
from uvdock.plan.model import BuildPlan
from uvdock.render._text import header


def render_dockerignore(plan: BuildPlan, *, regenerate: str) -> str:
    return "\n".join([header("#", regenerate), *ignore_lines(plan)]) + "\n"
