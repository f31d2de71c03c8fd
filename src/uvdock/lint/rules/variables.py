"""The environment variables Python and uv read, and the real name a misspelled one means
(PY225 ``misspelled-variable``)."""

from __future__ import annotations

import re

# The environment variables Python itself reads (docs.python.org, "Command line and
# environment"), and those uv reads (docs.astral.sh/uv/reference/environment).
PYTHON_VARIABLES = frozenset({
    "PYTHONHOME", "PYTHONPATH", "PYTHONSAFEPATH", "PYTHONPLATLIBDIR", "PYTHONSTARTUP",
    "PYTHONOPTIMIZE", "PYTHONBREAKPOINT", "PYTHONDEBUG", "PYTHONINSPECT", "PYTHONUNBUFFERED",
    "PYTHONVERBOSE", "PYTHONCASEOK", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX",
    "PYTHONHASHSEED", "PYTHONINTMAXSTRDIGITS", "PYTHONIOENCODING", "PYTHONNOUSERSITE",
    "PYTHONUSERBASE", "PYTHONEXECUTABLE", "PYTHONWARNINGS", "PYTHONFAULTHANDLER",
    "PYTHONTRACEMALLOC", "PYTHONPROFILEIMPORTTIME", "PYTHONASYNCIODEBUG", "PYTHONMALLOC",
    "PYTHONMALLOCSTATS", "PYTHONLEGACYWINDOWSFSENCODING", "PYTHONLEGACYWINDOWSSTDIO",
    "PYTHONCOERCECLOCALE", "PYTHONDEVMODE", "PYTHONUTF8", "PYTHONWARNDEFAULTENCODING",
    "PYTHONNODEBUGRANGES", "PYTHONPERFSUPPORT", "PYTHON_PERF_JIT_SUPPORT", "PYTHON_CPU_COUNT",
    "PYTHON_FROZEN_MODULES", "PYTHON_COLORS", "PYTHON_BASIC_REPL", "PYTHON_HISTORY",
    "PYTHON_GIL", "PYTHON_JIT", "PYTHON_PRESITE", "PYTHON_TLBC", "PYTHON_DISABLE_REMOTE_DEBUG",
    "PYTHON_CONTEXT_AWARE_WARNINGS", "PYTHON_THREAD_INHERIT_CONTEXT", "PYTHONTHREADDEBUG",
    "PYTHONDUMPREFS", "PYTHONDUMPREFSFILE", "PYTHONHTTPSVERIFY",
})  # fmt: skip
UV_VARIABLES = frozenset({
    "UV_BREAK_SYSTEM_PACKAGES", "UV_BUILD_CONSTRAINT", "UV_CACHE_DIR", "UV_COMPILE_BYTECODE",
    "UV_COMPILE_BYTECODE_TIMEOUT", "UV_CONCURRENT_BUILDS", "UV_CONCURRENT_DOWNLOADS",
    "UV_CONCURRENT_INSTALLS", "UV_CONFIG_FILE", "UV_CONSTRAINT", "UV_CREDENTIALS_DIR",
    "UV_CUSTOM_COMPILE_COMMAND", "UV_DEFAULT_INDEX", "UV_DEV", "UV_DOWNLOAD_URL", "UV_ENV_FILE",
    "UV_EXCLUDE_NEWER", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS", "UV_FORK_STRATEGY", "UV_FROZEN",
    "UV_GITHUB_TOKEN", "UV_GIT_LFS", "UV_HTTP_RETRIES", "UV_HTTP_TIMEOUT", "UV_INDEX",
    "UV_INDEX_STRATEGY", "UV_INDEX_URL", "UV_INIT_BUILD_BACKEND", "UV_INSECURE_HOST",
    "UV_INSECURE_NO_ZIP_VALIDATION", "UV_INSTALLER_GHE_BASE_URL", "UV_INSTALLER_GITHUB_BASE_URL",
    "UV_INSTALL_DIR", "UV_ISOLATED", "UV_KEYRING_PROVIDER", "UV_LIBC", "UV_LINK_MODE",
    "UV_LOCKED", "UV_LOG_CONTEXT", "UV_MANAGED_PYTHON", "UV_NATIVE_TLS", "UV_NO_BINARY",
    "UV_NO_BINARY_PACKAGE", "UV_NO_BUILD", "UV_NO_BUILD_ISOLATION", "UV_NO_BUILD_PACKAGE",
    "UV_NO_CACHE", "UV_NO_CONFIG", "UV_NO_DEV", "UV_NO_EDITABLE", "UV_NO_ENV_FILE",
    "UV_NO_GITHUB_FAST_PATH", "UV_NO_HF_TOKEN", "UV_NO_INSTALLER_METADATA",
    "UV_NO_MANAGED_PYTHON", "UV_NO_MODIFY_PATH", "UV_NO_PROGRESS", "UV_NO_SYNC",
    "UV_NO_VERIFY_HASHES", "UV_NO_WRAP", "UV_OFFLINE", "UV_OVERRIDE", "UV_PRERELEASE",
    "UV_PREVIEW", "UV_PREVIEW_FEATURES", "UV_PROJECT", "UV_PROJECT_ENVIRONMENT",
    "UV_PUBLISH_CHECK_URL", "UV_PUBLISH_INDEX", "UV_PUBLISH_PASSWORD", "UV_PUBLISH_TOKEN",
    "UV_PUBLISH_URL", "UV_PUBLISH_USERNAME", "UV_PYPY_INSTALL_MIRROR", "UV_PYTHON",
    "UV_PYTHON_BIN_DIR", "UV_PYTHON_CACHE_DIR", "UV_PYTHON_CPYTHON_BUILD", "UV_PYTHON_DOWNLOADS",
    "UV_PYTHON_DOWNLOADS_JSON_URL", "UV_PYTHON_GRAALPY_BUILD", "UV_PYTHON_INSTALL_BIN",
    "UV_PYTHON_INSTALL_DIR", "UV_PYTHON_INSTALL_MIRROR", "UV_PYTHON_INSTALL_REGISTRY",
    "UV_PYTHON_PREFERENCE", "UV_PYTHON_PYODIDE_BUILD", "UV_PYTHON_PYPY_BUILD",
    "UV_REQUEST_TIMEOUT", "UV_REQUIRE_HASHES", "UV_RESOLUTION", "UV_S3_ENDPOINT_URL",
    "UV_SKIP_WHEEL_FILENAME_CHECK", "UV_STACK_SIZE", "UV_SYSTEM_PYTHON", "UV_TOOL_BIN_DIR",
    "UV_TOOL_DIR", "UV_TORCH_BACKEND", "UV_UNMANAGED_INSTALL", "UV_VENV_CLEAR", "UV_VENV_SEED",
    "UV_ASTRAL_MIRROR_URL", "UV_AZURE_ENDPOINT_URL",
})  # fmt: skip
# Set by the python and uv images, or common build arguments: real, never "misspelled".
IMAGE_VARIABLES = frozenset({"PYTHON_VERSION", "PYTHON_SHA256", "PYTHON_PIP_VERSION",
                             "PYTHON_SETUPTOOLS_VERSION", "PYTHON_GET_PIP_URL",
                             "PYTHON_GET_PIP_SHA256", "UV_VERSION"})  # fmt: skip
NAMED_INDEX_CREDENTIAL = re.compile(r"UV_INDEX_\w+_(?:USERNAME|PASSWORD)")


def _distance(a: str, b: str, limit: int) -> int:
    """Edit distance with transpositions (optimal string alignment), or ``limit + 1``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, other in enumerate(b, start=1):
            cost = 0 if char == other else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char == b[j - 2] and a[i - 2] == other:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def meant_variable(name: str) -> str | None:
    """The real variable ``name`` misspells, or None (a real name, or too far, or ambiguous)."""
    if name in PYTHON_VARIABLES or name in UV_VARIABLES or name in IMAGE_VARIABLES:
        return None
    if NAMED_INDEX_CREDENTIAL.fullmatch(name):
        return None
    if name.startswith("PYTHON"):
        real = PYTHON_VARIABLES
    elif name.startswith("UV_"):
        real = UV_VARIABLES
    else:
        return None
    limit = 2 if len(name) >= 10 else 1  # noqa: PLR2004 - short names are too close together
    ranked = sorted((_distance(name, r, limit), r) for r in real)
    best = [r for d, r in ranked if d <= limit and d == ranked[0][0]]
    return best[0] if len(best) == 1 else None
