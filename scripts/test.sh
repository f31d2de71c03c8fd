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

# shellcheck source=lib/uv.sh
. scripts/lib/uv.sh

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
