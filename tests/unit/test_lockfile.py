"""Reading uv.lock as uv installs it: same-named packages from several indexes, conflict
markers, URL-encoded wheel names (the shapes of ML projects' locks, e.g. torch variants)."""

from __future__ import annotations

from pathlib import Path

import pytest

from uvdock.errors import ConfigError
from uvdock.plan.wheels import from_source
from uvdock.project.lockfile import installed_packages, read_lock

CPU = "https://download.pytorch.org/whl/cpu"
PYPI = "https://pypi.org/simple"
# uv's encoding of the conflicting extras of the project "ml-app" (7 characters).
ON_CPU = "extra == 'extra-6-ml-app-cpu'"
ON_GPU = "extra == 'extra-6-ml-app-gpu'"

LOCK = f"""version = 1
revision = 3
requires-python = ">=3.12"
conflicts = [[{{ package = "ml-app", extra = "cpu" }}, {{ package = "ml-app", extra = "gpu" }}]]

[[package]]
name = "ml-app"
version = "0.1.0"
source = {{ virtual = "." }}
dependencies = [{{ name = "numpy" }}]

[package.optional-dependencies]
cpu = [{{ name = "torch", version = "2.8.0+cpu", source = {{ registry = "{CPU}" }}, marker = "{ON_CPU}" }}]
gpu = [{{ name = "torch", version = "2.8.0", source = {{ registry = "{PYPI}" }}, marker = "{ON_GPU}" }}]

[[package]]
name = "numpy"
version = "2.3.0"
source = {{ registry = "{PYPI}" }}
wheels = [{{ url = "https://files.example/numpy-2.3.0-cp313-cp313-manylinux_2_28_x86_64.whl" }}]

[[package]]
name = "torch"
version = "2.8.0+cpu"
source = {{ registry = "{CPU}" }}
dependencies = [{{ name = "filelock", marker = "{ON_CPU}" }}]
wheels = [{{ url = "{CPU}/torch-2.8.0%2Bcpu-cp313-cp313-manylinux_2_28_x86_64.whl" }}]

[[package]]
name = "torch"
version = "2.8.0"
source = {{ registry = "{PYPI}" }}
dependencies = [{{ name = "nvidia-cublas", marker = "{ON_GPU}" }}]
wheels = [{{ url = "https://files.example/torch-2.8.0-cp313-cp313-manylinux_2_28_x86_64.whl" }}]

[[package]]
name = "filelock"
version = "3.18.0"
source = {{ registry = "{PYPI}" }}
wheels = [{{ url = "https://files.example/filelock-3.18.0-py3-none-any.whl" }}]

[[package]]
name = "nvidia-cublas"
version = "12.8.0"
source = {{ registry = "{PYPI}" }}
wheels = [{{ url = "https://files.example/nvidia_cublas-12.8.0-py3-none-manylinux_2_27_x86_64.whl" }}]
"""  # noqa: E501


Found = list[tuple[str, str | None, str | None]]


def installed(tmp_path: Path, **selection: tuple[str, ...]) -> Found:
    (tmp_path / "uv.lock").write_text(LOCK)
    packages, _, _ = read_lock(tmp_path / "uv.lock")
    found = installed_packages(
        packages, roots=["ml-app"], python="3.13", platform="linux/amd64", **selection
    )
    return [(p.name, p.version, p.source_url) for p in found]


def test_no_extra_installs_no_torch(tmp_path: Path) -> None:
    assert installed(tmp_path) == [("ml-app", "0.1.0", "."), ("numpy", "2.3.0", PYPI)]


def test_the_cpu_extra_installs_the_cpu_torch_and_only_its_dependencies(tmp_path: Path) -> None:
    assert installed(tmp_path, extras=("cpu",)) == [
        ("filelock", "3.18.0", PYPI),
        ("ml-app", "0.1.0", "."),
        ("numpy", "2.3.0", PYPI),
        ("torch", "2.8.0+cpu", CPU),
    ]


def test_the_gpu_extra_installs_pypi_torch_with_cuda(tmp_path: Path) -> None:
    names = installed(tmp_path, extras=("gpu",))
    assert ("torch", "2.8.0", PYPI) in names
    assert ("nvidia-cublas", "12.8.0", PYPI) in names
    assert not any(name == "filelock" for name, _, _ in names)


def test_url_encoded_wheel_names_are_wheels(tmp_path: Path) -> None:
    """PyTorch's index writes the local version's + as %2B: still a cp313 wheel."""
    (tmp_path / "uv.lock").write_text(LOCK)
    packages, _, _ = read_lock(tmp_path / "uv.lock")
    torch = next(p for p in packages if p.version == "2.8.0+cpu")
    assert torch.wheels[0].filename == "torch-2.8.0+cpu-cp313-cp313-manylinux_2_28_x86_64.whl"
    builds = from_source(
        packages, roots=["ml-app"], python="3.13", platforms=["linux/amd64"], glibc_minor=41,
        extras=("cpu",),
    )  # fmt: skip
    assert builds == []


def test_a_lock_that_is_not_one_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").write_text('version = 1\npackage = "x"\n')
    with pytest.raises(ConfigError) as raised:
        read_lock(tmp_path / "uv.lock")
    assert "uv.lock:2: `package` must be an array of tables, not a string" in str(raised.value)
    assert raised.value.exit_code == 2


def test_a_hand_broken_package_entry_is_an_error_at_its_line(tmp_path: Path) -> None:
    # Read "as far as it goes", a broken entry planned an image without its wheels.
    (tmp_path / "uv.lock").write_text(
        'version = 1\n[[package]]\nname = "x"\nwheels = 1\ndependencies = 2\n'
        "optional-dependencies = 3\ndev-dependencies = 4\n"
    )
    with pytest.raises(ConfigError) as raised:
        read_lock(tmp_path / "uv.lock")
    assert "uv.lock:4: `package[0].wheels` must be an array of tables, not an integer" in (
        raised.value.one_line()
    )
