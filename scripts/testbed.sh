#!/usr/bin/env bash
# uvdock integration test bed. On a Debian 12 VM with no systemd and no
# reachable container registry, install and start everything the integration
# tests need: Docker Engine + buildx + compose (from trixie), a registry on
# 127.0.0.1:5000, qemu binfmt for arm64, and multi-platform (amd64+arm64)
# stand-ins for the official python and uv images, built from Debian sources
# and PyPI wheels (see scripts/testbed/images.sh).
#
#   scripts/testbed.sh up      install/start/build what is missing (idempotent; seconds when done)
#   scripts/testbed.sh status  print what is up
#   scripts/testbed.sh env     print shell exports for tests:  eval "$(scripts/testbed.sh env)"
#   scripts/testbed.sh smoke   end-to-end check: buildx + CA secret + uv, both platforms, no cache
#   scripts/testbed.sh down    stop dockerd and the registry (keeps caches and registry data)
#   scripts/testbed.sh clean   down, then delete registry data, caches and work dirs
#
# Environment knobs: TESTBED_SKIP_SMOKE=1 (up without the smoke check),
# TESTBED_KEEP_WORK=1 (keep the CPython build chroot), TESTBED_DOCKERD_TIMEOUT (s),
# TESTBED_CONTAINERD_STORE=1 (up also starts a second dockerd with the containerd
# image store on $UVDOCK_TESTBED_DOCKER_HOST_CONTAINERD: multi-platform builds,
# --load of indexes, oci/docker exporters; host/none networking only).
set -Eeuo pipefail

# ---- versions (part of the cache keys) ----------------------------------------
UV_VERSION=0.13.9
PY_MINOR=3.13
SUITE=trixie                 # Debian release of the stand-in images and of the engine packages
# shellcheck disable=SC2034  # (ARCHES, STANDIN_KEEP_PYC: used in testbed/images.sh)
ARCHES="amd64 arm64"         # Debian arch names of the stand-in platforms (amd64 first)
# 1: keep the stdlib .pyc files in the python stand-in (the official image
# deletes them); without them every emulated arm64 python start recompiles what
# it imports (measured: 3.0 s instead of 0.75 s for `import ssl, sysconfig, json`)
# shellcheck disable=SC2034
STANDIN_KEEP_PYC=1

# ---- layout ---------------------------------------------------------------------
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RECIPE_DIR="$SCRIPT_DIR/testbed"
STATE_DIR=/var/lib/uvdock-testbed
CACHE_DIR=$STATE_DIR/cache
WORK_DIR=$STATE_DIR/work
LOG_DIR=/var/log/uvdock-testbed          # per-step logs of the noisy commands
REGISTRY_DATA=$STATE_DIR/registry
REGISTRY_CONFIG=$STATE_DIR/registry.yml
REGISTRY_LOG=/var/log/uvdock-registry.log
REGISTRY_PIDFILE=/run/uvdock-registry.pid
DOCKERD_LOG=/var/log/uvdock-dockerd.log
DOCKERD_PIDFILE=/run/uvdock-dockerd.pid
# optional second engine with the containerd image store (TESTBED_CONTAINERD_STORE=1)
DOCKERD_CS_HOST=unix:///run/uvdock-docker-containerd.sock
DOCKERD_CS_DATA=/var/lib/uvdock-docker-containerd
DOCKERD_CS_EXEC=/run/uvdock-docker-containerd
DOCKERD_CS_CONFIG=$STATE_DIR/dockerd-containerd.json
DOCKERD_CS_LOG=/var/log/uvdock-dockerd-containerd.log
DOCKERD_CS_PIDFILE=/run/uvdock-dockerd-containerd.pid
LOCK_FILE=/run/lock/uvdock-testbed.lock
IMAGES_STAMP=$STATE_DIR/images.stamp
SMOKE_STAMP=$STATE_DIR/smoke.stamp

