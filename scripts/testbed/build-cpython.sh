#!/bin/bash
# Runs INSIDE the amd64 Debian trixie build chroot that scripts/testbed/images.sh
# creates (never on the host, never in an image).
#
# Builds CPython PY_MINOR the way the official python:*-slim images do
# (./configure --enable-shared --with-ensurepip ..., installed into /usr/local,
# tests/.pyc/libpython*.a removed, python/pip/... symlinks) but WITHOUT PGO/LTO
# (--enable-optimizations/--with-lto) to keep the test bed fast. The sources are
# the upstream tarball of Debian's pythonX.Y source package (the .orig.tar.xz,
# without Debian's patches, whose dist-packages/deb_system changes would not
# give upstream's /usr/local layout).
#
#   amd64: native build; the result is also installed into this chroot's
#          /usr/local to serve as the build python of the cross build.
#   arm64: cross-compiled (--host=aarch64-linux-gnu) with crossbuild-essential-arm64
#          and the -dev:arm64 libraries; no emulation involved.
#
# usage: build-cpython.sh PY_MINOR MIRROR OUT_DIR KEEP_PYC ARCH...
#   KEEP_PYC=1 keeps the standard library's .pyc files (optimization level 0
#   only); the official image deletes them, which makes every emulated (qemu)
#   arm64 python start recompile the modules it imports (seconds each time).
# writes OUT_DIR/cpython-ARCH.tar.gz (a usr/local/... tree),
#        OUT_DIR/runtime-packages-ARCH.txt (Debian packages of the shared
#        libraries the build links against) and OUT_DIR/python-version.
set -euo pipefail

PY_MINOR=$1 MIRROR=$2 OUT=$3 KEEP_PYC=$4
shift 4
ARCHES=("$@")
PYV=python$PY_MINOR
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
JOBS=$(nproc)

# libraries for the extension modules (the official image's build deps minus
# tk/bluetooth/berkeley-db)
DEV_LIBS="libssl-dev libffi-dev zlib1g-dev libbz2-dev liblzma-dev libsqlite3-dev libreadline-dev
          libncurses-dev libexpat1-dev uuid-dev libgdbm-dev libgdbm-compat-dev libmpdec-dev"

say() { printf '[build-cpython %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

triplet_of() {
    case "$1" in
        amd64) echo x86_64-linux-gnu ;;
        arm64) echo aarch64-linux-gnu ;;
        *) echo "unsupported arch $1" >&2; return 1 ;;
    esac
}

# ---- packages -------------------------------------------------------------------
setup_apt() {
    local cross=() a
    for a in "${ARCHES[@]}"; do [ "$a" = amd64 ] || cross+=("$a"); done
    cat >/etc/apt/sources.list <<EOF
deb $MIRROR trixie main
deb-src $MIRROR trixie main
EOF
    for a in "${cross[@]}"; do dpkg --add-architecture "$a"; done
    echo 'APT::Install-Recommends "false";' >/etc/apt/apt.conf.d/00no-recommends
    echo 'Acquire::Retries "3";' >/etc/apt/apt.conf.d/00retries
    say "apt-get update"
    apt-get update -qq
    # libmpdec-dev is not in every Debian release; CPython falls back to its bundled copy
    local libs=() p
    for p in $DEV_LIBS; do
        if apt-cache show "$p" >/dev/null 2>&1; then libs+=("$p"); else say "note: $p not available, skipped"; fi
    done
    local pkgs=(build-essential pkgconf xz-utils file "${libs[@]}")
    for a in "${cross[@]}"; do
        pkgs+=("crossbuild-essential-$a")
        for p in "${libs[@]}"; do pkgs+=("$p:$a"); done
    done
    say "installing build dependencies (${#pkgs[@]} packages)"
    apt-get install -y -qq "${pkgs[@]}" >/dev/null
}

fetch_source() {
    mkdir -p /build/src
    cd /build/src
    say "apt-get source --download-only $PYV"
    apt-get source --download-only "$PYV" >/dev/null 2>&1 || apt-get source --download-only "$PYV"
    local orig
    orig=$(ls "${PYV}"_*.orig.tar.* | head -n1)
    [ -f "$orig" ] || { echo "no orig tarball for $PYV" >&2; exit 1; }
    say "upstream sources: $orig (Debian source $(ls "${PYV}"_*.dsc))"
    ORIG_TARBALL=/build/src/$orig
}

