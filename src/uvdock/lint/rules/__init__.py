"""The rule set: importing this package registers every rule, in documentation order.

A module's rules register when it is first imported, and that order is the order of
``uvdock lint --list-rules``: so the modules below are imported in documentation order,
one theme after another, not sorted.
"""

from __future__ import annotations

from uvdock.lint.rules.base import RULES, Rule

# isort: off
from uvdock.lint.rules import build_context, images, build_steps, hygiene, runtime, security
from uvdock.lint.rules import uv_sync, uv_cache, uv_environment, uv_pip

# isort: on

__all__ = [
    "RULES",
    "Rule",
    "build_context",
    "build_steps",
    "hygiene",
    "images",
    "runtime",
    "security",
    "uv_cache",
    "uv_environment",
    "uv_pip",
    "uv_sync",
]
