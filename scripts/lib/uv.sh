# Sourced by scripts/test.sh and scripts/demo.sh (which define step and UV_VERSION):
# sets UV to the uv binary itself, not a version manager's shim (pyenv's shims
# resolve per directory and can miss it), installing it from PyPI when absent
# or another version, and puts its directory first on PATH.
find_uv() { python3 -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null || true; }
UV=$(find_uv)
if [ -z "$UV" ] || [ "$("$UV" --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  step "installing uv $UV_VERSION"
  python3 -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  UV=$(find_uv)
fi
export PATH="$(dirname "$UV"):$PATH"
