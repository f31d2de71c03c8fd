"""One platform's image written to the blob store (config and manifest), and the index."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from uvdock.oci.base import BaseImage
from uvdock.oci.blobs import BlobStore
from uvdock.oci.config import image_config
from uvdock.oci.documents import History, build_index, build_manifest
from uvdock.oci.model import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    JSONBlob,
    LayerInfo,
    convert_media_type,
)
from uvdock.plan.model import BuildPlan

__all__ = ["BuiltImage", "PlatformImage", "write_image", "write_index"]

COMMENT = "uvdock oci engine"  # every history entry uvdock writes says so


@dataclasses.dataclass(frozen=True, kw_only=True)
class PlatformImage:
    platform: str
    digest: str  # the manifest's
    size: int  # compressed bytes of all layers and the config
    python: str
    compiled: bool
    reused_dependencies: bool
    # Files patched into the last install after a source edit (no wheel built);
    # None when the project layer was built in full.
    patched_files: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class BuiltImage:
    """One platform's image in the store: its base, manifest, config and uvdock's layers."""

    base: BaseImage
    manifest: JSONBlob
    config: JSONBlob
    layers: tuple[LayerInfo, ...]  # uvdock's, on top of the base's
    size: int  # compressed bytes of all layers (the base's too) and the config


def write_image(
    store: BlobStore,
    plan: BuildPlan,
    base: BaseImage,
    *,
    dependencies: Sequence[tuple[str, LayerInfo]],
    project: LayerInfo,
    python_platform: str,
    created: str,
) -> BuiltImage:
    """Config and manifest of ``base`` plus the dependency layers and the project's layer."""
    project_name = f"{plan.project.name} {plan.project.version or ''}".rstrip()
    history = [
        *(
            History(created_by=f"uvdock: {label} for {python_platform}", comment=COMMENT)
            for label, _ in dependencies
        ),
        History(created_by=f"uvdock: {project_name}", comment=COMMENT),
    ]
    ours = (*(layer for _, layer in dependencies), project)
    config = image_config(
        plan.runtime,
        base.config,
        diff_ids=[layer.diff_id for layer in ours],
        history=history,
        created=created,
        platform=base.platform,
    )
    config_blob = JSONBlob.encode(config, media_type=OCI_CONFIG)
    store.put_bytes(config_blob.data, expected_digest=config_blob.descriptor.digest)
    layers = [
        *(
            layer.replace(media_type=convert_media_type(layer.media_type, "oci"))
            for layer in base.layers
        ),
        *(layer.descriptor() for layer in ours),
    ]
    manifest = build_manifest(
        config=config_blob.descriptor,
        layers=layers,
        annotations={
            "org.opencontainers.image.base.name": base.reference,
            "org.opencontainers.image.base.digest": base.manifest_digest,
            "org.opencontainers.image.created": created,
        },
    )
    manifest_blob = JSONBlob.encode(manifest, media_type=OCI_MANIFEST, platform=base.platform)
    store.put_bytes(manifest_blob.data, expected_digest=manifest_blob.descriptor.digest)
    return BuiltImage(
        base=base,
        manifest=manifest_blob,
        config=config_blob,
        layers=ours,
        size=config_blob.descriptor.size + sum(layer.size for layer in layers),
    )


def write_index(store: BlobStore, images: Sequence[BuiltImage], *, created: str) -> JSONBlob:
    """The index of ``images`` (written to the store even for one); what the tag names.

    One platform's tag names its manifest, several an index.
    """
    index = build_index(
        [image.manifest.descriptor for image in images],
        annotations={"org.opencontainers.image.created": created},
    )
    index_blob = JSONBlob.encode(index, media_type=OCI_INDEX)
    store.put_bytes(index_blob.data, expected_digest=index_blob.descriptor.digest)
    return index_blob if len(images) > 1 else images[0].manifest
