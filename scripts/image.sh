#!/usr/bin/env bash
# The container image without a registry (make image, make image-test).
#
#   scripts/image.sh build   the `lms` binary (release), then the image from the root Dockerfile
#                            with podman: its base is made here from the binary's own shared
#                            libraries, CA certificates and a passwd naming the non-root uid,
#                            and the binary comes from the host's build, so nothing is pulled.
#   scripts/image.sh test    starts the image as `lms serve authorization` against the local
#                            PostgreSQL and Redis and asks it, from outside the container, for
#                            its gRPC health until it answers SERVING.
#
# Podman runs with runc, cgroupfs and the host's network, and without default ulimits: what
# works on machines without systemd or a container engine (see the shared STACK notes).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/lms:dev}
# Cargo's profile: release for an image to run; CI tests the image around the `dev` build
# its tests already made (PROFILE=dev), the same code without a second, release build.
PROFILE=${PROFILE:-release}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
BINARY=$TARGET_DIR/$([[ $PROFILE == dev ]] && echo debug || echo "$PROFILE")/lms
WORK=$TARGET_DIR/image
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
printf '[containers]\ndefault_ulimits = []\n' >"$WORK/containers.conf"
podman() {
  CONTAINERS_CONF="$WORK/containers.conf" command podman \
    --runtime runc --cgroup-manager=cgroupfs "$@"
}

log() { printf '== %s\n' "$*"; }

# A root filesystem holding what `lms` needs to run and nothing else, imported as an image.
make_base() {
  local root=$WORK/base
  rm -rf "$root"
  mkdir -p "$root/etc/ssl/certs" "$root/tmp"
  chmod 1777 "$root/tmp"
  # The dynamic loader and every library the binary links (glibc, libgcc_s, libm).
  ldd "$BINARY" | grep -o '/[^ ]*' | sort -u | while read -r lib; do
    cp --parents -L "$lib" "$root/"
  done
  printf 'root:x:0:0:root:/nonexistent:/sbin/nologin\nlms:x:10001:10001:lms:/nonexistent:/sbin/nologin\n' \
    >"$root/etc/passwd"
  printf 'root:x:0:\nlms:x:10001:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  # Roots for TLS to PostgreSQL, Redis and the collector when their URLs ask for it.
  if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  fi
  tar -C "$root" -c . | podman import - localhost/lms-base:local >/dev/null
}

build() {
  log "cargo build --profile $PROFILE -p lms-platform --bin lms"
  cargo build --locked --profile "$PROFILE" -p lms-platform --bin lms
  log "base image from the binary's own libraries"
  make_base
  local binary=$WORK/binary
  rm -rf "$binary"
  mkdir -p "$binary"
  # Symbols stay (a panic's backtrace names its functions); the line tables go (four fifths
  # of the release binary's size).
  strip --strip-debug -o "$binary/lms" "$BINARY"
  tar -C "$binary" -c . | podman import - localhost/lms-binary:local >/dev/null
  log "podman build -t $IMAGE (the root Dockerfile)"
  podman build --quiet --network=host \
    --build-arg BASE_IMAGE=localhost/lms-base:local \
    --build-arg BINARY_FROM=localhost/lms-binary:local \
    -t "$IMAGE" . >/dev/null
  # Each build re-tags the bases and the image; what they tagged before is left untagged.
  podman image prune -f >/dev/null
  podman image ls "$IMAGE"
}

image_test() {
  [[ -x $BINARY ]] || { echo "no $BINARY: run scripts/image.sh build first" >&2; exit 1; }
  # Global: the exit trap cleans up after this function has returned.
  run=lms_image_test_$$_$RANDOM
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  psql "$PG_URL/postgres" -qc "CREATE DATABASE $run"
  cleanup() {
    podman rm -f "$run" >/dev/null 2>&1 || true
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $run WITH (FORCE)" || true
    redis-cli -u "$REDIS_URL" --scan --pattern "$run:*" | xargs -r redis-cli -u "$REDIS_URL" unlink >/dev/null || true
  }
  trap cleanup EXIT
  local key
  key=$(head -c 32 /dev/urandom | base64)
  # A service is SERVING once it holds a key to verify tokens with; identity does not run
  # here, so authorization is given one (RFC 8037's example public key) instead of fetching.
  local jwks='{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"image-test","alg":"EdDSA","use":"sig","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}'
  log "podman run $IMAGE serve authorization on 127.0.0.1:$port"
  # Read-only, as the uid Kubernetes runs it as, with every capability dropped.
  podman run -d --name "$run" --network=host --read-only --user 10001:10001 \
    --cap-drop=ALL --security-opt=no-new-privileges \
    -e LMS_TELEMETRY__LOG_FORMAT=json \
    -e LMS_AUTH__JWKS="$jwks" -e LMS_AUTH__FETCH_IDENTITY_KEYS=false \
    -e LMS_AUTHORIZATION__LISTEN="127.0.0.1:$port" \
    -e LMS_AUTHORIZATION__DATABASE_URL="$PG_URL/$run" \
    -e LMS_REDIS__URL="$REDIS_URL" \
    -e LMS_REDIS__KEY_PREFIX="$run:" \
    -e LMS_REDIS__MAC_KEY="$key" \
    -e LMS_REDIS__REVOCATIONS_MAC_KEY="$key" \
    -e LMS_REDIS__EVENTS_MAC_KEY="$key" \
    "$IMAGE" serve authorization >/dev/null
  log "asking for its health from outside the container"
  local answer
  for _ in $(seq 60); do
    if answer=$(RUST_BACKTRACE=0 "$BINARY" health authorization \
      --endpoint "http://127.0.0.1:$port" --timeout-seconds 2 2>&1); then
      echo "$answer"
      [[ $(podman inspect -f '{{.Config.User}}' "$run") == 10001:10001 ]] ||
        { echo "the container does not run as 10001" >&2; exit 1; }
      local pid
      pid=$(podman inspect -f '{{.State.Pid}}' "$run")
      echo "resident memory of the serving container's lms: $(awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status")"
      log "image-test passed"
      return 0
    fi
    if [[ $(podman inspect -f '{{.State.Running}}' "$run") != true ]]; then
      podman logs "$run" >&2
      echo "the container stopped" >&2
      exit 1
    fi
    sleep 1
  done
  podman logs "$run" >&2
  echo "$answer" >&2
  echo "authorization in the image never answered SERVING" >&2
  exit 1
}

case ${1:-} in
  build) build ;;
  test) image_test ;;
  *) echo "usage: scripts/image.sh build|test" >&2; exit 2 ;;
esac
