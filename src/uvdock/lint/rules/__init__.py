"""The rule set: importing this package registers every rule, in documentation order."""

from __future__ import annotations

from uvdock.lint.rules import build_context, build_steps, hygiene, images, runtime, security, uv
from uvdock.lint.rules.base import RULES, Rule

__all__ = [
    "RULES",
    "Rule",
    "build_context",
    "build_steps",
    "hygiene",
    "images",
    "runtime",
    "security",
    "uv",
]
