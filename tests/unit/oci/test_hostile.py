"""Hostile and broken OCI input (issue 12): one clean error each, in bounded time and space.

Real parts where they can produce the input: layouts, layers and blobs are
real files (a symlink to ``/dev/zero``, a FIFO), documents are real JSON
bytes. Only the registry's answers are scripted (``httpx.MockTransport``);
``tests/integration/test_oci_registry.py`` does the endless blob against the
loopback registry behind the fault proxy.
"""

from __future__ import annotations

import gzip
import sys
import tarfile
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from uvdock.oci import tarlayer
from uvdock.oci.tarlayer import LayerMember, image_files, iter_layer

# --- the base-layer scan is linear -------------------------------------------------------------


def _write_layer(path: Path, names: list[str]) -> Path:
    """A gzip layer with ``names``: a trailing ``/`` makes a directory, others empty files."""
    with gzip.open(path, "wb", compresslevel=1) as raw, tarfile.open(fileobj=raw, mode="w") as tar:
        for name in names:
            info = tarfile.TarInfo(name.rstrip("/"))
            info.type = tarfile.DIRTYPE if name.endswith("/") else tarfile.REGTYPE
            tar.addfile(info)
    return path


def _many_files(directory: Path, files: int) -> list[Path]:
    """A base layer of ``files`` files in directories of 50, and one that deletes and replaces."""
    base: list[str] = []
    upper: list[str] = []
    for folder in range(files // 50):
        base.append(f"usr/lib/d{folder}/")
        base += [f"usr/lib/d{folder}/f{number}.py" for number in range(50)]
        if folder % 3 == 0:
            upper.append(f"usr/lib/.wh.d{folder}")
        elif folder % 3 == 1:
            upper += [f"usr/lib/d{folder}/f{number}.py" for number in range(50)]
    return [
        _write_layer(directory / f"base-{files}.tar.gz", base),
        _write_layer(directory / f"upper-{files}.tar.gz", upper),
    ]


def _lines_run_in_tarlayer(layers: list[Path]) -> int:
    """How many lines of ``tarlayer`` merging ``layers`` executes: work, counted, not timed."""
    count = 0
    module_file = tarlayer.__file__

    def tracer(frame: FrameType, event: str, _arg: Any) -> Any:
        nonlocal count
        if frame.f_code.co_filename != module_file:
            return None  # do not trace tarfile, gzip: only the merge's own loops
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        image_files(layers)
    finally:
        sys.settrace(None)
    return count


def test_base_scan_work_grows_linearly_with_the_files(tmp_path: Path) -> None:
    # Issue 12: 10k/20k/40k base files took 9.8/26.6/102.8 s, every replaced
    # file scanned every path merged so far. Lines executed are counted, not
    # seconds, so the test is exact on a loaded machine: four times the
    # files must cost about four times the work (sixteen when quadratic).
    small = _lines_run_in_tarlayer(_many_files(tmp_path, 300))
    large = _lines_run_in_tarlayer(_many_files(tmp_path, 1200))
    assert large / small < 6, (small, large)


def _reference_merge(layers: list[Path]) -> dict[str, LayerMember]:
    """The obvious (quadratic) whiteout semantics, as the oracle for ``image_files``."""
    merged: dict[str, LayerMember] = {}

    def remove_below(path: str, *, keep_self: bool) -> None:
        prefix = f"{path}/" if path else ""
        for key in [k for k in merged if k.startswith(prefix)]:
            del merged[key]
        if not keep_self:
            merged.pop(path, None)

    for layer in layers:
        members = list(iter_layer(layer))
        for member in members:
            parent, _, name = member.path.rpartition("/")
            if name == ".wh..wh..opq":
                remove_below(parent, keep_self=True)
            elif name.startswith(".wh."):
                remove_below(f"{parent}/{name[4:]}" if parent else name[4:], keep_self=False)
        for member in members:
            if member.is_whiteout:
                continue
            if member.kind != "dir":
                remove_below(member.path, keep_self=True)
            merged[member.path] = member
    return merged


_NAMES = st.sampled_from(["a", "b", "c"])
_PATHS = st.lists(_NAMES, min_size=1, max_size=3).map("/".join)
_MEMBERS = st.one_of(
    _PATHS.map(lambda path: f"{path}/"),  # a directory
    _PATHS,  # a file
    _PATHS.map(lambda path: path.rpartition("/")[0] + "/.wh." + path.rpartition("/")[2]),
    _PATHS.map(lambda path: f"{path}/.wh..wh..opq"),
)


@settings(max_examples=150, deadline=None)
@given(stack=st.lists(st.lists(_MEMBERS, max_size=8, unique=True), min_size=1, max_size=3))
def test_base_scan_merges_as_the_runtime_does(stack: list[list[str]]) -> None:
    # The linear merge must give exactly what the plain definition gives,
    # whatever mix of files, directories, whiteouts and opaque whiteouts.
    with tempfile.TemporaryDirectory(prefix="uvdock-hostile-") as name:
        directory = Path(name)
        layers = [
            _write_layer(directory / f"{number}.tar", [name.lstrip("/") for name in names])
            for number, names in enumerate(stack)
        ]
        assert image_files(layers) == _reference_merge(layers)
