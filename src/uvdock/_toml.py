"""Reading TOML with errors that point at ``file:line``.

``tomllib`` parses but forgets where values were; users need the line of a
bad ``[tool.uvdock]`` key. Re-parsing with a layout-preserving library for
this alone is heavy, so a small scan of the text finds the line of a key
inside a table; it only has to be right for the tables uvdock reads.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from uvdock.errors import ConfigError

_DECODE_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_TABLE_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """Parse ``path``; a syntax error becomes a ConfigError with its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError("is not UTF-8 text", path=path, hint="save it as UTF-8") from err
    except OSError as err:
        raise ConfigError(
            f"cannot be read ({err.strerror})",
            path=path,
            hint="check the file's permissions",
        ) from err
    return parse_toml(text, path), text


def parse_toml(text: str, path: Path) -> dict[str, Any]:
    """Parse ``text`` read from ``path``; a syntax error becomes a ConfigError with its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        match = _DECODE_POSITION.search(str(err))
        line = int(match.group(1)) if match else None
        reason = _DECODE_POSITION.sub("", str(err)).strip()
        raise ConfigError(
            f"invalid TOML: {reason}", path=path, line=line, hint="fix the syntax and run again"
        ) from err
    return data


def line_of_key(text: str, table: str, key: str | None = None) -> int | None:
    """1-based line of ``key`` inside ``[table]`` (or of the header when key is None).

    Handles the plain layouts (``[tool.uvdock]`` then ``key = ...``) and dotted
    keys written from a parent table (``uvdock.key = ...`` under ``[tool]``).
    """
    current = ""
    header_line: int | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        header = _TABLE_HEADER.match(raw)
        if header:
            current = header.group(1).replace(" ", "").replace('"', "")
            if current == table and header_line is None:
                header_line = number
                if key is None:
                    return number
            continue
        if key is None:
            continue
        stripped = raw.strip()
        for prefix_table in _parents(table):
            if current != prefix_table:
                continue
            rest = table[len(prefix_table) :].lstrip(".")
            dotted = f"{rest}.{key}" if rest else key
            if re.match(rf"^\"?{re.escape(dotted)}\"?\s*=", stripped):
                return number
    return header_line


def _parents(table: str) -> list[str]:
    parts = table.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), -1, -1)]
