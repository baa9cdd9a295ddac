#!/usr/bin/env bash
# A container engine on the default socket, for `make images` and the image tests.
#   scripts/container-engine.sh up      an engine answers on /var/run/docker.sock (or DOCKER_HOST);
#                                       when none does: install Debian's docker.io (apt-get) if
#                                       dockerd is missing, start dockerd as root and wait for it
#   scripts/container-engine.sh down    stop the dockerd that `up` started (others are left alone)
#   scripts/container-engine.sh status  say whether an engine answers; exit 1 if none
#   scripts/container-engine.sh cli     print the docker CLI to use: one whose `build` runs BuildKit
#                                       (which reads Dockerfiles/<image>.Dockerfile.dockerignore)
# dockerd runs without a bridge or iptables rules (--bridge=none --iptables=false
# --ip6tables=false): containers and builds use the host network (`--network host`).
set -euo pipefail

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/kserve-argos-dockerd.log}
DOCKERD_PIDFILE=/var/run/docker.pid
STARTED_MARK=/var/run/kserve-argos-dockerd.started
READY_TIMEOUT_S=${ENGINE_READY_TIMEOUT_S:-90}

say() { echo "[container-engine] $*" >&2; }

# BuildKit honours <Dockerfile>.dockerignore; the legacy builder ignores it and sends (and may
# copy) everything. A CLI builds with BuildKit when it has buildx, or when it predates 23.0 (its
# own BuildKit client, DOCKER_BUILDKIT=1). Debian's docker.io CLI (20.10) is of the second kind.
builds_with_buildkit() {
  local cli=$1 major
  "$cli" buildx version >/dev/null 2>&1 && return 0
  # `version` exits non-zero while no engine answers, after printing the client's version.
  major=$("$cli" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1 || true)
  [[ $major =~ ^[0-9]+$ ]] && ((major < 23))
}

cli() {
  local candidate
  for candidate in "$(command -v docker || true)" /usr/bin/docker; do
    if [[ -n $candidate && -x $candidate ]] && builds_with_buildkit "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

answers() {
  local docker
  docker=$(cli 2>/dev/null || command -v docker || true)
  [[ -n $docker ]] && timeout 20 "$docker" info >/dev/null 2>&1
}

install_engine() {
  say "dockerd not found: installing Debian's docker.io (apt-get; ~1-2 min)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends docker.io; then
    say "apt-get install failed: refreshing the package lists once and retrying"
    apt-get update
    apt-get install -y --no-install-recommends docker.io
  fi
}

up() {
  if answers; then
    say "an engine answers on ${DOCKER_HOST:-the default socket}"
    return 0
  fi
  if [[ -n ${DOCKER_HOST:-} ]]; then
    say "nothing answers on DOCKER_HOST=$DOCKER_HOST; unset it to use a local dockerd"
    return 1
  fi
  if [[ $(id -u) -ne 0 ]]; then
    say "no engine answers on /var/run/docker.sock and starting dockerd needs root"
    return 1
  fi
  local started=$SECONDS
  command -v dockerd >/dev/null || install_engine
  cli >/dev/null || { say "no docker CLI that builds with BuildKit (install docker.io)"; return 1; }
  say "starting dockerd (overlay2, no bridge, no iptables); log: $DOCKERD_LOG"
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  setsid dockerd --bridge=none --iptables=false --ip6tables=false --storage-driver=overlay2 \
    --pidfile "$DOCKERD_PIDFILE" >>"$DOCKERD_LOG" 2>&1 </dev/null &
  echo $! >"$STARTED_MARK"
  local waited=0
  until answers; do
    if ! kill -0 "$(cat "$STARTED_MARK")" 2>/dev/null; then
      say "dockerd exited; the end of its log:"
      tail -20 "$DOCKERD_LOG" >&2
      rm -f "$STARTED_MARK"
      return 1
    fi
    if ((waited >= READY_TIMEOUT_S)); then
      say "dockerd did not answer within ${READY_TIMEOUT_S}s; see $DOCKERD_LOG"
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
    ((waited % 10 == 0)) && say "waiting for dockerd (${waited}s)"
  done
  say "dockerd answers ($(docker_version)) after $((SECONDS - started)) s"
}

docker_version() {
  "$(cli)" version --format 'client {{.Client.Version}}, engine {{.Server.Version}}' 2>/dev/null
}

down() {
  if [[ ! -f $STARTED_MARK ]]; then
    say "no dockerd started by this script; nothing to stop"
    return 0
  fi
  local pid
  pid=$(cat "$STARTED_MARK")
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    local waited=0
    while kill -0 "$pid" 2>/dev/null && ((waited < 60)); do
      sleep 1
      waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "dockerd still running after 60s (pid $pid)"
      return 1
    fi
  fi
  rm -f "$STARTED_MARK"
  say "dockerd stopped"
}

status() {
  if answers; then
    say "an engine answers ($(docker_version))"
  else
    say "no engine answers on ${DOCKER_HOST:-the default socket}"
    return 1
  fi
}

case ${1:-} in
  up | down | status | cli) "$1" ;;
  *)
    echo "usage: $0 up|down|status|cli" >&2
    exit 2
    ;;
esac
