# shellcheck shell=bash
# Sourced by scripts/testbed.sh (uses its helpers and variables, and images.sh):
# the end-to-end smoke check of the test bed. `up` runs it once per set of
# stand-in images (and CA bundle); `scripts/testbed.sh smoke` runs it always.
#
# Per platform (arm64 under qemu): docker buildx build --network host with the
# host's CA bundle as a BuildKit secret, of a Dockerfile FROM the python
# stand-in that copies uv from the uv stand-in and installs a package from PyPI
# with `uv pip install --system`; then run the result (offline) and check the
# CA did not land in the image. Then the uv images, and docker compose.

# ---- smoke ------------------------------------------------------------------------------------
SMOKE_IMAGE=uvdock-testbed-smoke

smoke_key() {
    compute_keys
    hash_of smoke "$IMAGES_KEY" "$RECIPE_DIR/smoke.sh" "$CA_FILE" "containerd-store=$(docker_cs_up && echo up || true)"
}

step_smoke_once() {
    if [ -f "$SMOKE_STAMP" ] && [ "$(cat "$SMOKE_STAMP")" = "$(smoke_key)" ]; then
        skip "passed before for these images (force: $0 smoke)"
        return 0
    fi
    step_smoke
    smoke_key >"$SMOKE_STAMP"
}

step_smoke() {
    local ctx=$WORK_DIR/smoke arch out machine
    [ -f "$CA_FILE" ] || die "CA bundle $CA_FILE (SSL_CERT_FILE) not found"
    safe_rm "$ctx"
    mkdir -p "$ctx"
    cat >"$ctx/Dockerfile" <<EOF
FROM $PY_IMAGE
COPY --from=$UV_IMAGE /uv /uvx /bin/
ENV UV_PYTHON_DOWNLOADS=never
RUN --mount=type=secret,id=ca,target=/run/secrets/ca.pem \\
    SSL_CERT_FILE=/run/secrets/ca.pem uv pip install --system --no-cache six
CMD ["python3", "-c", "import platform, six, ssl, sqlite3, ctypes, zlib, lzma, bz2, uuid, readline; print(platform.machine(), 'six', six.__version__)"]
EOF
    for arch in $ARCHES; do
        case $arch in amd64) machine=x86_64 ;; arm64) machine=aarch64 ;; *) machine=$arch ;; esac
        progress "buildx build --platform linux/$arch --network host --secret id=ca (uv pip install six), no cache"
        run_logged smoke "$DOCKER" buildx build --network host --no-cache --secret "id=ca,src=$CA_FILE" \
            --platform "linux/$arch" --load -t "$SMOKE_IMAGE:$arch" "$ctx"
        out=$("$DOCKER" run --rm --network none --platform "linux/$arch" "$SMOKE_IMAGE:$arch" 2>>"$LOG_DIR/smoke.log") \
            || die "running $SMOKE_IMAGE:$arch failed (see $LOG_DIR/smoke.log)"
        case "$out" in "$machine six "*) ;; *) die "$SMOKE_IMAGE:$arch printed '$out', expected '$machine six <version>'" ;; esac
        "$DOCKER" run --rm --network none --platform "linux/$arch" "$SMOKE_IMAGE:$arch" \
            sh -c '! test -e /run/secrets/ca.pem && ! grep -rqs "BEGIN CERTIFICATE" /run /root' \
            || die "the CA secret is visible in $SMOKE_IMAGE:$arch"
        progress "linux/$arch: $out"
    done
    out=$("$DOCKER" run --rm --network none "$UV_IMAGE" --version 2>>"$LOG_DIR/smoke.log")
    case "$out" in "uv $UV_VERSION"*) ;; *) die "$UV_IMAGE --version printed '$out'" ;; esac
    out=$("$DOCKER" run --rm --network none "$UV_PY_IMAGE" uv --version 2>>"$LOG_DIR/smoke.log")
    case "$out" in "uv $UV_VERSION"*) ;; *) die "$UV_PY_IMAGE uv --version printed '$out'" ;; esac
    progress "$UV_IMAGE and $UV_PY_IMAGE run uv $UV_VERSION"
    # compose, through the client first on PATH (the one tests get as `docker`)
    cat >"$ctx/compose.yaml" <<EOF
services:
  py:
    image: $PY_IMAGE
    network_mode: none
    command: ["python3", "-c", "import sys; print('compose', sys.version.split()[0])"]
EOF
    out=$(cd "$ctx" && docker compose -p uvdock-testbed-smoke run --rm -T py 2>>"$LOG_DIR/smoke.log") \
        || die "docker compose run failed (see $LOG_DIR/smoke.log)"
    case "$out" in "compose $PY_MINOR".*) ;; *) die "docker compose run printed '$out'" ;; esac
    (cd "$ctx" && docker compose -p uvdock-testbed-smoke down >>"$LOG_DIR/smoke.log" 2>&1) || true
    progress "$(command -v docker) compose run: $out"
    if docker_cs_up; then
        # the containerd-store engine builds all platforms at once, into an OCI layout
        local platforms="" n
        for arch in $ARCHES; do platforms+="${platforms:+,}linux/$arch"; done
        progress "containerd-store engine: buildx build --platform $platforms --output type=oci"
        DOCKER_HOST=$DOCKERD_CS_HOST run_logged smoke "$DOCKER" buildx build --network host \
            --secret "id=ca,src=$CA_FILE" --platform "$platforms" --output "type=oci,dest=$ctx/oci.tar" "$ctx"
        n=$(skopeo inspect --raw "oci-archive:$ctx/oci.tar" | grep -o '"architecture": *"[a-z0-9]*"' | grep -vc unknown || true)
        [ "$n" -ge 2 ] || die "the OCI archive from the containerd-store engine has $n platform images"
        progress "containerd-store engine: OCI archive with $n platform images"
    fi
    for arch in $ARCHES; do "$DOCKER" image rm -f "$SMOKE_IMAGE:$arch" >/dev/null 2>&1 || true; done
    safe_rm "$ctx"
}
