"""Where uvdock keeps what it may reuse between runs: ``$XDG_CACHE_HOME/uvdock``.

One place for the root, so detection (the sdists it reads) and the daemonless
engine (its blobs and layers, under ``oci/``) agree on it without importing
each other.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def cache_root(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/uvdock``, or ``~/.cache/uvdock``."""
    env = os.environ if env is None else env
    return Path(env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")) / "uvdock"
