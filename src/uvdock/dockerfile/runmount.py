"""``RUN --mount`` values, as ``instructions/runmount.go`` (``parseMount``) reads them.

BuildKit splits the value with Go's ``encoding/csv``; :func:`_csv_fields`
does the same. This module imports nothing from uvdock, so
:mod:`uvdock.dockerfile.syntax` can build its :class:`~uvdock.dockerfile.syntax.Mount`
nodes from :func:`mount_fields` without importing the parser.
"""

from __future__ import annotations

__all__ = ["mount_fields", "mount_problems"]

_MOUNT_TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
_MOUNT_KEY_WORDS = (
    "type from source src target dst destination readonly ro readwrite rw required sharing "
    "id size mode uid gid env"
)
_MOUNT_KEYS = frozenset(_MOUNT_KEY_WORDS.split())
_MOUNT_BARE_KEYS = frozenset({"readonly", "ro", "readwrite", "rw", "required"})


def mount_fields(value: str) -> dict[str, str]:
    """The fields of a ``--mount=`` value, as :class:`~uvdock.dockerfile.syntax.Mount` holds them.

    Keys are lower-cased; a later key overwrites an earlier one; a field
    without ``=`` gets the value ``"true"``; quoted fields (``"a,b"``) are
    unquoted. Malformed input gives what can be read (the parser reports it).
    """
    fields: dict[str, str] = {}
    for field in _csv_fields(value)[0]:
        key, sep, item = field.partition("=")
        if not key and not sep:
            continue
        fields[key.lower()] = item if sep else "true"
    return fields


def mount_problems(value: str) -> list[str]:
    """What BuildKit's parseMount rejects in a ``--mount`` value."""
    fields, ok = _csv_fields(value)
    if not ok or not value:
        return [f"failed to parse csv mounts: {value!r}"]
    problems: list[str] = []
    kind = "bind"
    required = False
    for field in fields:
        key, sep, item = field.partition("=")
        key = key.lower()
        if not sep:
            if key in _MOUNT_BARE_KEYS:
                required = required or key == "required"
            else:
                problems.append(f"invalid field {field!r} must be a key=value pair")
        elif key == "type":
            if item.lower() in _MOUNT_TYPES:
                kind = item.lower()
            else:
                problems.append(f"unsupported mount type {item!r}")
        elif key not in _MOUNT_KEYS:
            problems.append(f"unexpected key {key!r} in {field!r}")
    if required and kind not in ("secret", "ssh"):
        problems.append(f"unexpected key 'required' for mount type {kind!r}")
    return problems


def _csv_fields(value: str) -> tuple[list[str], bool]:
    """Split a line of CSV as Go's ``encoding/csv`` does; ``ok`` is False where Go errs."""
    fields: list[str] = []
    ok = True
    pos = 0
    size = len(value)
    while True:
        if pos < size and value[pos] == '"':
            pos, field, field_ok = _csv_quoted(value, pos + 1)
            ok = ok and field_ok
        else:
            comma = value.find(",", pos)
            comma = size if comma < 0 else comma
            field = value[pos:comma]
            ok = ok and '"' not in field  # a bare quote
            pos = comma
        fields.append(field)
        if pos >= size:
            return fields, ok
        pos += 1  # the comma


def _csv_quoted(value: str, pos: int) -> tuple[int, str, bool]:
    parts: list[str] = []
    size = len(value)
    while True:
        close = value.find('"', pos)
        if close < 0:
            parts.append(value[pos:])
            return size, "".join(parts), False
        parts.append(value[pos:close])
        if value.startswith('""', close):
            parts.append('"')
            pos = close + 2
            continue
        pos = close + 1
        break
    if pos < size and value[pos] != ",":
        comma = value.find(",", pos)
        comma = size if comma < 0 else comma
        parts.append(value[pos:comma])
        return comma, "".join(parts), False
    return pos, "".join(parts), True
