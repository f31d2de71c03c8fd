"""Printing results: human text (rich, honours NO_COLOR) or a versioned JSON envelope."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

RESULT_VERSION = "1"


def console(*, stderr: bool = False) -> Console:
    # rich reads NO_COLOR and TERM itself; highlight=False keeps output literal.
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def emit_json(command: str, *, status: str, data: Any, errors: list[dict[str, Any]]) -> None:
    envelope = {
        "uvdock_result_version": RESULT_VERSION,
        "command": command,
        "status": status,
        "data": data,
        "errors": errors,
    }
    sys.stdout.write(json.dumps(envelope, indent=2, sort_keys=False) + "\n")
