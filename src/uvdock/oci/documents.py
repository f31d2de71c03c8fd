"""Building an image's documents: the config, the manifest and the index.

The rules that decide whether Docker, containerd and registries accept what
uvdock writes (image-spec ``config.md``, ``manifest.md``, ``image-index.md``):

- one media-type family per manifest: a Docker schema2 base is rewritten to
  OCI types (the blob bytes, and so the digests, do not change);
- ``diff_ids`` are digests of *uncompressed* layers, manifests list
  *compressed* ones, and the non-empty ``history`` entries, ``diff_ids`` and
  manifest layers must be equally many (jib#991, image-spec#872).

Documents are plain ``dict`` values at this edge (they are JSON, and a base
image's config carries fields uvdock does not know about and must keep).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from uvdock.oci.model import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Family,
    Platform,
    convert_media_type,
    digest_hex,
    family_of,
)
from uvdock.oci.schema import ImageError, JSONObject

__all__ = [
    "History",
    "build_config",
    "build_index",
    "build_manifest",
    "config_env",
    "validate_config",
]


# --- config ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class History:
    """One ``history`` entry; ``empty_layer`` entries (ENV, CMD, ...) have no diff_id."""

    created_by: str
    comment: str | None = None
    empty_layer: bool = False

    def to_json(self, created: str) -> JSONObject:
        out: JSONObject = {"created": created, "created_by": self.created_by}
        if self.comment:
            out["comment"] = self.comment
        if self.empty_layer:
            out["empty_layer"] = True
        return out


def config_env(config: Mapping[str, Any]) -> dict[str, str]:
    """An image config's ``Env`` list as an ordered ``{name: value}`` mapping."""
    env: dict[str, str] = {}
    for item in (config.get("config") or {}).get("Env") or []:
        name, _, value = str(item).partition("=")
        env[name] = value
    return env


