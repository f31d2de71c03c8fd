#!/usr/bin/env bash
# The Quickstart: set up the engine and stand-in images (scripts/testbed.sh),
# then do uvdock's main job on the example: plan it, generate its Docker setup,
# build the image and run it. The example is copied to a temporary directory,
# so the committed files stay as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
export UV_PYTHON_DOWNLOADS=never
UV_VERSION=0.13.9
CA=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
PORT=${DEMO_PORT:-8000}
DOCKER=/usr/bin/docker

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
  step() { printf '\n== %s\n' "$*"; }
fi

# shellcheck source=lib/uv.sh
. scripts/lib/uv.sh

step "test bed: Docker Engine, registry on 127.0.0.1:5000, stand-in base images"
scripts/testbed.sh up

step "uvdock (from this checkout)"
"$UV" sync --locked --quiet
uvdock() { "$UV" run --project "$REPO" --no-sync uvdock "$@"; }

WORK=$(mktemp -d /tmp/uvdock-demo.XXXXXX)
cp -r examples/fastapi-app "$WORK/"
rm -f "$WORK"/fastapi-app/{Dockerfile,Dockerfile.official,Dockerfile.dev,compose.yaml,.dockerignore}
APP=$WORK/fastapi-app

step "uvdock plan $APP"
uvdock plan "$APP"

step "uvdock init (stand-in images via --image-prefix, this machine's CA as a build secret)"
uvdock init "$APP" --image-prefix localhost:5000/standin --ca-bundle "$CA"
sed -n '1,3p' "$APP/Dockerfile"

step "docker buildx build"
"$DOCKER" buildx build --network host --secret "id=ca_bundle,src=$CA" -t fastapi-app:demo "$APP"

step "docker run, then GET /health and /"
"$DOCKER" rm -f uvdock-demo >/dev/null 2>&1 || true
"$DOCKER" run -d --name uvdock-demo -p "127.0.0.1:$PORT:8000" fastapi-app:demo >/dev/null
trap '"$DOCKER" rm -f uvdock-demo >/dev/null 2>&1 || true' EXIT
for _ in $(seq 1 60); do
  if curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
echo "GET /health -> $(curl -fsS "http://127.0.0.1:$PORT/health")"
echo "GET /       -> $(curl -fsS "http://127.0.0.1:$PORT/")"
echo "user        -> $("$DOCKER" exec uvdock-demo id -u) (non-root)"
echo "image size  -> $("$DOCKER" image inspect -f '{{.Size}}' fastapi-app:demo | awk '{printf "%.0f MB", $1/1e6}')"
step "done: the generated files are in $APP"
