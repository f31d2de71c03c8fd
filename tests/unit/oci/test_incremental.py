"""The source-edit patch: when it applies, and what it writes (the integration test compares
a patched image with a full build byte for byte)."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest

from uvdock.oci import incremental

PYPROJECT = """\
[project]
name = "demo"
version = "1.0"
readme = "README.md"

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
"""


def record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_project(root: Path) -> None:
    (root / "demo" / "sub").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "README.md").write_text("# demo\n")
    (root / "demo" / "__init__.py").write_text("")
    (root / "demo" / "sub" / "__init__.py").write_text("")
    (root / "demo" / "core.py").write_text("X = 1\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: main\n")


def make_install(tree: Path, root: Path) -> Path:
    """An installed tree as uv leaves it: the package files, a dist-info with RECORD."""
    site = tree / "app/.venv/lib/python3.13/site-packages"
    rows = []
    for name in ("demo/__init__.py", "demo/sub/__init__.py", "demo/core.py"):
        data = (root / name).read_bytes()
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_bytes(data)
        rows.append(f"{name},{record_hash(data)},{len(data)}")
    dist = site / "demo-1.0.dist-info"
    dist.mkdir()
    metadata = b"Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n\n# demo\n"
    (dist / "METADATA").write_bytes(metadata)
    rows += [f"demo-1.0.dist-info/METADATA,{record_hash(metadata)},{len(metadata)}"]
    rows += ["demo-1.0.dist-info/RECORD,,"]
    (dist / "RECORD").write_text("\n".join(rows) + "\n")
    return site


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (PYPROJECT, True),
        (PYPROJECT.replace('version = "1.0"', 'dynamic = ["version"]'), False),
        (PYPROJECT.replace("hatchling.build", "maturin"), False),
        (PYPROJECT + "[tool.hatch.build.hooks.custom]\n", False),
        (PYPROJECT + "[tool.hatch.build.targets.wheel.hooks.vcs]\n", False),
        ("[build-system]\nbuild-backend = 'hatchling.build'\n", False),  # no [project]
        ("not = toml = at all", False),
        (None, False),
    ],
)
def test_eligible_only_for_verbatim_backends_with_static_metadata(
    text: str | None, expected: bool, tmp_path: Path
) -> None:
    assert incremental.eligible(text, tmp_path) is expected


def test_a_setup_py_is_never_eligible(tmp_path: Path) -> None:
    (tmp_path / "setup.py").write_text("from setuptools import setup; setup()\n")
    assert not incremental.eligible(PYPROJECT, tmp_path)


def test_scan_skips_vcs_and_environments_and_rehashes_only_touched_files(tmp_path: Path) -> None:
    make_project(tmp_path)
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    first = incremental.scan(tmp_path)
    assert sorted(first) == [
        "README.md", "demo/__init__.py", "demo/core.py", "demo/sub/__init__.py", "pyproject.toml",
    ]  # fmt: skip
    assert first["demo/core.py"].sha256 == hashlib.sha256(b"X = 1\n").hexdigest()
    # Same size and mtime: the old hash is trusted (as git's index does), not re-read.
    core = tmp_path / "demo" / "core.py"
    stat = core.stat()
    core.write_text("X = 2\n")
    os.utime(core, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert incremental.scan(tmp_path, first)["demo/core.py"] == first["demo/core.py"]
    core.write_text("X = 22\n")
    assert incremental.scan(tmp_path, first)["demo/core.py"].sha256 == (
        hashlib.sha256(b"X = 22\n").hexdigest()
    )


def test_map_sources_pairs_equal_files_by_path_and_never_maps_pyproject_names(
    tmp_path: Path,
) -> None:
    root, tree = tmp_path / "root", tmp_path / "tree"
    make_project(root)
    make_install(tree, root)
    sources = incremental.scan(root)
    site = "app/.venv/lib/python3.13/site-packages"
    mapped = incremental.map_sources(tree, sources, PYPROJECT)
    # Two empty __init__.py files map to their own places, not to each other.
    assert mapped == {
        "demo/__init__.py": [f"{site}/demo/__init__.py"],
        "demo/sub/__init__.py": [f"{site}/demo/sub/__init__.py"],
        "demo/core.py": [f"{site}/demo/core.py"],
    }
    # A file pyproject.toml names feeds the metadata: never patched.
    named = incremental.map_sources(tree, sources, PYPROJECT + '# see "demo/core.py"\n')
    assert "demo/core.py" not in named


def test_changed_files_refuses_new_removed_and_unmapped_changes(tmp_path: Path) -> None:
    root, tree = tmp_path / "root", tmp_path / "tree"
    make_project(root)
    make_install(tree, root)
    incremental.save(tmp_path / "snap", tree, incremental.scan(root), PYPROJECT)
    snapshot = incremental.load(tmp_path / "snap")
    assert snapshot is not None
    assert incremental.changed_files(snapshot, incremental.scan(root)) == []
    (root / "demo" / "core.py").write_text("X = 2\n")
    assert incremental.changed_files(snapshot, incremental.scan(root)) == ["demo/core.py"]
    (root / "README.md").write_text("# changed readme: METADATA changes\n")
    assert incremental.changed_files(snapshot, incremental.scan(root)) is None
    (root / "README.md").write_text("# demo\n")
    (root / "demo" / "new.py").write_text("")
    assert incremental.changed_files(snapshot, incremental.scan(root)) is None
    (root / "demo" / "new.py").unlink()
    (root / "demo" / "sub" / "__init__.py").unlink()
    assert incremental.changed_files(snapshot, incremental.scan(root)) is None


def test_patch_writes_the_new_bytes_record_row_and_bytecode(tmp_path: Path) -> None:
    root, tree = tmp_path / "root", tmp_path / "tree"
    make_project(root)
    site = make_install(tree, root)
    (site / "demo" / "__pycache__").mkdir()
    (site / "demo" / "__pycache__" / "core.cpython-313.pyc").write_bytes(b"stale")
    incremental.save(tmp_path / "snap", tree, incremental.scan(root), PYPROJECT)
    snapshot = incremental.load(tmp_path / "snap")
    assert snapshot is not None
    new = b"X = 'edited'\n"
    (root / "demo" / "core.py").write_bytes(new)
    compiled: list[tuple[Path, list[Path]]] = []

    def compile_files(at: Path, files: list[Path]) -> bool:
        compiled.append((at, files))
        return True

    changed = incremental.changed_files(snapshot, incremental.scan(root))
    assert changed == ["demo/core.py"]
    out = incremental.patch(snapshot, root, changed, tmp_path / "out", compile_files=compile_files)
    out_site = out / site.relative_to(tree)
    assert (out_site / "demo" / "core.py").read_bytes() == new
    record = (out_site / "demo-1.0.dist-info" / "RECORD").read_text().splitlines()
    assert f"demo/core.py,{record_hash(new)},{len(new)}" in record
    assert record[0].startswith("demo/__init__.py,")  # order kept, other rows as they were
    assert not (out_site / "demo" / "__pycache__" / "core.cpython-313.pyc").exists()
    assert compiled == [(out, [out_site / "demo" / "core.py"])]
    # The snapshot itself is untouched until it is saved again.
    assert (snapshot.tree / site.relative_to(tree) / "demo" / "core.py").read_bytes() == b"X = 1\n"


def test_a_damaged_snapshot_is_no_snapshot(tmp_path: Path) -> None:
    (tmp_path / "snap").mkdir()
    assert incremental.load(tmp_path / "snap") is None
    (tmp_path / "snap" / "snapshot.json").write_text("{not json")
    assert incremental.load(tmp_path / "snap") is None