def build_config(
    base: Mapping[str, Any] | None,
    *,
    diff_ids: Sequence[str],
    history: Sequence[History],
    created: str,
    platform: Platform | None = None,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    working_dir: str | None = None,
    entrypoint: Sequence[str] | None = None,
    cmd: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> JSONObject:
    """A new image config: ``base`` deep-copied, layers appended, runtime settings changed.

    - ``diff_ids``/``history`` are *appended* to the base's; their counts are
      checked (``validate_config``). A base without any history gets one
      placeholder entry per base layer, so the counts still agree.
    - ``env`` sets variables: existing names keep their position, new ones
      are appended. Use ``config_env(base)`` to read e.g. ``PATH`` first.
    - ``None`` keeps the base's value for ``user``, ``working_dir``,
      ``entrypoint`` and ``cmd``; an empty sequence removes it. As in a
      Dockerfile, setting ``entrypoint`` without ``cmd`` drops the base's
      ``Cmd`` (a base ``["python3"]`` must not become the app's arguments).
    - ``labels`` are merged over the base's.
    - ``created`` (RFC 3339, see ``rfc3339``) dates the image and the new
      history entries; ``platform`` sets ``os``/``architecture``/``variant``.
    """
    config: JSONObject = copy.deepcopy(dict(base)) if base else {}
    if platform is not None:
        config["os"] = platform.os
        config["architecture"] = platform.architecture
        if platform.variant:
            config["variant"] = platform.variant
        else:
            config.pop("variant", None)
    config["created"] = created

    rootfs = config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    base_ids: list[str] = list(rootfs.get("diff_ids") or [])
    base_history: list[JSONObject] = list(config.get("history") or [])
    if base_ids and not base_history:
        base_history = [
            {"created_by": "(base layer)", "comment": "the base image records no history"}
            for _ in base_ids
        ]
    rootfs["type"] = "layers"
    rootfs["diff_ids"] = [*base_ids, *diff_ids]
    config["history"] = [*base_history, *(h.to_json(created) for h in history)]

    run: JSONObject = dict(config.get("config") or {})
    if env:
        merged = config_env(config)
        merged.update(env)
        run["Env"] = [f"{name}={value}" for name, value in merged.items()]
    _set_or_drop(run, "User", user)
    _set_or_drop(run, "WorkingDir", working_dir)
    if entrypoint is not None:
        _set_or_drop(run, "Entrypoint", list(entrypoint))
        if cmd is None:
            run.pop("Cmd", None)
    if cmd is not None:
        _set_or_drop(run, "Cmd", list(cmd))
    if labels:
        run["Labels"] = {**(run.get("Labels") or {}), **labels}
    config["config"] = run
    validate_config(config)
    return config


def _set_or_drop(run: JSONObject, key: str, value: str | list[str] | None) -> None:
    if value is None:
        return
    if value:
        run[key] = value
    else:
        run.pop(key, None)


def validate_config(
    config: Mapping[str, Any], *, manifest: Mapping[str, Any] | None = None
) -> None:
    """Refuse a config Docker or containerd would reject, before anything is written.

    Checks ``os``/``architecture``, ``rootfs.type``, well-formed ``diff_ids``,
    and that non-empty ``history`` entries, ``diff_ids`` and (given a
    manifest) its ``layers`` are equally many.
    """
    for key in ("os", "architecture"):
        if not config.get(key):
            raise ImageError(f"image config has no {key!r}")
    rootfs = config.get("rootfs") or {}
    if rootfs.get("type") != "layers":
        raise ImageError("image config rootfs.type must be 'layers'")
    diff_ids = list(rootfs.get("diff_ids") or [])
    for diff_id in diff_ids:
        digest_hex(str(diff_id))
    history = config.get("history")
    if history:
        layered = [h for h in history if not h.get("empty_layer")]
        if len(layered) != len(diff_ids):
            raise ImageError(
                f"image config has {len(layered)} non-empty history entries "
                f"but {len(diff_ids)} diff_ids",
                hint="every added layer needs exactly one history entry (jib#991)",
            )
    if manifest is not None:
        layers = list(manifest.get("layers") or [])
        if len(layers) != len(diff_ids):
            raise ImageError(
                f"manifest lists {len(layers)} layers but its config has {len(diff_ids)} diff_ids"
            )


# --- manifest and index ---------------------------------------------------------


def build_manifest(
    *,
    config: Descriptor,
    layers: Sequence[Descriptor],
    annotations: Mapping[str, str] | None = None,
    family: Family = "oci",
) -> JSONObject:
    """An image manifest in one media-type family.

    Every descriptor's type is converted to ``family`` (a Docker base's
    ``rootfs.diff.tar.gzip`` layers become OCI ``tar+gzip``; the bytes and
    digests are unchanged). Docker manifests cannot carry annotations.
    Descriptor annotations and platforms are dropped: they belong to indexes.
    """
    media_type = OCI_MANIFEST if family == "oci" else DOCKER_MANIFEST
    manifest: JSONObject = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": _plain(config, family),
        "layers": [_plain(layer, family) for layer in layers],
    }
    if annotations:
        if family == "docker":
            raise ImageError("Docker schema2 manifests cannot carry annotations")
        manifest["annotations"] = dict(annotations)
    return manifest


def _plain(descriptor: Descriptor, family: Family) -> JSONObject:
    return {
        "mediaType": convert_media_type(descriptor.media_type, family),
        "digest": descriptor.digest,
        "size": descriptor.size,
    }


def build_index(
    manifests: Sequence[Descriptor],
    *,
    annotations: Mapping[str, str] | None = None,
    family: Family = "oci",
) -> JSONObject:
    """An image index (or Docker manifest list) over per-platform manifests.

    Each descriptor must carry a ``platform`` and a manifest type of the same
    family as the index: its media type is fixed by the manifest's own bytes,
    so it is checked here, not converted.
    """
    media_type = OCI_INDEX if family == "oci" else DOCKER_MANIFEST_LIST
    entries: list[JSONObject] = []
    for descriptor in manifests:
        if descriptor.platform is None:
            raise ImageError(f"index entry {descriptor.digest} has no platform")
        if family_of(descriptor.media_type) != family:
            raise ImageError(
                f"index entry {descriptor.digest} is a {descriptor.media_type}, "
                f"not a {family} manifest",
                hint="write every manifest of an index in the index's media-type family",
            )
        if family == "docker" and descriptor.annotations:
            raise ImageError("Docker manifest lists cannot carry annotations")
        entries.append(descriptor.to_json())
    index: JSONObject = {"schemaVersion": 2, "mediaType": media_type, "manifests": entries}
    if annotations:
        if family == "docker":
            raise ImageError("Docker manifest lists cannot carry annotations")
        index["annotations"] = dict(annotations)
    return index
