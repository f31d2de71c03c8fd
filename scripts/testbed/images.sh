# shellcheck shell=bash
# Sourced by scripts/testbed.sh (uses its helpers and variables): the stand-in
# base images.
#
# Pipeline; each stage is cached under $CACHE_DIR, keyed by a hash of its recipe
# (the files that make it + the versions):
#   uv wheels from PyPI (musllinux x86_64/aarch64: static binaries)
#       -> uv-$UV_VERSION/<arch>/{uv,uvx}
#   build chroot (debootstrap trixie amd64) running build-cpython.sh
#       -> cpython-<key>/cpython-<arch>.tar.gz, runtime-packages-<arch>.txt, python-version
#   make-rootfs.sh per arch (debootstrap minbase + runtime libs + CPython)
#       -> rootfs-<key>/python-<arch>.tar.gz
#   docker buildx build per platform, pushed as $BUILD_REPO/<name>:<tag>-<arch>,
#   then `docker buildx imagetools create` -> ONE index (manifest list) per
#   stand-in reference (the docker driver cannot build multi-platform images).
# $IMAGES_STAMP records the images key and the index digests: `up` does nothing
# when the registry still serves those digests, and rebuilds the images from the
# cached tarballs (a minute or two) when the registry data was lost.

BUILD_REPO=$REGISTRY/standin/build      # per-platform images (inputs of the indexes)

# ---- keys, stamp ------------------------------------------------------------------
compute_keys() {
    CPY_KEY=$(hash_of cpython "$RECIPE_DIR/build-cpython.sh" "py=$PY_MINOR" "suite=$SUITE" "arches=$ARCHES" \
        "keep_pyc=$STANDIN_KEEP_PYC")
    ROOTFS_KEY=$(hash_of rootfs "$CPY_KEY" "$RECIPE_DIR/make-rootfs.sh")
    IMAGES_KEY=$(hash_of images "$ROOTFS_KEY" "uv=$UV_VERSION" "$RECIPE_DIR/images.sh" \
        "$RECIPE_DIR/python.Dockerfile" "$RECIPE_DIR/uv.Dockerfile" "$RECIPE_DIR/uv-python.Dockerfile")
    CPY_CACHE=$CACHE_DIR/cpython-$CPY_KEY
    ROOTFS_CACHE=$CACHE_DIR/rootfs-$ROOTFS_KEY
    UV_CACHE=$CACHE_DIR/uv-$UV_VERSION
}

stamp_get() {
    local v
    [ -f "$IMAGES_STAMP" ] || return 1
    v=$(sed -n "s/^$1=//p" "$IMAGES_STAMP" | head -n1)
    [ -n "$v" ] && printf '%s\n' "$v"
}

# remote_digest REF: digest the registry serves for REF (an index for the stand-ins)
remote_digest() {
    local ref=$1 path repo tag
    path=${ref#"$REGISTRY"/}
    repo=${path%:*}
    tag=${path##*:}
    curl -fsS -m 10 -o /dev/null -D - \
        -H 'Accept: application/vnd.oci.image.index.v1+json' \
        -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
        -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "$REGISTRY_URL/v2/$repo/manifests/$tag" \
        | tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" { print $2 }' | grep .
}

images_current() {
    local ref name pyver
    compute_keys
    [ "$(stamp_get key || true)" = "$IMAGES_KEY" ] || return 1
    registry_up || return 1
    pyver=$(stamp_get python_version) || return 1
    for name in python python_patch uv uv_python; do
        case $name in
            python) ref=$PY_IMAGE ;;
            python_patch) ref=$REGISTRY/standin/library/python:$pyver-slim-$SUITE ;;
            uv) ref=$UV_IMAGE ;;
            uv_python) ref=$UV_PY_IMAGE ;;
        esac
        [ "$(remote_digest "$ref" 2>/dev/null || true)" = "$(stamp_get "$name" || echo none)" ] || return 1
    done
}

