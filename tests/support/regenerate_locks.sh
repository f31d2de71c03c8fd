#!/bin/sh
# Re-lock every fixture project under tests/fixtures/projects/ and
# examples/fastapi-app against the local package index (127.0.0.1:5011) and
# git server (127.0.0.1:5012), which this starts and stops. The steps, and why
# each uv option is there, are in tests/support/regenerate_locks.py.
#
#   tests/support/regenerate_locks.sh                # re-lock, keeping pins
#   tests/support/regenerate_locks.sh --upgrade      # re-lock, newest versions
#   tests/support/regenerate_locks.sh --check        # verify only (CI)
#   tests/support/regenerate_locks.sh flask-app      # one fixture
#
# After changing a package under tests/fixtures/packages/, first rebuild the
# served distributions: python -m tests.support.dists build
set -eu
cd "$(dirname "$0")/../.."
export UV_PYTHON_DOWNLOADS=never
exec "${PYTHON:-python3}" -m tests.support.regenerate_locks "$@"