DOCKER=/usr/bin/docker                   # the engine's own client (trixie docker.io)
REGISTRY_ADDR=127.0.0.1:5000             # where the registry listens
REGISTRY=localhost:5000                  # how image names spell it (docker: plain HTTP by default)
REGISTRY_URL=http://$REGISTRY_ADDR
CA_FILE=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}

PY_IMAGE=$REGISTRY/standin/library/python:$PY_MINOR-slim-$SUITE
UV_IMAGE=$REGISTRY/standin/astral-sh/uv:$UV_VERSION
UV_PY_IMAGE=$REGISTRY/standin/astral-sh/uv:$UV_VERSION-python$PY_MINOR-$SUITE-slim

APT_HOST_PKGS="skopeo umoci debootstrap binfmt-support git docker-registry curl file xz-utils apache2-utils"
# installed as pkg/trixie (dependencies from bookworm where they do). qemu from
# trixie (10.0, static) runs this machine's emulated arm64 work ~6x faster than
# bookworm's 7.2 (measured: python3 -c 'import ssl, json, sysconfig' 3.3 s vs 21.9 s)
APT_TRIXIE_PKGS="docker.io docker-cli docker-buildx docker-compose qemu-user qemu-user-static qemu-user-binfmt"

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-o Acquire::Retries=3 -o Dpkg::Use-Pty=0)
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}

# ---- helpers --------------------------------------------------------------------
log() { printf '%s testbed: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR${CURRENT_STEP:+ in step '$CURRENT_STEP'}: $*"; exit 1; }

CURRENT_STEP=""
STEP_SKIPPED=""
on_err() {
    local rc=$?
    # report once, from the main shell (subshells just pass the status up)
    if [ "$BASHPID" = "$$" ]; then
        case "$BASH_COMMAND" in
            return*) log "ERROR${CURRENT_STEP:+ in step '$CURRENT_STEP'} (exit $rc; see above)" ;;
            *) log "ERROR${CURRENT_STEP:+ in step '$CURRENT_STEP'}: command failed (exit $rc): $BASH_COMMAND (line ${BASH_LINENO[0]})" ;;
        esac
    fi
    exit "$rc"
}
trap on_err ERR
POLICY_RC_CREATED=""
on_exit() {
    images_on_exit
    [ -z "$POLICY_RC_CREATED" ] || rm -f /usr/sbin/policy-rc.d
}
trap on_exit EXIT

# step NAME FUNCTION [ARGS...]: run one step, print its name and duration.
# A step calls `skip "why"` when there was nothing to do.
step() {
    local name=$1 t0=$SECONDS
    shift
    CURRENT_STEP=$name
    STEP_SKIPPED=""
    "$@"
    if [ -n "$STEP_SKIPPED" ]; then
        log "ok   $name: $STEP_SKIPPED ($((SECONDS - t0))s)"
    else
        log "done $name ($((SECONDS - t0))s)"
    fi
    CURRENT_STEP=""
}
skip() { STEP_SKIPPED=$*; }
progress() { log "     $CURRENT_STEP: $*"; }

# run_logged LOGNAME CMD...: run an external command with its output in
# $LOG_DIR/LOGNAME.log; on failure show the tail of that log and fail.
run_logged() {
    local logf=$LOG_DIR/$1.log rc=0
    shift
    mkdir -p "$LOG_DIR"
    printf '\n### %s: %s\n' "$(date -Is)" "$*" >>"$logf"
    "$@" >>"$logf" 2>&1 </dev/null || rc=$?
    if [ "$rc" -ne 0 ]; then
        log "command failed (exit $rc): $*"
        log "last lines of $logf:"
        tail -n 40 "$logf" | sed 's/^/    | /' >&2
        return "$rc"
    fi
}

need_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }

# with_lock FUNCTION...: serialise concurrent runs (a second `up` waits, then finds it all done)
with_lock() {
    mkdir -p "$(dirname "$LOCK_FILE")"
    exec 9>>"$LOCK_FILE"
    if ! flock -n 9; then
        log "another testbed.sh holds $LOCK_FILE; waiting for it"
        flock -w 7200 9 || die "timed out waiting for $LOCK_FILE"
    fi
    "$@"
}

