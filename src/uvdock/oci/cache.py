"""The daemonless engine's cache: everything it keeps between builds, in one directory.

Layout under the root (``OciRequest.cache_dir``; by default
``$XDG_CACHE_HOME/uvdock/oci``, else ``~/.cache/uvdock/oci``)::

    blobs/sha256/<hex>        every blob: base layers and configs, manifests, the
                              layers and configs uvdock wrote (BlobStore; 0444)
    selectors/<hex>.json      one layer's inputs -> its LayerInfo: a distribution's
                              layer is reused while its name, version, platform,
                              Python, epoch and bytecode are unchanged (BlobStore)
    tmp/                      blobs being written or downloaded (BlobStore)
    facts/<name>.json         small facts, JSON (``:`` in a name becomes ``-``):
      base-tag-<h>.json         {digest, media_type, at}: what a base reference
                                resolved to, and when; <h> = sha256(reference)[:32].
                                Reused for BASE_TAG_TTL_SECONDS (a digest reference:
                                always), unless --pull
      python-of-<digest>.json   the base manifest <digest>'s Python (TargetPython)
      host-python-<ver>.json    the path of this machine's Python <ver>, for .pyc
      export-<h>.json           ``uv export`` of a lock: the requirements text, for
                                the same uv.lock, pyproject.toml, selection and uv
      deps-<selector>.json      [{label, layer}]: one platform's dependency layers
                                for a requirements text, Python, epoch and bytecode
    projects/<selector>/      the last install of a package, to patch source edits
                              into (incremental.py: snapshot.json and tree/)
    build-envs/<h>/           kept build-backend environments, per [build-system]
                              requires and interpreter (pyenv.build_environment);
                              ``.complete`` marks a finished one

A fact is replaced atomically, so two builds sharing the cache need no lock:
each reads the old or the new value. A fact that cannot be read, or names a
blob or file that is gone, is a miss and is found again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from uvdock.oci.blobs import BlobStore
from uvdock.oci.model import LayerInfo
from uvdock.oci.pyenv import TargetPython

__all__ = ["Cache"]


class Cache:
    """The facts kept beside a :class:`BlobStore` (see the module's docstring for the layout)."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.root = store.root

    def resolved_tag(self, reference: str, *, max_age: float | None) -> tuple[str, str] | None:
        """``(digest, media type)`` that ``reference`` resolved to within ``max_age`` seconds.

        ``max_age=None``: whenever (a digest reference names content). None
        when not remembered, too old, or the manifest is no longer stored.
        """
        remembered = self._recall(_tag_fact(reference))
        if not isinstance(remembered, dict) or not self.store.has(str(remembered.get("digest"))):
            return None
        age = time.time() - float(remembered.get("at", 0))
        if max_age is not None and not 0 <= age < max_age:
            return None
        return str(remembered["digest"]), str(remembered.get("media_type", ""))

    def remember_tag(self, reference: str, *, digest: str, media_type: str) -> None:
        record = {"digest": digest, "media_type": media_type, "at": time.time()}
        self._remember(_tag_fact(reference), record)

    def base_python(self, manifest_digest: str, find: Callable[[], TargetPython]) -> TargetPython:
        """The Python of the base manifest ``manifest_digest``; ``find()`` when not remembered."""
        name = f"python-of-{manifest_digest}"
        remembered = self._recall(name)
        if isinstance(remembered, dict):
            try:
                return TargetPython(**remembered)
            except TypeError:
                pass  # written by another version: find it again
        target = find()
        self._remember(name, dataclasses.asdict(target))
        return target

    def host_python(self, version: str, find: Callable[[], str | None]) -> str | None:
        """This machine's Python ``version`` (a path), remembered while the file exists."""
        remembered = self._recall(f"host-python-{version}")
        if isinstance(remembered, str) and Path(remembered).is_file():
            return remembered
        found = find()
        if found:
            self._remember(f"host-python-{version}", found)
        return found

    def exported(self, identity: str, export: Callable[[], str]) -> str:
        """The requirements ``uv export`` gave for ``identity``; ``export()`` when new."""
        fact = f"export-{identity[:32]}"
        remembered = self._recall(fact)
        if isinstance(remembered, str):
            return remembered
        text = export()
        self._remember(fact, text)
        return text

    def dependency_layers(self, key: str) -> list[tuple[str, LayerInfo]] | None:
        """The dependency layers recorded for ``key``, when every blob is still stored."""
        try:
            layers = [
                (str(r["label"]), LayerInfo(**r["layer"])) for r in self._recall(f"deps-{key}")
            ]
        except (KeyError, TypeError):
            return None
        return layers if all(self.store.has(layer.digest) for _, layer in layers) else None

    def remember_dependency_layers(self, key: str, layers: list[tuple[str, LayerInfo]]) -> None:
        records = [{"label": label, "layer": dataclasses.asdict(layer)} for label, layer in layers]
        self._remember(f"deps-{key}", records)

    def project_snapshot(self, key: str) -> Path:
        """Where the last install of a package is kept (``projects/<key>``)."""
        return self.root / "projects" / key

    def _recall(self, name: str) -> Any:
        """A fact remembered in the cache (JSON), or None."""
        try:
            return json.loads(self._fact_path(name).read_text())
        except (OSError, ValueError):
            return None

    def _remember(self, name: str, value: Any) -> None:
        """Remember a fact (atomically: a concurrent build reads the old or the new one)."""
        path = self._fact_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as out:
            out.write(json.dumps(value))
        Path(out.name).replace(path)

    def _fact_path(self, name: str) -> Path:
        return self.root / "facts" / f"{name.replace(':', '-')}.json"


def _tag_fact(reference: str) -> str:
    return f"base-tag-{hashlib.sha256(reference.encode()).hexdigest()[:32]}"
