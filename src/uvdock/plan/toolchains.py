"""What building a package from source needs: the toolchain behind its build backend.

A C compiler is not enough for every sdist: maturin and setuptools-rust need
Rust, scikit-build-core a CMake (and a C++ compiler), meson-python Meson and
Ninja, SciPy a Fortran compiler. The backend is read, in this order, from

1. the package's own ``pyproject.toml`` when its source is a local directory
   (``[tool.uv.sources]`` path entries, read by detection);
2. the sdist's ``pyproject.toml`` (``[build-system]``), when a reader is given
   (``uvdock.project.sdist`` downloads the sdist the lock names, checks its
   hash, and reads that one member);
3. a short curated table of widely used packages, for when neither is at hand
   (offline). No machine-readable source maps PyPI names to build backends, so
   the table is kept by hand, from each project's ``pyproject.toml``.

What cannot be told is assumed to need a C compiler, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from uvdock.plan.model import Toolchain
from uvdock.project.model import BuildSystem, LockedPackage

__all__ = [
    "APT_FOR",
    "BuildSystem",
    "SdistReader",
    "needs_of",
    "toolchain_of",
]


SdistReader = Callable[[LockedPackage], BuildSystem | None]

# Requirement names in [build-system] requires -> what they need to build.
_BY_REQUIREMENT: dict[str, tuple[Toolchain, ...]] = {
    "maturin": ("rust",),
    "setuptools-rust": ("rust", "c"),
    "puccinialin": ("rust",),  # fetches a Rust toolchain for maturin builds
    "scikit-build-core": ("cmake", "c"),
    "scikit-build": ("cmake", "c"),
    "cmake": ("cmake", "c"),
    "meson-python": ("meson", "c"),
    "meson": ("meson", "c"),
    "cython": ("c",),
    "pybind11": ("c",),
    "nanobind": ("cmake", "c"),
    "cffi": ("c",),
    "numpy": ("c",),
}

# Widely used packages that publish binary wheels, and what their sdists need.
_RUST = (
    "pydantic-core",
    "orjson",
    "cryptography",
    "tokenizers",
    "rpds-py",
    "jiter",
    "watchfiles",
    "safetensors",
    "polars",
    "ruff",
    "granian",
    "nh3",
    "ormsgpack",
    "pendulum",
    "rtoml",
    "blake3",
    "css-inline",
    "hf-transfer",
    "pycrdt",
    "cramjam",
    "rignore",
    "fastuuid",
    "jsonschema-rs",
    "minijinja",
    "outlines-core",
    "deltalake",
    "libcst",
    "uv",
    "maturin",
    "tantivy",
    "bcrypt",
    "tiktoken",
    "pyromark",
)
_MESON = (
    "numpy",
    "pandas",
    "scikit-image",
    "matplotlib",
    "contourpy",
    "pywavelets",
    "scikit-learn",
    "siphash24",
)
_CMAKE = (
    "llama-cpp-python", "lightgbm", "awkward-cpp", "pyarrow", "onnx", "sentencepiece", "xgboost",
    "faiss-cpu", "opencv-python", "opencv-python-headless", "dlib",
)  # fmt: skip
_KNOWN: dict[str, tuple[str, tuple[Toolchain, ...]]] = {
    **dict.fromkeys(_RUST, ("maturin", ("rust",))),
    **dict.fromkeys(_MESON, ("mesonpy", ("meson", "c"))),
    **dict.fromkeys(_CMAKE, ("scikit_build_core.build", ("cmake", "c"))),
    "scipy": ("mesonpy", ("meson", "c", "fortran")),
}

# Debian (trixie) packages that provide each toolchain in the builder stage.
APT_FOR: dict[Toolchain, tuple[str, ...]] = {
    "c": ("build-essential",),
    "rust": ("rustc", "cargo"),
    "cmake": ("cmake", "ninja-build"),
    "meson": ("ninja-build", "pkg-config"),
    "fortran": ("gfortran",),
}


# Backends that only copy files: with nothing else in `requires`, no compiler.
_PURE = frozenset({"hatchling", "flit-core", "poetry-core", "pdm-backend", "uv-build"})


def needs_of(requires: Iterable[str], backend: str | None) -> tuple[Toolchain, ...]:
    """The toolchains a ``[build-system]`` needs; a C compiler when unsure (setuptools)."""
    found: list[Toolchain] = []
    names: list[str] = []
    for text in requires:
        try:
            names.append(canonicalize_name(Requirement(text).name))
        except InvalidRequirement:
            continue
    if backend and backend.split(".", 1)[0] == "maturin":
        names.append("maturin")
    for name in names:
        found.extend(_BY_REQUIREMENT.get(name, ()))
    if not found and names and all(name in _PURE for name in names):
        return ()
    return tuple(dict.fromkeys(found or ["c"]))


def toolchain_of(
    package: LockedPackage,
    *,
    local: Mapping[str, BuildSystem],
    read_sdist: SdistReader | None,
) -> tuple[str | None, tuple[Toolchain, ...], str]:
    """``(backend, needs, where that came from)`` for building ``package`` from source."""
    system = local.get(package.name)
    if system is None and read_sdist is not None and package.source_kind == "registry":
        system = read_sdist(package)
    if system is not None:
        return system.backend, needs_of(system.requires, system.backend), system.source
    if package.name in _KNOWN:
        backend, needs = _KNOWN[package.name]
        return backend, needs, "uvdock's table of known build backends"
    return None, ("c",), "build backend unknown: a C compiler is assumed"