# sha256 over strings and files (file content), for cache keys
hash_of() {
    local x
    for x in "$@"; do
        case "$x" in
            /*) [ -f "$x" ] || die "hash_of: no file $x"; printf 'file %s\n' "$(basename "$x")"; cat "$x" ;;
            *) printf 'str %s\n' "$x" ;;
        esac
    done | sha256sum | cut -c1-16
}

# wait_for SECONDS DESCRIPTION CMD...: poll CMD once a second until it succeeds
wait_for() {
    local timeout=$1 t0=$SECONDS
    shift 2
    until "$@" >/dev/null 2>&1; do
        [ $((SECONDS - t0)) -lt "$timeout" ] || return 1
        sleep 1
    done
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

docker_up() { timeout 20 "$DOCKER" info >/dev/null 2>&1; }
docker_down() { ! docker_up; }
docker_cs_down() { ! docker_cs_up; }
docker_cs_up() { DOCKER_HOST=$DOCKERD_CS_HOST timeout 20 "$DOCKER" info >/dev/null 2>&1; }
registry_up() { curl -fsS -m 3 -o /dev/null "$REGISTRY_URL/v2/" 2>/dev/null; }

# ---- step: apt packages -------------------------------------------------------
# The URI of the main Debian archive, read from the machine's own apt sources.
debian_mirror() {
    local f=/etc/apt/sources.list.d/debian.sources uri=""
    if [ -f "$f" ]; then
        # deb822: first stanza with Types: deb and a plain release suite (not -security/-updates)
        uri=$(awk 'BEGIN { RS = ""; FS = "\n" }
            { uri = ""; suites = ""; types = ""
              for (i = 1; i <= NF; i++) {
                  if ($i ~ /^URIs:/)   { v = $i; sub(/^URIs:[ \t]*/, "", v); uri = v }
                  if ($i ~ /^Suites:/) { v = $i; sub(/^Suites:[ \t]*/, "", v); suites = v }
                  if ($i ~ /^Types:/)  { v = $i; sub(/^Types:[ \t]*/, "", v); types = v }
              }
              if (uri == "" || types !~ /(^|[ \t])deb([ \t]|$)/) next
              n = split(suites, s, /[ \t]+/)
              for (j = 1; j <= n; j++) if (s[j] != "" && s[j] !~ /-/) { split(uri, u, /[ \t]+/); print u[1]; exit }
            }' "$f")
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                                 if ($(i+1) !~ /-/) { print $i; exit } }' /etc/apt/sources.list)
    fi
    [ -n "$uri" ] || die "cannot find the Debian archive URI in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
    printf '%s\n' "${uri%/}"
}

pkg_installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

# the packages of APT_TRIXIE_PKGS not installed in a version from $SUITE
trixie_missing() {
    local p v madison out=""
    # shellcheck disable=SC2086
    madison=$(apt-cache madison $APT_TRIXIE_PKGS 2>/dev/null || true)
    for p in $APT_TRIXIE_PKGS; do
        v=$(dpkg-query -W -f='${Status} ${Version}\n' "$p" 2>/dev/null | awk '$3 == "installed" { print $4 }' || true)
        if [ -z "$v" ] || ! awk -F'|' -v p="$p" -v v="$v" -v s=" $SUITE/" '
                { gsub(/^ +| +$/, "", $1); gsub(/^ +| +$/, "", $2) }
                $1 == p && $2 == v && index($3, s) { f = 1 } END { exit !f }' <<<"$madison"; then
            out+=" $p"
        fi
    done
    printf '%s\n' "$out"
}

TRIXIE_SOURCES=/etc/apt/sources.list.d/uvdock-$SUITE.sources
TRIXIE_PIN=/etc/apt/preferences.d/uvdock-$SUITE-low

