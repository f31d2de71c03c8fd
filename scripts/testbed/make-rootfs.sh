#!/bin/bash
# Runs on the host (root). Makes the root filesystem of the python stand-in for
# one platform, in two phases so that the slow one (debootstrap of a foreign
# arch, whose second stage runs under qemu-user via binfmt) can run while
# CPython compiles:
#
#   bootstrap: debootstrap --variant=minbase of SUITE for ARCH with
#              ca-certificates, netbase, tzdata and the runtime libraries the
#              CPython build is expected to link against (EXPECTED_LIBS)
#   finish:    install whatever the actual build needs beyond that (from its
#              runtime-packages file), trim like debian:*-slim (no docs, man
#              pages, locales, apt lists or caches), add the CPython /usr/local
#              tree, check python3 runs, pack the tarball
#
# usage: make-rootfs.sh bootstrap ARCH SUITE MIRROR WORK_DIR
#        make-rootfs.sh finish ARCH SUITE MIRROR SECURITY_MIRROR CPYTHON_TARBALL PACKAGES_FILE WORK_DIR OUT_TARBALL
#   SECURITY_MIRROR may be "" (then the image's apt sources have no security entry)
set -euo pipefail

# what build-cpython.sh reports for CPython 3.13 on trixie (checked in `finish`)
EXPECTED_LIBS="libbz2-1.0 libc6 libffi8 libgdbm-compat4t64 libgdbm6t64 liblzma5 libmpdec4 libncursesw6
               libreadline8t64 libsqlite3-0 libssl3t64 libtinfo6 libuuid1 zlib1g"

MODE=$1 ARCH=$2 SUITE=$3 MIRROR=$4
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

say() { printf '[make-rootfs %s %s] %s\n' "$ARCH" "$(date +%H:%M:%S)" "$*"; }

cleanup_mounts() {
    local m
    # whatever debootstrap or we left mounted below ROOT, deepest first
    for m in $(awk -v r="$ROOT/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
        umount -l "$m" 2>/dev/null || true
    done
}

bootstrap() {
    local work=$1 marker include
    ROOT=$work/rootfs-$ARCH
    marker=$(cat "$0" | sha256sum | cut -c1-16)-$SUITE-$ARCH
    if [ -f "$ROOT/.uvdock-bootstrap" ] && [ "$(cat "$ROOT/.uvdock-bootstrap")" = "$marker" ]; then
        say "reusing the bootstrapped $ROOT"
        return 0
    fi
    trap cleanup_mounts EXIT
    cleanup_mounts
    rm -rf --one-file-system "$ROOT"
    mkdir -p "$ROOT"
    include="ca-certificates,netbase,tzdata,$(echo $EXPECTED_LIBS | tr ' ' ',')"
    say "debootstrap --arch=$ARCH --variant=minbase --include=$include $SUITE"
    debootstrap --arch="$ARCH" --variant=minbase --include="$include" "$SUITE" "$ROOT" "$MIRROR"
    echo "$marker" >"$ROOT/.uvdock-bootstrap"
    say "bootstrapped"
}

finish() {
    local security=$1 cpython=$2 pkgfile=$3 work=$4 out=$5 missing p
    ROOT=$work/rootfs-$ARCH
    [ -f "$ROOT/.uvdock-bootstrap" ] || { echo "$ROOT is not bootstrapped" >&2; exit 1; }
    trap cleanup_mounts EXIT

    missing=""
    for p in $(cat "$pkgfile"); do
        chroot "$ROOT" dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=" $p"
    done
    if [ -n "$missing" ]; then
        say "the build needs more than EXPECTED_LIBS:$missing (installing; update EXPECTED_LIBS)"
        printf 'deb %s %s main\n' "$MIRROR" "$SUITE" >"$ROOT/etc/apt/sources.list"
        cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
        mount -t proc proc "$ROOT/proc"
        chroot "$ROOT" apt-get update -qq
        # shellcheck disable=SC2086
        chroot "$ROOT" apt-get install -y -qq --no-install-recommends $missing
        umount "$ROOT/proc"
    fi

    # apt sources as in the official debian images, with this machine's mirrors
    rm -f "$ROOT/etc/apt/sources.list"
    {
        printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "$MIRROR" "$SUITE" "$SUITE"
        if [ -n "$security" ]; then
            printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
                "$security" "$SUITE"
        fi
    } >"$ROOT/etc/apt/sources.list.d/debian.sources"

    # debian:*-slim trimming, also for packages users install later
    cat >"$ROOT/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
# as in debian:*-slim: keep images small
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    cat >"$ROOT/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    printf 'Acquire::Languages "none";\n' >"$ROOT/etc/apt/apt.conf.d/docker-no-languages"
    printf 'APT::AutoRemove::SuggestsImportant "false";\n' >"$ROOT/etc/apt/apt.conf.d/docker-autoremove-suggests"
    find "$ROOT/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
    find "$ROOT/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
    rm -rf "$ROOT/usr/share/man/"* "$ROOT/usr/share/info/"* "$ROOT/usr/share/lintian/"* "$ROOT/usr/share/groff/"*
    find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
    rm -rf "$ROOT/var/lib/apt/lists/"* "$ROOT/var/cache/apt/"*.bin "$ROOT/var/cache/apt/archives/"*.deb \
        "$ROOT/var/cache/debconf/"*-old "$ROOT/var/lib/dpkg/"*-old "$ROOT/var/log/"*.log "$ROOT/var/log/apt/"* \
        "$ROOT/debootstrap" "$ROOT/.uvdock-bootstrap"
    mkdir -p "$ROOT/var/lib/apt/lists/partial"
    : >"$ROOT/etc/resolv.conf" # docker provides these at run time
    : >"$ROOT/etc/hostname"
    : >"$ROOT/etc/machine-id"

    say "installing CPython from $(basename "$cpython")"
    tar -x -z -C "$ROOT" --numeric-owner -f "$cpython"
    chroot "$ROOT" /sbin/ldconfig

    say "checking python3 in the rootfs$([ "$ARCH" = amd64 ] || echo ' (under qemu)')"
    chroot "$ROOT" /usr/local/bin/python3 -c '
import platform, sys, ssl, sqlite3, ctypes, zlib, lzma, bz2, uuid, readline, curses, dbm, decimal, json, pyexpat, hashlib
assert sys.prefix == "/usr/local", sys.prefix
import pip, sysconfig
assert sysconfig.get_paths()["purelib"] == "/usr/local/lib/python%d.%d/site-packages" % sys.version_info[:2], sysconfig.get_paths()
ctypes.CDLL(None)
print(platform.machine(), platform.python_version(), ssl.OPENSSL_VERSION, "sqlite", sqlite3.sqlite_version, "pip", pip.__version__)
'
    # only runtime libraries: no compiler, no -dev package
    if chroot "$ROOT" dpkg-query -W -f='${Package}\n' | grep -E -- '-dev$|^(gcc|g\+\+|cpp|make|binutils)(-[0-9]+)?$'; then
        echo "the rootfs has build packages (above)" >&2
        exit 1
    fi

    say "packing rootfs"
    tar -C "$ROOT" --numeric-owner --xattrs --sort=name --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
        -czf "$out.tmp" .
    mv "$out.tmp" "$out"
    cleanup_mounts
    rm -rf --one-file-system "$ROOT"
    say "done: $out ($(du -h "$out" | cut -f1))"
}

case "$MODE" in
    bootstrap) bootstrap "$5" ;;
    finish) finish "$5" "$6" "$7" "$8" "$9" ;;
    *) echo "usage: $0 bootstrap|finish ..." >&2; exit 2 ;;
esac
