"""The shape of every OCI document uvdock reads, checked in one place before it is used.

Manifests, indexes and image configs come from registries, layouts and
saved archives that uvdock does not control. Before this module each reader
indexed into the parsed JSON as it went, so ``"layers": 5``, ``"config":
null`` or a size written as a string ended in a ``TypeError`` or
``KeyError`` traceback, and an index nested 3,000 deep in a
``RecursionError`` (issue 12). Now a document is read in three steps, and
each refuses with one ``DocumentError`` naming the document and the key:

1. ``parse_document``: at most ``MAX_DOCUMENT_SIZE`` bytes (containerd and
   distribution refuse larger manifests), valid JSON, an object, nested at
   most ``MAX_JSON_DEPTH`` deep (so ``copy.deepcopy`` and ``json.dumps`` of
   it cannot exhaust the stack later);
2. ``check_manifest``/``check_index``/``check_config``: the JSON type of
   every field uvdock reads, as image-spec ``descriptor.md``,
   ``manifest.md``, ``image-index.md`` and ``config.md`` give them (Docker's
   schema2 documents have the same fields). Unknown fields are kept
   unchecked: a base config carries fields uvdock must pass on. ``schemaVersion``
   is required by the spec but some writers leave it out of ``index.json``:
   when present it must be 2 (a Docker schema1 manifest says 1). As Go's JSON
   decoding (and so Docker, containerd and skopeo) does, ``null`` in an
   optional field means "absent"; a required field must be there and not null;
3. readers follow nested indexes at most ``MAX_INDEX_DEPTH`` deep.

The rules are data (``_DESCRIPTOR``, ``_MANIFEST``, ...), so what uvdock
accepts can be read off the spec tables and compared.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from uvdock.errors import UvdockError

JSONObject = dict[str, Any]
MAX_DOCUMENT_SIZE = 4 * 1024 * 1024
"""The largest manifest, index or config uvdock reads (containerd's and distribution's limit).