write_trixie_source() {
    local mirror changed=1 want_src want_pin
    mirror=$(debian_mirror)
    want_src=$(printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" "$SUITE")
    want_pin=$(printf 'Package: *\nPin: release n=%s\nPin-Priority: 100\n' "$SUITE")
    if [ -f "$TRIXIE_SOURCES" ] && [ "$(cat "$TRIXIE_SOURCES")" = "$want_src" ] \
        && [ -f "$TRIXIE_PIN" ] && [ "$(cat "$TRIXIE_PIN")" = "$want_pin" ]; then
        changed=0
    else
        printf '%s\n' "$want_src" >"$TRIXIE_SOURCES"
        printf '%s\n' "$want_pin" >"$TRIXIE_PIN"
    fi
    echo "$changed"
}

step_apt() {
    local missing_host="" missing_trixie="" p changed
    for p in $APT_HOST_PKGS; do pkg_installed "$p" || missing_host+=" $p"; done
    changed=$(write_trixie_source)
    missing_trixie=$(trixie_missing)
    if [ -z "$missing_host$missing_trixie" ] && [ "$changed" = 0 ]; then
        skip "all packages installed"
        return 0
    fi
    # no services may start from maintainer scripts (there is no init system;
    # we start dockerd and the registry ourselves)
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        POLICY_RC_CREATED=1
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
    fi
    progress "apt-get update"
    run_logged apt apt-get "${APT_OPTS[@]}" update
    if [ -n "$missing_host" ]; then
        progress "installing$missing_host"
        run_logged apt apt-get "${APT_OPTS[@]}" install -y --no-install-recommends $missing_host
    fi
    if [ -n "$missing_trixie" ]; then
        # pkg/trixie takes only these packages from trixie; their dependencies
        # come from bookworm where it satisfies them. (`-t trixie` would pull
        # trixie's runc/tini, which need glibc 2.38, and so upgrade libc6,
        # dpkg and base-files: the machine would turn into half a trixie.)
        local sel="" sim
        for p in $missing_trixie; do sel+=" $p/$SUITE"; done
        sim=$(apt-get install -s --no-install-recommends $sel 2>&1) || { printf '%s\n' "$sim" | tail -n 20 >&2; die "apt cannot install$sel"; }
        if printf '%s\n' "$sim" | grep -Eq '^Inst (libc6|base-files|dpkg) '; then
            printf '%s\n' "$sim" | grep -E '^Inst ' >&2
            die "installing$sel would upgrade libc6/base-files/dpkg from $SUITE; refusing"
        fi
        progress "installing$missing_trixie (from $SUITE)"
        run_logged apt apt-get "${APT_OPTS[@]}" install -y --no-install-recommends $sel
    fi
    if [ -n "$POLICY_RC_CREATED" ]; then rm -f /usr/sbin/policy-rc.d; POLICY_RC_CREATED=""; fi
    for p in $APT_HOST_PKGS; do pkg_installed "$p" || die "package $p did not install"; done
    missing_trixie=$(trixie_missing)
    [ -z "$missing_trixie" ] || die "packages not installed from $SUITE:$missing_trixie"
}

# ---- step: plugins visible to every docker client on PATH --------------------
step_plugins() {
    # Debian puts the plugins in /usr/libexec/docker/cli-plugins, which both the
    # engine's client and a newer client at /usr/local/bin/docker search. If a
    # client on PATH cannot see them, link them into /usr/local/lib/docker/cli-plugins
    # (searched by every docker CLI since 19.03) too.
    local d first
    first=$(command -v docker || true)
    [ -n "$first" ] || die "no docker client on PATH"
    for d in "$DOCKER" "$first"; do
        if ! "$d" buildx version >/dev/null 2>&1 || ! "$d" compose version >/dev/null 2>&1; then
            mkdir -p /usr/local/lib/docker/cli-plugins
            ln -sfn /usr/libexec/docker/cli-plugins/docker-buildx /usr/local/lib/docker/cli-plugins/docker-buildx
            ln -sfn /usr/libexec/docker/cli-plugins/docker-compose /usr/local/lib/docker/cli-plugins/docker-compose
        fi
        "$d" buildx version >/dev/null 2>&1 || die "'$d buildx version' fails"
        "$d" compose version >/dev/null 2>&1 || die "'$d compose version' fails"
    done
    skip "buildx and compose work with $DOCKER and $first"
}

# ---- step: dockerd ---------------------------------------------------------------
step_dockerd() {
    if docker_up && ip link show docker0 >/dev/null 2>&1; then
        skip "dockerd answers"
        return 0
    fi
    if docker_up; then
        # The engine answers but its default bridge is gone (an older version of the
        # second engine below deleted it): containers cannot start. Restart it.
        progress "docker0 is missing: restarting dockerd so it recreates its bridge"
        stop_pidfile "$DOCKERD_PIDFILE" dockerd dockerd
        wait_for 60 "dockerd to stop" docker_down || die "dockerd did not stop"
    fi
    if pid_alive "$DOCKERD_PIDFILE"; then
        progress "dockerd (pid $(cat "$DOCKERD_PIDFILE")) runs but does not answer yet; waiting"
    else
        rm -f "$DOCKERD_PIDFILE"
        progress "starting dockerd (log: $DOCKERD_LOG)"
        setsid /usr/sbin/dockerd --pidfile "$DOCKERD_PIDFILE" >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
    fi
    if ! wait_for "${TESTBED_DOCKERD_TIMEOUT:-90}" dockerd docker_up; then
        tail -n 30 "$DOCKERD_LOG" | sed 's/^/    | /' >&2
        die "dockerd did not answer within ${TESTBED_DOCKERD_TIMEOUT:-90}s (log: $DOCKERD_LOG)"
    fi
}

# ---- step: optional second dockerd with the containerd image store --------------
# Not the default engine: the tests' main engine keeps the classic image store
# (what `apt install docker.io` gives). This one gets a bridge of its own
# (uvdock-cs0, no iptables rules: two daemons would fight over them), so its
# containers and builds need --network host (or none). It must NOT run with
# "bridge": "none": dockerd then deletes the default docker0 device, which the
# main engine's containers need.
DOCKERD_CS_BRIDGE=uvdock-cs0
DOCKERD_CS_BRIDGE_CIDR=172.31.251.1/24
step_dockerd_containerd() {
    if docker_cs_up && ! grep -q "\"$DOCKERD_CS_BRIDGE\"" "$DOCKERD_CS_CONFIG" 2>/dev/null; then
        progress "restarting the containerd-store dockerd with its own bridge"
        stop_pidfile "$DOCKERD_CS_PIDFILE" dockerd-containerd dockerd
        wait_for 60 "dockerd-containerd to stop" docker_cs_down || die "it did not stop"
    fi
    if docker_cs_up; then
        skip "answers on $DOCKERD_CS_HOST"
        return 0
    fi
    if pid_alive "$DOCKERD_CS_PIDFILE"; then
        progress "dockerd (pid $(cat "$DOCKERD_CS_PIDFILE")) runs but does not answer yet; waiting"
    else
        mkdir -p "$STATE_DIR"
        if ! ip link show "$DOCKERD_CS_BRIDGE" >/dev/null 2>&1; then
            ip link add "$DOCKERD_CS_BRIDGE" type bridge
            ip addr add "$DOCKERD_CS_BRIDGE_CIDR" dev "$DOCKERD_CS_BRIDGE"
        fi
        ip link set "$DOCKERD_CS_BRIDGE" up
        printf '{\n  "features": {"containerd-snapshotter": true},\n  "bridge": "%s",\n  "iptables": false,\n  "ip6tables": false\n}\n' \
            "$DOCKERD_CS_BRIDGE" >"$DOCKERD_CS_CONFIG"
        rm -f "$DOCKERD_CS_PIDFILE"
        progress "starting dockerd with the containerd image store on $DOCKERD_CS_HOST (log: $DOCKERD_CS_LOG)"
        setsid /usr/sbin/dockerd --config-file "$DOCKERD_CS_CONFIG" -H "$DOCKERD_CS_HOST" \
            --data-root "$DOCKERD_CS_DATA" --exec-root "$DOCKERD_CS_EXEC" --pidfile "$DOCKERD_CS_PIDFILE" \
            >>"$DOCKERD_CS_LOG" 2>&1 </dev/null 9>&- &
    fi
    if ! wait_for "${TESTBED_DOCKERD_TIMEOUT:-90}" dockerd docker_cs_up; then
        tail -n 30 "$DOCKERD_CS_LOG" | sed 's/^/    | /' >&2
        die "the containerd-store dockerd did not answer within ${TESTBED_DOCKERD_TIMEOUT:-90}s (log: $DOCKERD_CS_LOG)"
    fi
    DOCKER_HOST=$DOCKERD_CS_HOST "$DOCKER" info -f '{{json .DriverStatus}}' | grep -q io.containerd.snapshotter \
        || die "the dockerd on $DOCKERD_CS_HOST does not use the containerd image store"
}

# ---- step: registry --------------------------------------------------------------
write_registry_config() {
    mkdir -p "$REGISTRY_DATA"
    cat >"$REGISTRY_CONFIG.tmp" <<EOF
# uvdock test bed registry (CNCF distribution 2.8, Debian docker-registry)
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $REGISTRY_DATA
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $REGISTRY_ADDR
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 30s
    threshold: 3
EOF
    mv "$REGISTRY_CONFIG.tmp" "$REGISTRY_CONFIG"
}

step_registry() {
    if registry_up; then
        skip "registry answers on $REGISTRY_URL"
        return 0
    fi
    write_registry_config
    if pid_alive "$REGISTRY_PIDFILE"; then
        progress "registry (pid $(cat "$REGISTRY_PIDFILE")) runs but does not answer yet; waiting"
    else
        progress "starting docker-registry on $REGISTRY_ADDR (data: $REGISTRY_DATA, log: $REGISTRY_LOG)"
        setsid /usr/bin/docker-registry serve "$REGISTRY_CONFIG" >>"$REGISTRY_LOG" 2>&1 </dev/null 9>&- &
        echo $! >"$REGISTRY_PIDFILE"
    fi
    if ! wait_for 30 registry registry_up; then
        tail -n 20 "$REGISTRY_LOG" | sed 's/^/    | /' >&2
        die "registry did not answer on $REGISTRY_URL/v2/ within 30s (log: $REGISTRY_LOG)"
    fi
}

# ---- step: qemu binfmt for arm64 ----------------------------------------------
# trixie's qemu-user-binfmt only ships a systemd binfmt.d file; with no systemd
# we write it to the kernel ourselves. The F flag makes the kernel open the
# interpreter at registration time, so it also works in containers and chroots
# (and keeps the *old* binary after a qemu upgrade: we re-register then).
BINFMT_DIR=/proc/sys/fs/binfmt_misc
BINFMT_CONF=/usr/lib/binfmt.d/qemu-aarch64.conf
BINFMT_STAMP=$STATE_DIR/binfmt.stamp
binfmt_interp() { awk -F: '{ print $(NF-1) }' "$BINFMT_CONF"; }
binfmt_id() { stat -L -c '%d:%i:%Y' "$(binfmt_interp)"; }
binfmt_ok() {
    local f=$BINFMT_DIR/qemu-aarch64
    [ -f "$f" ] && grep -qx enabled "$f" && grep -q '^flags:.*F' "$f" \
        && grep -qx "interpreter $(binfmt_interp)" "$f" \
        && [ "$(cat "$BINFMT_STAMP" 2>/dev/null)" = "$(binfmt_id)" ]
}
step_binfmt() {
    [ -f "$BINFMT_CONF" ] || die "$BINFMT_CONF missing (package qemu-user-binfmt from $SUITE)"
    if binfmt_ok; then
        skip "qemu-aarch64 registered (flags F, $(binfmt_interp))"
        return 0
    fi
    mountpoint -q "$BINFMT_DIR" || mount -t binfmt_misc binfmt_misc "$BINFMT_DIR"
    # drop a registration by someone else / of an older qemu binary
    [ ! -f "$BINFMT_DIR/qemu-aarch64" ] || echo -1 >"$BINFMT_DIR/qemu-aarch64"
    grep -v '^[#;]' "$BINFMT_CONF" | grep . >"$BINFMT_DIR/register"
    binfmt_id >"$BINFMT_STAMP"
    binfmt_ok || die "qemu-aarch64 binfmt handler not registered with the F flag ($(tr '\n' ' ' <"$BINFMT_DIR/qemu-aarch64" 2>/dev/null))"
}

# ---- images, smoke ---------------------------------------------------------------
# shellcheck source=testbed/images.sh
. "$RECIPE_DIR/images.sh"
# shellcheck source=testbed/smoke.sh
. "$RECIPE_DIR/smoke.sh"

# ---- commands ---------------------------------------------------------------------
cmd_up() {
    local t0=$SECONDS
    mkdir -p "$STATE_DIR" "$CACHE_DIR" "$LOG_DIR"
    step apt step_apt
    step plugins step_plugins
    if [ "${TESTBED_CONTAINERD_STORE:-}" = 1 ]; then
        step dockerd-containerd step_dockerd_containerd
    fi
    # After the second engine: this step also repairs a missing docker0.
    step dockerd step_dockerd
    step registry step_registry
    step binfmt step_binfmt
    step images step_images
    step arm64-check step_arm64_check
    if [ -z "${TESTBED_SKIP_SMOKE:-}" ]; then
        step smoke step_smoke_once
    fi
    log "test bed up in $((SECONDS - t0))s; for tests: eval \"\$($0 env)\""
}

cmd_smoke() {
    step dockerd step_dockerd
    step registry step_registry
    step binfmt step_binfmt
    step smoke step_smoke
}

run_steps() {
    local s
    mkdir -p "$STATE_DIR" "$CACHE_DIR" "$LOG_DIR"
    for s in "$@"; do step "$s" "step_${s//-/_}"; done
}

cmd_env() {
    cat <<EOF
export DOCKER=$DOCKER
export UVDOCK_TESTBED_DOCKER=$DOCKER
export UVDOCK_TESTBED_REGISTRY=$REGISTRY
export UVDOCK_TESTBED_REGISTRY_URL=$REGISTRY_URL
export UVDOCK_TESTBED_PYTHON_IMAGE=$PY_IMAGE
export UVDOCK_TESTBED_PYTHON_VERSION=$(stamp_get python_version 2>/dev/null || echo "$PY_MINOR")
export UVDOCK_TESTBED_UV_IMAGE=$UV_IMAGE
export UVDOCK_TESTBED_UV_PYTHON_IMAGE=$UV_PY_IMAGE
export UVDOCK_TESTBED_UV_VERSION=$UV_VERSION
export UVDOCK_TESTBED_PYTHON_PATCH_IMAGE=$REGISTRY/standin/library/python:$(stamp_get python_version 2>/dev/null || echo "$PY_MINOR")-slim-$SUITE
export UVDOCK_TESTBED_PYTHON_DIGEST=$(stamp_get python 2>/dev/null || true)
export UVDOCK_TESTBED_UV_DIGEST=$(stamp_get uv 2>/dev/null || true)
export UVDOCK_TESTBED_UV_PYTHON_DIGEST=$(stamp_get uv_python 2>/dev/null || true)
export UVDOCK_TESTBED_BUILDER=default
export UVDOCK_TESTBED_PLATFORMS=linux/amd64,linux/arm64
export UVDOCK_TESTBED_CA_FILE=$CA_FILE
export UVDOCK_TESTBED_DOCKER_HOST_CONTAINERD=$(docker_cs_up && echo "$DOCKERD_CS_HOST")
export UV_PYTHON_DOWNLOADS=never
EOF
}

cmd_status() {
    local rc=0 p
    if [ -x "$DOCKER" ]; then
        if docker_up; then
            echo "dockerd:   up (engine $("$DOCKER" version -f '{{.Server.Version}}' 2>/dev/null), buildx $("$DOCKER" buildx version 2>/dev/null | awk '{print $2}'), compose $("$DOCKER" compose version --short 2>/dev/null)); log $DOCKERD_LOG"
        else
            echo "dockerd:   DOWN"; rc=1
        fi
    else
        echo "dockerd:   NOT INSTALLED"; rc=1
    fi
    if docker_cs_up; then
        echo "dockerd2:  up on $DOCKERD_CS_HOST (containerd image store; log $DOCKERD_CS_LOG)"
    fi
    if registry_up; then
        echo "registry:  up at $REGISTRY_URL (data $REGISTRY_DATA); repositories: $(curl -fsS -m 3 "$REGISTRY_URL/v2/_catalog" | tr -d '\n')"
    else
        echo "registry:  DOWN"; rc=1
    fi
    if binfmt_ok; then echo "binfmt:    qemu-aarch64 enabled, flags F"; else echo "binfmt:    qemu-aarch64 MISSING"; rc=1; fi
    for p in "$PY_IMAGE" "$UV_IMAGE" "$UV_PY_IMAGE"; do
        local d=""
        registry_up && d=$(remote_digest "$p" 2>/dev/null || true)
        if [ -n "$d" ]; then echo "image:     $p@$d"; else echo "image:     $p MISSING"; rc=1; fi
    done
    if images_current >/dev/null 2>&1; then echo "images:    current (recipe $(stamp_get key))"; else echo "images:    NOT CURRENT (run: $0 up)"; rc=1; fi
    return "$rc"
}

stop_pidfile() {
    local pidfile=$1 name=$2 expect=$3 pid
    if ! pid_alive "$pidfile"; then
        rm -f "$pidfile"
        log "$name: not running (from this script)"
        return 0
    fi
    pid=$(cat "$pidfile")
    if [ "$(cat /proc/"$pid"/comm 2>/dev/null)" != "$expect" ]; then
        log "$name: pid $pid from $pidfile is not $expect; leaving it alone"
        return 0
    fi
    kill -TERM "$pid"
    for _ in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name: pid $pid still running after 20s; sending KILL"
        kill -KILL "$pid" || true
    fi
    rm -f "$pidfile"
    log "$name: stopped (pid $pid)"
}

cmd_down() {
    stop_pidfile "$REGISTRY_PIDFILE" registry docker-registry
    stop_pidfile "$DOCKERD_PIDFILE" dockerd dockerd
    if [ -f "$DOCKERD_CS_PIDFILE" ]; then stop_pidfile "$DOCKERD_CS_PIDFILE" dockerd-containerd dockerd; fi
}

cmd_clean() {
    cmd_down
    safe_rm "$REGISTRY_DATA" "$CACHE_DIR" "$WORK_DIR" "$IMAGES_STAMP" "$SMOKE_STAMP"
    log "removed $REGISTRY_DATA, $CACHE_DIR, $WORK_DIR (docker's own state in /var/lib/docker is kept)"
}

main() {
    local cmd=${1:-}
    case "$cmd" in
        up) need_root; with_lock cmd_up ;;
        status) cmd_status || exit $? ;;
        env) cmd_env ;;
        smoke) need_root; with_lock cmd_smoke ;;
        down) need_root; with_lock cmd_down ;;
        clean) need_root; with_lock cmd_clean ;;
        step) need_root; shift; with_lock run_steps "$@" ;;   # for debugging: run named steps
        -h | --help | help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}" ;;
        *) echo "usage: $0 up|status|env|smoke|down|clean" >&2; exit 2 ;;
    esac
}

main "$@"
