"""Click options generated from the settings table, so flags, env vars and config keys agree."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any, TypeVar

import click

from uvdock.config import OPTIONS, OptionSpec

F = TypeVar("F", bound=Callable[..., Any])


def _option(spec: OptionSpec) -> Callable[[F], F]:
    help_text = f"{spec.help} [env {spec.env}; pyproject [tool.uvdock] {spec.key}]"
    flag = spec.flag
    if spec.kind == "bool":
        return click.option(f"{flag}/--no-{spec.key}", spec.name, default=None, help=help_text)
    if spec.kind == "int":
        return click.option(flag, spec.name, type=int, default=None, help=help_text, metavar="N")
    if spec.kind == "list":
        return click.option(
            flag,
            spec.name,
            multiple=True,
            default=None,
            help=help_text + " (repeat, or separate with commas)",
            metavar="NAME" if spec.singular else "PKG",
        )
    if spec.choices:
        return click.option(
            flag, spec.name, type=click.Choice(spec.choices), default=None, help=help_text
        )
    return click.option(flag, spec.name, default=None, help=help_text, metavar="TEXT")


def setting_options(func: F) -> F:
    for spec in reversed(OPTIONS):
        func = _option(spec)(func)
    return func


def given_settings(params: dict[str, Any]) -> dict[str, Any]:
    """The settings the user actually passed (click gives None or () otherwise)."""
    given: dict[str, Any] = {}
    for spec in OPTIONS:
        value = params.get(spec.name)
        if value is None or value == ():
            continue
        if spec.kind == "list":
            value = tuple(p for v in value for p in v.replace(",", " ").split() if p)
        if (
            spec.kind == "bool-or-str"
            and isinstance(value, str)
            and value.lower()
            in {
                "false",
                "no",
                "off",
                "0",
            }
        ):
            value = False
        given[spec.name] = value
    return given


def flags_for(given: dict[str, Any]) -> list[str]:
    """Command-line flags that reproduce ``given`` (for the regenerate comment)."""
    flags: list[str] = []
    by_name = {spec.name: spec for spec in OPTIONS}
    for name, value in given.items():
        spec = by_name[name]
        if spec.kind == "bool":
            flags.append(f"--{spec.key}" if value else f"--no-{spec.key}")
        elif spec.kind == "list":
            flags.extend(f"{spec.flag} {v}" for v in value)
        elif spec.kind == "command" and not isinstance(value, str):
            flags.append(f"{spec.flag} {shlex.quote(shlex.join(value))}")
        else:
            flags.append(f"{spec.flag} {shlex.quote(str(value))}")
    return flags