# ---- small helpers -------------------------------------------------------------------
# run_logged_progress LOGNAME PATTERN CMD...: like run_logged, but echoes the
# output lines matching PATTERN (a long build's own progress lines) to stderr
run_logged_progress() {
    local logf=$LOG_DIR/$1.log pat=$2 rcf rc
    shift 2
    mkdir -p "$LOG_DIR"
    rcf=$(mktemp)
    printf '\n### %s: %s\n' "$(date -Is)" "$*" >>"$logf"
    { rc=0; "$@" </dev/null 2>&1 || rc=$?; echo "$rc" >"$rcf"; } \
        | tee -a "$logf" | { grep --line-buffered -E "$pat" | sed -u 's/^/         /' || true; } >&2
    rc=$(cat "$rcf")
    rm -f "$rcf"
    if [ "$rc" != 0 ]; then
        log "command failed (exit $rc): $*"
        log "last lines of $logf:"
        tail -n 40 "$logf" | sed 's/^/    | /' >&2
        return "$rc"
    fi
}

security_mirror() {
    local f=/etc/apt/sources.list.d/debian.sources
    [ -f "$f" ] || return 0
    awk '/^URIs:/ && /security/ { print $2; exit }' "$f" | sed 's:/*$::'
}

# umount_below DIR: unmount everything at or below DIR, deepest first
umount_below() {
    local m dir=${1%/}
    for m in $(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
}
umount_work() { [ ! -d "$WORK_DIR" ] || umount_below "$WORK_DIR"; }

# safe_rm PATH...: rm -rf, only below $STATE_DIR and never through a mount.
# (Only the mounts below PATH are touched: a background debootstrap elsewhere
# in $WORK_DIR keeps its own.)
safe_rm() {
    local d
    for d in "$@"; do
        case "$d" in "$STATE_DIR"/?*) ;; *) die "refusing to delete $d" ;; esac
        umount_below "$d"
        if awk -v d="${d%/}" '$2 == d || index($2, d "/") == 1 { found = 1 } END { exit !found }' /proc/mounts; then
            die "mounts left below $d; not deleting it"
        fi
        rm -rf --one-file-system "$d"
    done
}

mount_chroot() {
    local r=$1
    mount -t proc proc "$r/proc"
    mount -t sysfs sysfs "$r/sys"
    mount --bind /dev "$r/dev"
    if mountpoint -q /dev/pts; then mount --bind /dev/pts "$r/dev/pts"; fi
}

# ---- uv binaries ----------------------------------------------------------------------
ensure_uv() {
    local arch plat d whl
    for arch in $ARCHES; do
        d=$UV_CACHE/$arch
        [ -x "$d/uv" ] && [ -x "$d/uvx" ] && continue
        case $arch in
            amd64) plat=musllinux_1_1_x86_64 ;;
            arm64) plat=musllinux_1_1_aarch64 ;;
            *) die "no uv wheel platform for $arch" ;;
        esac
        safe_rm "$d.tmp"
        mkdir -p "$d.tmp"
        progress "downloading uv $UV_VERSION wheel for $plat"
        if python3 -m pip --version >/dev/null 2>&1; then
            # --isolated: ignore this machine's pip config (extra indexes,
            # find-links, constraints); --cert: the CA bundle pip's certifi lacks
            run_logged uv python3 -m pip download --isolated --disable-pip-version-check --cert "$CA_FILE" \
                --no-deps --only-binary :all: --platform "$plat" --dest "$d.tmp" "uv==$UV_VERSION"
        else
            # no pip: the same wheel through PyPI's simple API (PEP 691 JSON),
            # checked against its sha256
            run_logged uv python3 - "$UV_VERSION" "$plat" "$d.tmp" "$CA_FILE" <<'EOF'