Checked before a document is read or parsed, so a hostile source cannot
make uvdock hold (or download) an unbounded JSON document.
"""


class ImageError(UvdockError):
    """An image document is invalid or cannot be expressed as asked."""


__all__ = [
    "MAX_DOCUMENT_SIZE",
    "MAX_INDEX_DEPTH",
    "MAX_JSON_DEPTH",
    "DocumentError",
    "DocumentKind",
    "check_config",
    "check_descriptor",
    "check_document",
    "check_index",
    "check_manifest",
    "parse_document",
]

MAX_INDEX_DEPTH = 8
"""How deep indexes may nest (an index of indexes of ...). Real images nest once at most."""

MAX_JSON_DEPTH = 64
"""How deep any JSON value may nest. OCI documents nest about 5 deep."""

DocumentKind = Literal["manifest", "index", "config"]

_HINT = (
    "the image source is broken or hostile (this is not an OCI or Docker image "
    "document); copy the image again from a source you trust, or use another image"
)
_SHA256 = re.compile(r"sha256:[a-f0-9]{64}")
_INT64_MAX = 2**63 - 1


class DocumentError(ImageError):
    """An OCI document is too large, not JSON, or not of the shape the image spec gives it."""


# --- step 1: bytes -> a JSON object ----------------------------------------------------------


def parse_document(
    data: bytes, *, where: str, error: type[DocumentError] | None = None
) -> JSONObject:
    """``data`` as a JSON object, or ``DocumentError`` naming ``where`` (a path or digest).

    ``error`` is the subclass to raise (a layout raises one that is also a
    ``LayoutError``).
    """
    error = error or DocumentError
    if len(data) > MAX_DOCUMENT_SIZE:
        raise error(
            f"{where}: the document is {len(data)} bytes, over the "
            f"{MAX_DOCUMENT_SIZE // (1024 * 1024)} MiB an image document may be",
            hint=_HINT,
        )
    try:
        value: Any = json.loads(data)
    except RecursionError:
        # json's C scanner counts its nesting against the interpreter's stack.
        raise error(f"{where}: the JSON nests too deep", hint=_HINT) from None
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError, a huge int literal
        reason = " ".join(str(err).split())[:120]
        raise error(f"{where}: not valid JSON ({reason})", hint=_HINT) from None
    if not isinstance(value, dict):
        raise error(f"{where}: expected a JSON object, not {_json_type(value)}", hint=_HINT)
    if _too_deep(value):
        raise error(f"{where}: the JSON nests more than {MAX_JSON_DEPTH} levels deep", hint=_HINT)
    return value


def _too_deep(value: Any) -> bool:
    """Whether ``value`` nests deeper than ``MAX_JSON_DEPTH`` (iterative: no recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        children = item.values() if isinstance(item, dict) else item  # only containers pushed
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


# --- step 2: the spec's types ----------------------------------------------------------------


class _MismatchError(Exception):
    """Raised inside the checks; ``check_document`` turns it into a ``DocumentError``."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key} {problem}")
        self.key = key
        self.problem = problem


Check = Callable[[Any, str], None]
"""A rule for one value: ``check(value, key_path)`` raises ``_MismatchError`` or returns."""


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _must_be(key: str, expected: str, value: Any) -> _MismatchError:
    return _MismatchError(key, f"must be {expected}, not {_json_type(value)}")


def _string(value: Any, key: str) -> None:
    if not isinstance(value, str):
        raise _must_be(key, "a string", value)


def _boolean(value: Any, key: str) -> None:
    if not isinstance(value, bool):
        raise _must_be(key, "a boolean", value)


def _size(value: Any, key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _must_be(key, "an integer", value)
    if not 0 <= value <= _INT64_MAX:
        raise _MismatchError(key, f"must be between 0 and 2^63-1, not {value}")


def _digest(value: Any, key: str) -> None:
    _string(value, key)
    if not _SHA256.fullmatch(value):
        shown = value if len(value) <= 80 else value[:77] + "..."  # noqa: PLR2004 - one line
        raise _MismatchError(
            key, f"must be a sha256 digest (sha256:<64 lowercase hex digits>), not {shown!r}"
        )


def _equals(expected: object) -> Check:
    def check(value: Any, key: str) -> None:
        if isinstance(value, bool) or value != expected:
            raise _MismatchError(key, f"must be {expected!r}, not {value!r}"[:160])

    return check


def _array(item: Check, what: str) -> Check:
    def check(value: Any, key: str) -> None:
        if not isinstance(value, list):
            raise _must_be(key, f"an array of {what}", value)
        for number, element in enumerate(value):
            item(element, f"{key}[{number}]")

    return check


def _map(item: Check, what: str) -> Check:
    def check(value: Any, key: str) -> None:
        if not isinstance(value, dict):
            raise _must_be(key, f"an object of {what}", value)
        for name, element in value.items():
            item(element, f"{key}.{name}")

    return check


def _object(required: Mapping[str, Check], optional: Mapping[str, Check] | None = None) -> Check:
    """An object with ``required`` keys (present, not null) and ``optional`` ones (or null)."""

    def check(value: Any, key: str) -> None:
        if not isinstance(value, dict):
            raise _must_be(key or "the document", "an object", value)
        prefix = f"{key}." if key else ""
        for name, rule in required.items():
            if name not in value:
                raise _MismatchError(f"{prefix}{name}", "is missing (the image spec requires it)")
            rule(value[name], f"{prefix}{name}")  # null included: every rule refuses it
        for name, rule in (optional or {}).items():
            if value.get(name) is not None:
                rule(value[name], f"{prefix}{name}")

    return check


def _all(*checks: Check) -> Check:
    def check(value: Any, key: str) -> None:
        for rule in checks:
            rule(value, key)

    return check


def _at_most(limit: int, why: str) -> Check:
    def check(value: Any, key: str) -> None:
        if value.get("size", 0) > limit:
            raise _MismatchError(f"{key}.size", f"is {value['size']}, over {why}")

    return check


_STRINGS = _array(_string, "strings")
_STRING_MAP = _map(_string, "strings")

# image-spec image-index.md "platform"
_PLATFORM = _object(
    {"architecture": _string, "os": _string},
    {"os.version": _string, "os.features": _STRINGS, "variant": _string, "features": _STRINGS},
)

# image-spec descriptor.md
_DESCRIPTOR = _object(
    {"mediaType": _string, "digest": _digest, "size": _size},
    {
        "urls": _STRINGS,
        "annotations": _STRING_MAP,
        "data": _string,
        "artifactType": _string,
        "platform": _PLATFORM,
    },
)
_DESCRIPTORS = _array(_DESCRIPTOR, "descriptors")

# image-spec manifest.md; a config is read whole, so its size is capped like a manifest's.
_MANIFEST = _object(
    {
        "config": _all(
            _DESCRIPTOR, _at_most(MAX_DOCUMENT_SIZE, "the 4 MiB an image config may be")
        ),
        "layers": _DESCRIPTORS,
    },
    {"schemaVersion": _equals(2), "mediaType": _string, "artifactType": _string,
     "subject": _DESCRIPTOR, "annotations": _STRING_MAP},
)  # fmt: skip

# image-spec image-index.md
_INDEX = _object(
    {"manifests": _DESCRIPTORS},
    {"schemaVersion": _equals(2), "mediaType": _string, "artifactType": _string,
     "subject": _DESCRIPTOR, "annotations": _STRING_MAP},
)  # fmt: skip

# image-spec config.md; Docker writes null for an unset Entrypoint, Cmd, Env, Volumes.
_RUN_CONFIG = _object(
    {},
    {"User": _string, "ExposedPorts": _map(_object({}), "objects"), "Env": _STRINGS,
     "Entrypoint": _STRINGS, "Cmd": _STRINGS, "Volumes": _map(_object({}), "objects"),
     "WorkingDir": _string, "Labels": _STRING_MAP, "StopSignal": _string,
     "ArgsEscaped": _boolean},
)  # fmt: skip
_HISTORY = _object(
    {},
    {"created": _string, "author": _string, "created_by": _string, "comment": _string,
     "empty_layer": _boolean},
)  # fmt: skip
_CONFIG = _object(
    {
        "architecture": _string,
        "os": _string,
        "rootfs": _object(
            {"type": _equals("layers"), "diff_ids": _array(_digest, "sha256 digests")}
        ),
    },
    {"created": _string, "author": _string, "os.version": _string, "os.features": _STRINGS,
     "variant": _string, "config": _RUN_CONFIG, "history": _array(_HISTORY, "objects")},
)  # fmt: skip

_RULES: dict[DocumentKind, Check] = {"manifest": _MANIFEST, "index": _INDEX, "config": _CONFIG}


def check_document(
    value: JSONObject,
    kind: DocumentKind,
    *,
    where: str,
    error: type[DocumentError] | None = None,
) -> JSONObject:
    """``value`` itself when it has the shape of a ``kind`` document; else ``DocumentError``.

    The error (``error``, by default ``DocumentError``) names ``where`` (a
    path, or a reference and digest) and the key, e.g. ``.../blobs/sha256/
    ab12...: manifest layers[3].size must be an integer, not a string``.
    """
    try:
        _RULES[kind](value, "")
    except _MismatchError as err:
        raise (error or DocumentError)(
            f"{where}: {kind} {err.key} {err.problem}", hint=_HINT
        ) from None
    return value


def check_manifest(
    value: JSONObject, *, where: str, error: type[DocumentError] | None = None
) -> JSONObject:
    """An image manifest (OCI or Docker schema2), checked (see ``check_document``)."""
    return check_document(value, "manifest", where=where, error=error)


def check_index(
    value: JSONObject, *, where: str, error: type[DocumentError] | None = None
) -> JSONObject:
    """An image index or Docker manifest list, checked (see ``check_document``)."""
    return check_document(value, "index", where=where, error=error)


def check_config(
    value: JSONObject, *, where: str, error: type[DocumentError] | None = None
) -> JSONObject:
    """An image config, checked (see ``check_document``)."""
    return check_document(value, "config", where=where, error=error)


def check_descriptor(value: Any, *, where: str) -> JSONObject:
    """A descriptor (image-spec ``descriptor.md``), checked; ``DocumentError`` names ``where``."""
    try:
        _DESCRIPTOR(value, "")
    except _MismatchError as err:
        raise DocumentError(f"{where}: {err.key} {err.problem}", hint=_HINT) from None
    checked: JSONObject = value
    return checked