# ---- build ----------------------------------------------------------------------
# build_one ARCH: configure, make, make install DESTDIR=/build/stage-ARCH
build_one() {
    local arch=$1 triplet src stage cflags ldflags
    triplet=$(triplet_of "$arch")
    src=/build/$arch/src
    stage=/build/stage-$arch
    rm -rf "/build/$arch" "$stage"
    mkdir -p "$src" "$stage"
    tar -x -C "$src" --strip-components=1 -f "$ORIG_TARBALL"
    cd "$src"

    cflags="$(DEB_HOST_ARCH=$arch dpkg-buildflags --get CFLAGS) -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer"
    ldflags="$(DEB_HOST_ARCH=$arch dpkg-buildflags --get LDFLAGS)"
    ldflags="${ldflags:--Wl},--strip-all"

    local conf=(
        --build=x86_64-linux-gnu
        --prefix=/usr/local
        --enable-loadable-sqlite-extensions
        --enable-option-checking=fatal
        --enable-shared
        --with-ensurepip
    )
    local env=()
    if [ "$arch" != amd64 ]; then
        # cross: answers configure cannot find out without running target code
        cat >/build/$arch/config.site <<'EOF'
ac_cv_file__dev_ptmx=yes
ac_cv_file__dev_ptc=no
ac_cv_buggy_getaddrinfo=no
EOF
        conf+=(--host="$triplet" --with-build-python="/usr/local/bin/$PYV")
        env+=("CONFIG_SITE=/build/$arch/config.site"
              "PKG_CONFIG_LIBDIR=/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig"
              "PKG_CONFIG_PATH=")
    fi
    say "$arch: configure ${conf[*]}"
    env "${env[@]}" ./configure "${conf[@]}" >/build/$arch/configure.log 2>&1 \
        || { tail -n 40 /build/$arch/configure.log; exit 1; }
    say "$arch: make -j$JOBS"
    env "${env[@]}" make -j"$JOBS" "EXTRA_CFLAGS=$cflags" "LDFLAGS=$ldflags" >/build/$arch/make.log 2>&1 \
        || { tail -n 60 /build/$arch/make.log; exit 1; }
    # like the official image: only the python binary gets an rpath, so it
    # cannot pick up some other libpython of the same version
    rm python
    env "${env[@]}" make -j"$JOBS" "EXTRA_CFLAGS=$cflags" "LDFLAGS=$ldflags,-rpath='\$\$ORIGIN/../lib'" python >>/build/$arch/make.log 2>&1 \
        || { tail -n 60 /build/$arch/make.log; exit 1; }
    # modules that failed to build are listed in make's output; a missing one is fatal here
    grep -E -A2 'necessary bits to build these optional modules were not found' /build/$arch/make.log || true
    if grep -E -A3 'Failed to build these modules|built successfully but were removed' /build/$arch/make.log; then
        echo "$arch: some extension modules did not build (see above)" >&2
        exit 1
    fi
    say "$arch: make install DESTDIR=$stage"
    env "${env[@]}" make install DESTDIR="$stage" >/build/$arch/install.log 2>&1 \
        || { tail -n 60 /build/$arch/install.log; exit 1; }
    if [ ! -e "$stage/usr/local/bin/pip3" ]; then
        # cross build: make install's ensurepip step runs the *build* python,
        # which has pip already (the amd64 build in /usr/local), so pip skipped
        # DESTDIR. Install the same bundled wheel the way ensurepip does.
        say "$arch: installing pip into DESTDIR from Lib/ensurepip/_bundled"
        /usr/local/bin/$PYV -m pip install --no-index --no-deps --ignore-installed --no-cache-dir \
            --disable-pip-version-check --root-user-action=ignore --root "$stage" --prefix /usr/local \
            "$src"/Lib/ensurepip/_bundled/pip-*.whl >>/build/$arch/install.log 2>&1 \
            || { tail -n 30 /build/$arch/install.log; exit 1; }
    fi

    # like the official image: no tests, no .pyc (but see KEEP_PYC), no static libpython
    local pyc=(-name '*.pyc')
    [ "$KEEP_PYC" != 1 ] || pyc=(-name '*.opt-1.pyc' -o -name '*.opt-2.pyc')
    find "$stage/usr/local" -depth \
        \( \( -type d -a \( -name test -o -name tests -o -name idle_test \) \) \
        -o \( -type f -a \( "${pyc[@]}" -o -name '*.pyo' -o -name 'libpython*.a' \) \) \) \
        -exec rm -rf '{}' +
    local s d
    for s in idle3 pip3 pydoc3 python3 python3-config; do
        d=${s%3}
        [ -e "$stage/usr/local/bin/$s" ] || { echo "$arch: /usr/local/bin/$s missing" >&2; exit 1; }
        [ -e "$stage/usr/local/bin/$d" ] || ln -s "$s" "$stage/usr/local/bin/$d"
    done
    [ -d "$stage/usr/local/lib/$PYV/site-packages/pip" ] || { echo "$arch: pip not installed by ensurepip" >&2; exit 1; }
}