import hashlib, json, ssl, sys, urllib.request
ver, plat, dest, ca = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
req = urllib.request.Request("https://pypi.org/simple/uv/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
meta = json.load(urllib.request.urlopen(req, context=ctx, timeout=60))
pre = f"uv-{ver}-py3-none-"
(f,) = [u for u in meta["files"] if u["filename"].startswith(pre) and u["filename"].endswith(".whl")
        and plat in u["filename"][len(pre):-len(".whl")].split(".")]
data = urllib.request.urlopen(f["url"], context=ctx, timeout=300).read()
assert hashlib.sha256(data).hexdigest() == f["hashes"]["sha256"], "sha256 mismatch"
open(f"{dest}/{f['filename']}", "wb").write(data)
print("downloaded", f["filename"])
EOF
        fi
        whl=$(ls "$d.tmp/uv-$UV_VERSION-"*.whl)
        python3 - "$whl" "$d.tmp" "$UV_VERSION" <<'EOF'
import sys, zipfile
whl, dest, ver = sys.argv[1:]
with zipfile.ZipFile(whl) as z:
    for name in ("uv", "uvx"):
        with z.open(f"uv-{ver}.data/scripts/{name}") as src, open(f"{dest}/{name}", "wb") as out:
            out.write(src.read())
EOF
        chmod 0755 "$d.tmp/uv" "$d.tmp/uvx"
        rm -f "$whl"
        file -b "$d.tmp/uv" | grep -Eq 'statically linked|static-pie linked' \
            || die "uv from $(basename "$whl") is not a static binary: $(file -b "$d.tmp/uv")"
        mv "$d.tmp" "$d"
    done
    local v
    v=$("$UV_CACHE/amd64/uv" --version)
    case "$v" in "uv $UV_VERSION" | "uv $UV_VERSION "*) ;; *) die "amd64 uv says '$v'" ;; esac
}

