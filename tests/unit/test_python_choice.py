"""Issue 10 classes 1 and 2: the Python is chosen with the lock's wheels in view, and a
from-source build names (and provides, or refuses) the toolchain its backend needs."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from uvdock.api import plan_project
from uvdock.plan import BuildPlan

PLATFORMS = (
    "manylinux_2_17_x86_64.manylinux2014_x86_64",
    "manylinux_2_17_aarch64.manylinux2014_aarch64",
)
PURE = 'wheels = [{ url = "https://files.example/anyio-4.9.0-py3-none-any.whl", hash = "sha256:00" }]\n'  # noqa: E501


def wheels(name: str, version: str, pythons: tuple[str, ...], *, abi3: str | None = None) -> str:
    """A ``wheels = [...]`` line with one binary wheel per Python and platform."""
    files = []
    stem = name.replace("-", "_")
    for platform in PLATFORMS:
        if abi3:
            files.append(f"{stem}-{version}-{abi3}-abi3-{platform}.whl")
        for py in pythons:
            tag = f"cp{py.replace('.', '')}"
            files.append(f"{stem}-{version}-{tag}-{tag}-{platform}.whl")
    entries = ", ".join(
        f'{{ url = "https://files.example/{f}", hash = "sha256:00" }}' for f in files
    )
    return f"wheels = [{entries}]\n"


def package(name: str, version: str, wheel_line: str = "", *, sdist_hash: str = "00") -> str:
    return (
        f'\n[[package]]\nname = "{name}"\nversion = "{version}"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
        f'sdist = {{ url = "https://files.example/{name}-{version}.tar.gz", '
        f'hash = "sha256:{sdist_hash}" }}\n' + wheel_line
    )


def project(root: Path, deps: dict[str, str], packages: str, *, requires: str = ">=3.9") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    names = ", ".join(f'"{n}"' for n in deps)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "svc"\nversion = "1.0.0"\nrequires-python = "{requires}"\n'
        f'dependencies = [{names}]\n\n[tool.uvdock]\ncommand = "python -m svc"\n'
    )
    dependencies = ", ".join(f'{{ name = "{n}" }}' for n in deps)
    metadata = ", ".join(f'{{ name = "{n}" }}' for n in deps)
    (root / "uv.lock").write_text(
        f'version = 1\nrevision = 3\nrequires-python = "{requires}"\n\n'
        '[[package]]\nname = "svc"\nversion = "1.0.0"\nsource = { virtual = "." }\n'
        f"dependencies = [{dependencies}]\n\n[package.metadata]\nrequires-dist = [{metadata}]\n"
        + packages
    )
    return root


OLD_FASTAPI_LOCK = (
    package("pydantic-core", "2.33.2", wheels("pydantic-core", "2.33.2",
            ("3.9", "3.10", "3.11", "3.12", "3.13")))
    + package("uvloop", "0.21.0", wheels("uvloop", "0.21.0", ("3.10", "3.11", "3.12", "3.13")))
    + package("anyio", "4.9.0", PURE)
)  # fmt: skip


def plan(root: Path, **options: object) -> BuildPlan:
    return plan_project(root, options=options, environ={})


def test_python_is_the_highest_the_lock_has_wheels_for(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"pydantic-core": "", "uvloop": "", "anyio": ""},
                   OLD_FASTAPI_LOCK)  # fmt: skip
    result = plan(root)
    assert result.python.value == "3.13"
    assert "3.14 skipped: pydantic-core 2.33.2 has no cp314 wheel" in result.python.source
    assert "uvloop 0.21.0 has no cp314 wheel" in result.python.source
    assert result.native_builds == ()
    assert result.errors == ()


def test_without_a_lock_the_highest_allowed_python_is_chosen(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"anyio": ""}, "")
    (root / "uv.lock").unlink()
    assert plan(root, source="pyproject").python.value == "3.14"


def test_pure_and_abi3_wheels_do_not_hold_python_back(tmp_path: Path) -> None:
    abi3 = package("cryptography", "45.0.0", wheels("cryptography", "45.0.0", (), abi3="cp311"))
    root = project(tmp_path / "p", {"cryptography": ""}, abi3, requires=">=3.11")
    result = plan(root)
    assert result.python.value == "3.14"
    assert "skipped" not in result.python.source


def test_a_package_without_wheels_for_any_python_does_not_pull_python_down(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"sdist-only": "", "pydantic-core": ""},
                   package("sdist-only", "1.0")
                   + package("pydantic-core", "2.35.0", wheels("pydantic-core", "2.35.0",
                             ("3.12", "3.13", "3.14"))))  # fmt: skip
    result = plan(root)
    assert result.python.value == "3.14"
    assert [n.package for n in result.native_builds] == ["sdist-only"]
    assert [n.cause for n in result.native_builds] == ["sdist-only"]


def test_a_pinned_python_names_what_is_built_and_refuses_rust(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"pydantic-core": "", "uvloop": "", "anyio": ""},
                   OLD_FASTAPI_LOCK)  # fmt: skip
    (root / ".python-version").write_text("3.14\n")
    result = plan(root)
    assert result.python.value == "3.14"
    by_name = {n.package: n for n in result.native_builds}
    assert set(by_name) == {"pydantic-core", "uvloop"}
    assert by_name["pydantic-core"].needs == ("rust",)
    assert by_name["pydantic-core"].cause == "python"
    warning = next(p for p in result.problems if p.severity == "warning")
    assert "no cp314 wheel for pydantic-core 2.33.2, uvloop 0.21.0" in warning.message
    assert warning.hint == "Python 3.13 has wheels for all of them"
    error = next(p for p in result.errors)
    assert "pydantic-core 2.33.2 must be built from source" in error.message
    assert "needs Rust" in error.message
    assert error.hint is not None
    assert "--python 3.13" in error.hint
    assert "--build-packages cargo" in error.hint


def test_rust_in_the_builder_when_asked(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"pydantic-core": "", "uvloop": "", "anyio": ""},
                   OLD_FASTAPI_LOCK)  # fmt: skip
    result = plan(root, python="3.14", build_packages=("cargo",))
    assert result.errors == ()
    apt = [p.value for p in result.build_packages]
    assert {"rustc", "cargo", "build-essential"} <= set(apt)


def test_meson_package_built_from_source_gets_ninja_and_a_compiler(tmp_path: Path) -> None:
    numpy = package("numpy", "2.0.0", wheels("numpy", "2.0.0", ("3.10", "3.11", "3.12")))
    root = project(tmp_path / "p", {"numpy": ""}, numpy, requires=">=3.10")
    result = plan(root, python="3.13")
    assert result.errors == ()
    (native,) = result.native_builds
    assert native.needs == ("meson", "c")
    assert {"build-essential", "ninja-build", "pkg-config"} <= {
        p.value for p in result.build_packages
    }


def _sdist(name: str, pyproject: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = pyproject.encode()
        info = tarfile.TarInfo(f"{name}-1.0/pyproject.toml")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("build_system", "needs"),
    [
        ('requires = ["maturin>=1,<2"]\nbuild-backend = "maturin"', ("rust",)),
        ('requires = ["scikit-build-core"]\nbuild-backend = "scikit_build_core.build"',
         ("cmake", "c")),
        ('requires = ["hatchling"]\nbuild-backend = "hatchling.build"', ()),
        ('requires = ["setuptools", "cython"]', ("c",)),
    ],
)  # fmt: skip
def test_the_sdists_own_build_system_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, build_system: str, needs: tuple[str, ...]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data = _sdist("mystery", f"[build-system]\n{build_system}\n")
    digest = hashlib.sha256(data).hexdigest()
    root = tmp_path / "p"
    lock_package = (
        '\n[[package]]\nname = "mystery"\nversion = "1.0"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
        f'sdist = {{ path = "dists/mystery-1.0.tar.gz", hash = "sha256:{digest}" }}\n'
    )
    project(root, {"mystery": ""}, lock_package)
    (root / "dists").mkdir()
    (root / "dists" / "mystery-1.0.tar.gz").write_bytes(data)
    result = plan(root)
    (native,) = result.native_builds
    assert native.needs == needs
    assert native.needs_source == "[build-system] of the sdist mystery-1.0.tar.gz"


def test_an_sdist_whose_hash_differs_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data = _sdist("mystery", '[build-system]\nrequires = ["maturin"]\nbuild-backend = "maturin"\n')
    root = tmp_path / "p"
    lock_package = (
        '\n[[package]]\nname = "mystery"\nversion = "1.0"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
        f'sdist = {{ path = "dists/mystery-1.0.tar.gz", hash = "sha256:{"0" * 64}" }}\n'
    )
    project(root, {"mystery": ""}, lock_package)
    (root / "dists").mkdir()
    (root / "dists" / "mystery-1.0.tar.gz").write_bytes(data)
    (native,) = plan(root).native_builds
    assert native.needs == ("c",)
    assert native.needs_source == "build backend unknown: a C compiler is assumed"