# runtime_packages ARCH: Debian packages holding the shared libraries that the
# ELF files of the build need (like the official image's ldd | dpkg-query step,
# but with readelf so it also works for the cross build)
runtime_packages() {
    local arch=$1 stage=/build/stage-$1 triplet lib f pkg
    triplet=$(triplet_of "$arch")
    find "$stage/usr/local" -type f \( -name '*.so*' -o -perm -u+x \) -print0 \
        | xargs -0 file -N | awk -F: '/ELF/ { print $1 }' \
        | while read -r f; do readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; done \
        | sort -u \
        | while read -r lib; do
            [ -e "$stage/usr/local/lib/$lib" ] && continue   # libpython itself
            pkg=$(dpkg-query -S "*/$triplet/$lib" 2>/dev/null | awk -F: '!/^diversion / { print $1; exit }' || true)
            [ -n "$pkg" ] || { echo "$arch: no package ships $lib" >&2; exit 1; }
            echo "$pkg"
        done | sort -u
}

main() {
    mkdir -p "$OUT"
    setup_apt
    fetch_source
    local arch version
    # the native build first: it is the build python of the cross builds.
    # Start from an empty /usr/local (a rerun in a kept chroot has the last build there)
    find /usr/local -mindepth 1 -maxdepth 1 -exec rm -rf {} +
    mkdir -p /usr/local/bin /usr/local/lib /usr/local/include /usr/local/share
    for arch in "${ARCHES[@]}"; do
        [ "$arch" = amd64 ] || continue
        build_one amd64
        cp -a /build/stage-amd64/usr/local/. /usr/local/
        ldconfig
        /usr/local/bin/$PYV -c 'import ssl, sqlite3, ctypes, zlib, lzma, bz2, uuid, readline, curses, dbm, decimal, _gdbm, pyexpat; print("amd64 build ok:", ssl.OPENSSL_VERSION)'
    done
    [ -x /usr/local/bin/$PYV ] || { echo "cross builds need the amd64 build (list amd64 first)" >&2; exit 1; }
    for arch in "${ARCHES[@]}"; do
        [ "$arch" = amd64 ] || build_one "$arch"
    done
    version=$(/usr/local/bin/$PYV -c 'import platform; print(platform.python_version())')
    echo "$version" >"$OUT/python-version"
    for arch in "${ARCHES[@]}"; do
        runtime_packages "$arch" >"$OUT/runtime-packages-$arch.txt"
        say "$arch: runtime packages: $(tr '\n' ' ' <"$OUT/runtime-packages-$arch.txt")"
        tar -C "/build/stage-$arch" --numeric-owner -czf "$OUT/cpython-$arch.tar.gz.tmp" usr/local
        mv "$OUT/cpython-$arch.tar.gz.tmp" "$OUT/cpython-$arch.tar.gz"
    done
    say "CPython $version built for ${ARCHES[*]}"
}

main