# ---- CPython -------------------------------------------------------------------------
ensure_cpython() {
    if [ -f "$CPY_CACHE/done" ]; then
        progress "CPython $(cat "$CPY_CACHE/python-version") builds cached ($CPY_CACHE)"
        return 0
    fi
    local br=$WORK_DIR/buildroot mirror t0=$SECONDS
    mirror=$(debian_mirror)
    if [ ! -f "$br/.uvdock-bootstrapped" ]; then
        safe_rm "$br"
        mkdir -p "$br"
        progress "debootstrap $SUITE amd64 build chroot"
        run_logged cpython debootstrap --variant=minbase "$SUITE" "$br" "$mirror"
        touch "$br/.uvdock-bootstrapped"
        progress "build chroot ready ($((SECONDS - t0))s)"
    fi
    cp /etc/resolv.conf "$br/etc/resolv.conf"
    safe_rm "$br/build"
    mkdir -p "$br/build"
    cp "$RECIPE_DIR/build-cpython.sh" "$br/build/"
    mount_chroot "$br"
    progress "building CPython $PY_MINOR for $ARCHES (native amd64, cross arm64; log $LOG_DIR/cpython.log)"
    # shellcheck disable=SC2086
    run_logged_progress cpython '^\[build-cpython' \
        chroot "$br" /bin/bash /build/build-cpython.sh "$PY_MINOR" "$mirror" /build/out "$STANDIN_KEEP_PYC" $ARCHES
    umount_below "$br"
    safe_rm "$CPY_CACHE.tmp"
    mkdir -p "$CPY_CACHE.tmp"
    cp "$br"/build/out/* "$CPY_CACHE.tmp/"
    touch "$CPY_CACHE.tmp/done"
    mv "$CPY_CACHE.tmp" "$CPY_CACHE"
    [ -n "${TESTBED_KEEP_WORK:-}" ] || safe_rm "$br"
    progress "CPython $(cat "$CPY_CACHE/python-version") built ($((SECONDS - t0))s)"
}

# ---- rootfs ------------------------------------------------------------------------------
# The debootstraps (the arm64 one runs its second stage under qemu: minutes)
# start in the background before CPython compiles and are finished after it.
BG_PIDS=()

start_rootfs_bootstraps() {
    local arch mirror
    mirror=$(debian_mirror)
    mkdir -p "$ROOTFS_CACHE"
    for arch in $ARCHES; do
        [ -f "$ROOTFS_CACHE/python-$arch.tar.gz" ] && continue
        progress "debootstrap of the $arch rootfs in the background (log $LOG_DIR/rootfs-$arch.log)"
        run_logged_progress "rootfs-$arch" '^\[make-rootfs' \
            bash "$RECIPE_DIR/make-rootfs.sh" bootstrap "$arch" "$SUITE" "$mirror" "$WORK_DIR" &
        BG_PIDS+=("$!:$arch")
    done
}

finish_rootfs() {
    local arch out mirror sec p failed="" t0=$SECONDS
    mirror=$(debian_mirror)
    sec=$(security_mirror)
    if [ ${#BG_PIDS[@]} -gt 0 ]; then
        progress "waiting for the rootfs debootstraps"
        for p in "${BG_PIDS[@]}"; do wait "${p%%:*}" || failed+=" ${p#*:}"; done
        BG_PIDS=()
        [ -z "$failed" ] || die "debootstrap failed for$failed (logs: $LOG_DIR/rootfs-*.log)"
    fi
    for arch in $ARCHES; do
        out=$ROOTFS_CACHE/python-$arch.tar.gz
        [ -f "$out" ] && continue
        run_logged_progress "rootfs-$arch" '^\[make-rootfs' \
            bash "$RECIPE_DIR/make-rootfs.sh" finish "$arch" "$SUITE" "$mirror" "$sec" \
            "$CPY_CACHE/cpython-$arch.tar.gz" "$CPY_CACHE/runtime-packages-$arch.txt" "$WORK_DIR" "$out"
    done
    progress "rootfs tarballs ready ($((SECONDS - t0))s after the CPython build)"
}

# EXIT trap: let background debootstraps end before unmounting what is left
images_on_exit() {
    local p
    if [ ${#BG_PIDS[@]} -gt 0 ]; then
        log "waiting for background jobs to end: ${BG_PIDS[*]}"
        for p in "${BG_PIDS[@]}"; do wait "${p%%:*}" 2>/dev/null || true; done
    fi
    umount_work 2>/dev/null || true
}

# ---- images ---------------------------------------------------------------------------------
# build_push REF PLATFORM DOCKERFILE CONTEXT [BUILD ARGS...]
build_push() {
    local ref=$1 platform=$2 dockerfile=$3 ctx=$4
    shift 4
    progress "buildx build --platform $platform -> $ref"
    run_logged images "$DOCKER" buildx build --platform "$platform" --provenance=false --sbom=false \
        -f "$dockerfile" -t "$ref" --push "$@" "$ctx"
}

# make_index "TARGET..." SOURCE...: join per-platform images into one index
make_index() {
    local targets=$1 t args=()
    shift
    for t in $targets; do args+=(-t "$t"); done
    progress "imagetools create $targets"
    run_logged images "$DOCKER" buildx imagetools create "${args[@]}" "$@"
    local raw
    raw=$("$DOCKER" buildx imagetools inspect --raw "${targets%% *}")
    for t in $ARCHES; do
        grep -q "\"architecture\": *\"$t\"" <<<"$raw" || die "index ${targets%% *} has no $t image: $raw"
    done
}

build_images() {
    local pyver arch ctx refs py_patch
    pyver=$(cat "$CPY_CACHE/python-version")
    py_patch=$REGISTRY/standin/library/python:$pyver-slim-$SUITE

    refs=()
    for arch in $ARCHES; do
        ctx=$WORK_DIR/ctx-python-$arch
        safe_rm "$ctx"
        mkdir -p "$ctx"
        ln "$ROOTFS_CACHE/python-$arch.tar.gz" "$ctx/rootfs.tar.gz"
        build_push "$BUILD_REPO/python:$PY_MINOR-slim-$SUITE-$arch" "linux/$arch" "$RECIPE_DIR/python.Dockerfile" "$ctx" \
            --build-arg "PYTHON_VERSION=$pyver" --build-arg "OFFICIAL=python:$PY_MINOR-slim-$SUITE" \
            --build-arg "PYC=$([ "$STANDIN_KEEP_PYC" = 1 ] && echo 'kept (the official image deletes them)' || echo 'deleted')" \
            --build-arg "RECIPE=$IMAGES_KEY"
        refs+=("$BUILD_REPO/python:$PY_MINOR-slim-$SUITE-$arch")
        safe_rm "$ctx"
    done
    make_index "$PY_IMAGE $py_patch" "${refs[@]}"

    refs=()
    for arch in $ARCHES; do
        build_push "$BUILD_REPO/uv:$UV_VERSION-$arch" "linux/$arch" "$RECIPE_DIR/uv.Dockerfile" "$UV_CACHE" \
            --build-arg "UV_VERSION=$UV_VERSION" --build-arg "OFFICIAL=ghcr.io/astral-sh/uv:$UV_VERSION" \
            --build-arg "RECIPE=$IMAGES_KEY"
        refs+=("$BUILD_REPO/uv:$UV_VERSION-$arch")
    done
    make_index "$UV_IMAGE" "${refs[@]}"

    refs=()
    ctx=$WORK_DIR/ctx-empty
    mkdir -p "$ctx"
    for arch in $ARCHES; do
        build_push "$BUILD_REPO/uv:$UV_VERSION-python$PY_MINOR-$SUITE-slim-$arch" "linux/$arch" \
            "$RECIPE_DIR/uv-python.Dockerfile" "$ctx" \
            --build-arg "PY_IMAGE=$PY_IMAGE" --build-arg "UV_IMAGE=$UV_IMAGE" --build-arg "UV_VERSION=$UV_VERSION" \
            --build-arg "OFFICIAL=ghcr.io/astral-sh/uv:$UV_VERSION-python$PY_MINOR-$SUITE-slim" \
            --build-arg "RECIPE=$IMAGES_KEY"
        refs+=("$BUILD_REPO/uv:$UV_VERSION-python$PY_MINOR-$SUITE-slim-$arch")
    done
    make_index "$UV_PY_IMAGE" "${refs[@]}"

    local d_py d_patch d_uv d_uvpy
    d_py=$(remote_digest "$PY_IMAGE")
    d_patch=$(remote_digest "$py_patch")
    d_uv=$(remote_digest "$UV_IMAGE")
    d_uvpy=$(remote_digest "$UV_PY_IMAGE")
    printf 'key=%s\npython_version=%s\npython=%s\npython_patch=%s\nuv=%s\nuv_python=%s\nbuilt=%s\n' \
        "$IMAGES_KEY" "$pyver" "$d_py" "$d_patch" "$d_uv" "$d_uvpy" "$(date -Is)" >"$IMAGES_STAMP.tmp"
    mv "$IMAGES_STAMP.tmp" "$IMAGES_STAMP"
    rm -f "$SMOKE_STAMP"
}

prune_caches() {
    local d
    for d in "$CACHE_DIR"/cpython-* "$CACHE_DIR"/rootfs-* "$CACHE_DIR"/uv-*; do
        [ -e "$d" ] || continue
        case "$d" in "$CPY_CACHE" | "$ROOTFS_CACHE" | "$UV_CACHE") ;; *) safe_rm "$d" ;; esac
    done
}

step_images() {
    if images_current; then
        skip "registry serves the current stand-ins (recipe $IMAGES_KEY): $PY_IMAGE, $UV_IMAGE, $UV_PY_IMAGE"
        return 0
    fi
    mkdir -p "$CACHE_DIR" "$WORK_DIR"
    ensure_uv
    start_rootfs_bootstraps
    ensure_cpython
    finish_rootfs
    build_images
    prune_caches
    progress "python $(stamp_get python_version): $PY_IMAGE@$(stamp_get python)"
    progress "uv: $UV_IMAGE@$(stamp_get uv)"
    progress "uv+python: $UV_PY_IMAGE@$(stamp_get uv_python)"
}

step_arm64_check() {
    local out ref=$BUILD_REPO/python:$PY_MINOR-slim-$SUITE-arm64
    mkdir -p "$LOG_DIR"
    out=$(timeout 180 "$DOCKER" run --rm --network none --platform linux/arm64 "$ref" uname -m 2>>"$LOG_DIR/arm64-check.log") \
        || die "docker run --platform linux/arm64 $ref uname -m failed (see $LOG_DIR/arm64-check.log)"
    [ "$out" = aarch64 ] || die "docker run --platform linux/arm64 $ref uname -m printed '$out', not aarch64"
    skip "docker run --platform linux/arm64 ... uname -m -> aarch64"
}
