"""Printing results: human text (rich, honours NO_COLOR) or a versioned JSON envelope."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

RESULT_VERSION = "1"


def console(*, stderr: bool = False) -> Console:
    # Imported here: rich costs ~60 ms, which `uvdock lint` on one file should not pay.
    from rich.console import Console  # noqa: PLC0415

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
