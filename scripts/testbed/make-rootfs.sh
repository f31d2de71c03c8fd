#!/bin/bash
# Runs on the host (root). Makes the root filesystem of the python stand-in for
# one platform: debootstrap --variant=minbase of SUITE for ARCH (foreign arches
# run their second stage under qemu-user via binfmt), ca-certificates, netbase,
# tzdata and only the runtime libraries the CPython build links against, then
# the CPython /usr/local tree, trimmed like debian:*-slim (no docs, man pages,
# locales, apt lists or caches).
#
# usage: make-rootfs.sh ARCH SUITE MIRROR SECURITY_MIRROR CPYTHON_TARBALL PACKAGES_FILE WORK_DIR OUT_TARBALL
#   SECURITY_MIRROR may be "" (no security source in the image's apt sources)
set -euo pipefail

ARCH=$1 SUITE=$2 MIRROR=$3 SECURITY_MIRROR=$4 CPYTHON=$5 PKGFILE=$6 WORK=$7 OUT=$8
ROOT=$WORK/rootfs-$ARCH
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

say() { printf '[make-rootfs %s %s] %s\n' "$ARCH" "$(date +%H:%M:%S)" "$*"; }

cleanup_mounts() {
    local m
    # whatever debootstrap or we left mounted below ROOT, deepest first
    for m in $(awk -v r="$ROOT" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
        umount -l "$m" 2>/dev/null || true
    done
}
trap cleanup_mounts EXIT

cleanup_mounts
rm -rf "$ROOT"
mkdir -p "$ROOT"

include="ca-certificates,netbase,tzdata$(tr -s ' \n' ',' <"$PKGFILE" | sed 's/,$//; s/^/,/; s/^,$//')"
say "debootstrap --arch=$ARCH --variant=minbase --include=$include $SUITE"
debootstrap --arch="$ARCH" --variant=minbase --include="$include" "$SUITE" "$ROOT" "$MIRROR"

# apt sources as in the official debian images, with this machine's mirrors
rm -f "$ROOT/etc/apt/sources.list"
{
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$MIRROR" "$SUITE" "$SUITE"
    if [ -n "$SECURITY_MIRROR" ]; then
        printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "$SECURITY_MIRROR" "$SUITE"
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
    "$ROOT/debootstrap"
mkdir -p "$ROOT/var/lib/apt/lists/partial"
: >"$ROOT/etc/resolv.conf"          # docker provides these at run time
: >"$ROOT/etc/hostname"
rm -f "$ROOT/etc/machine-id" && : >"$ROOT/etc/machine-id"

say "installing CPython from $(basename "$CPYTHON")"
tar -x -z -C "$ROOT" --numeric-owner -f "$CPYTHON"
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
    -czf "$OUT.tmp" .
mv "$OUT.tmp" "$OUT"
rm -rf "$ROOT"
say "done: $OUT ($(du -h "$OUT" | cut -f1))"
