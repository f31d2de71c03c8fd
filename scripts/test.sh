#!/usr/bin/env bash
# uvdock's test command (the README's, and what CI runs): sets up everything the
# tests need on a fresh machine of this kind, idempotently, then runs the
# static checks and every test, including those against the real Docker
# Engine and registry. Extra arguments go to pytest (e.g. -k compose).
set -euo pipefail
cd "$(dirname "$0")/.."

export UV_PYTHON_DOWNLOADS=never   # managed Pythons cannot be downloaded here
UV_VERSION=0.13.9

step() { printf '\n== %s\n' "$*"; }

# The uv binary itself, not a version manager's shim (pyenv's shims resolve per
# directory and can miss it); installed from PyPI when absent or another version.
find_uv() { python3 -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null || true; }
UV=$(find_uv)
if [ -z "$UV" ] || [ "$("$UV" --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  step "installing uv $UV_VERSION"
  python3 -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  UV=$(find_uv)
fi
export PATH="$(dirname "$UV"):$PATH"

step "uv sync --locked (project and dev tools)"
"$UV" sync --locked --quiet

step "ruff"
"$UV" run --no-sync ruff check .
"$UV" run --no-sync ruff format --check .

step "mypy --strict"
"$UV" run --no-sync mypy

step "test bed: Docker Engine, buildx, compose, registry, qemu, stand-in images"
# The second engine (containerd image store) is what reproducible-build tests use.
TESTBED_CONTAINERD_STORE=1 scripts/testbed.sh up

step "pytest"
set +e
"$UV" run --no-sync pytest --run-docker "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure, not a pass" >&2
  exit 1
fi
exit "$status"
