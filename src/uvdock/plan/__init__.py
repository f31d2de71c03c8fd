"""Planning: ProjectInfo + Settings -> BuildPlan, a pure function.

Renderers and builders consume the plan; most tests assert on it.
"""

from __future__ import annotations

from uvdock.plan.model import BuildPlan, Problem, Secret
from uvdock.plan.planner import make_plan

__all__ = ["BuildPlan", "Problem", "Secret", "make_plan"]
