#!/usr/bin/env bash
# A local Prometheus (Debian's build, pinned) on loopback, for `make prometheus-up` and the tests.
#
#   prometheus.sh install        unpack prometheus + promtool from Debian's package into
#                                PROMETHEUS_HOME (no root needed once apt's lists are current;
#                                nothing is installed system-wide and no service is started)
#   prometheus.sh run            exec prometheus in the foreground with PROMETHEUS_CONFIG
#   prometheus.sh up             start `run` in the background, wait until ready, write a pid file
#   prometheus.sh down           stop the Prometheus started by `up`
#   prometheus.sh status         say whether it runs
#   prometheus.sh promtool ARGS  run the unpacked promtool
#
# Settings (environment): PROMETHEUS_HOME (.tools/prometheus), PROMETHEUS_CONFIG (a prometheus.yml;
# `run`/`up` only), PROMETHEUS_PORT (9090), PROMETHEUS_DATA_DIR (build/prometheus/data),
# PROMETHEUS_DEB_VERSION (the pinned Debian version below), PROMETHEUS_START_TIMEOUT (60 s).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"

deb_version="${PROMETHEUS_DEB_VERSION:-2.42.0+ds-5+deb12u1}"
home="${PROMETHEUS_HOME:-$repo/.tools/prometheus}"
port="${PROMETHEUS_PORT:-9090}"
data_dir="${PROMETHEUS_DATA_DIR:-$repo/build/prometheus/data}"
start_timeout="${PROMETHEUS_START_TIMEOUT:-60}"

pid_file="$data_dir/prometheus.pid"
log_file="$data_dir/prometheus.log"

log() { echo "prometheus: $*" >&2; }
# shellcheck source=background.sh
source "$here/background.sh"

installed_version() {
  [[ -x "$home/bin/prometheus" && -x "$home/bin/promtool" && -f "$home/.deb-version" ]] \
    && cat "$home/.deb-version"
}

download_deb() {
  # apt-get download verifies the package against the signed index, like apt-get install.
  (cd "$1" && apt-get download -q "prometheus=$deb_version") 2>&1 | { grep -v unsandboxed || true; }
  [[ "${PIPESTATUS[0]}" == 0 ]] && compgen -G "$1/prometheus_*.deb" >/dev/null
}

cmd_install() {
  if [[ "$(installed_version || true)" == "$deb_version" ]]; then
    log "prometheus $deb_version already in $home"
    return
  fi
  command -v apt-get >/dev/null || { log "apt-get not found: needs a Debian-based machine"; exit 1; }
  local tmp
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  log "downloading Debian's prometheus $deb_version (~19 MB)"
  if ! download_deb "$tmp"; then
    if [[ "$(id -u)" == 0 ]]; then
      log "not in apt's lists: apt-get update, then again"
      apt-get update -q >/dev/null
      download_deb "$tmp" || {
        log "apt offers: $(apt-cache madison prometheus | awk '{print $3}' | tr '\n' ' ')"
        log "set PROMETHEUS_DEB_VERSION to one of them"; exit 1; }
    else
      log "prometheus=$deb_version is not in apt's lists: run \`sudo apt-get update\` first"
      exit 1
    fi
  fi
  dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/root"
  rm -rf "$home" && mkdir -p "$home/bin"
  mv "$tmp/root/usr/bin/prometheus" "$tmp/root/usr/bin/promtool" "$home/bin/"
  mv "$tmp/root/usr/share/prometheus/web" "$home/web"
  echo "$deb_version" >"$home/.deb-version"
  log "installed: $("$home/bin/prometheus" --version 2>&1 | head -n 1) in $home"
}

require_installed() {
  if [[ -z "$(installed_version || true)" ]]; then
    log "not installed in $home: run \`make prometheus\` (or $0 install)"
    exit 1
  fi
}

cmd_run() {
  require_installed
  [[ -n "${PROMETHEUS_CONFIG:-}" && -f "$PROMETHEUS_CONFIG" ]] \
    || { log "set PROMETHEUS_CONFIG to a prometheus.yml"; exit 1; }
  mkdir -p "$data_dir"
  log "starting on 127.0.0.1:$port, config $PROMETHEUS_CONFIG, data in $data_dir"
  # exec: the server's pid is this script's pid, so whoever started it can signal it directly.
  exec "$home/bin/prometheus" \
    --config.file="$PROMETHEUS_CONFIG" \
    --web.listen-address="127.0.0.1:$port" \
    --web.local-assets="$home/web/" \
    --storage.tsdb.path="$data_dir/tsdb" \
    --storage.tsdb.retention.time=1d \
    --log.level=warn
}

ready() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    printf 'GET /-/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    head -n 1 <&3 | grep -q ' 200 '
  )
}

cmd_up() {
  require_installed
  if pid="$(bg_pid "$pid_file")"; then
    log "already running (pid $pid) on 127.0.0.1:$port"
    return
  fi
  mkdir -p "$data_dir"
  bg_start "$pid_file" "$log_file" "$start_timeout" ready "$0" run || exit 1
  log "ready on http://127.0.0.1:$port (pid $(cat "$pid_file"), log $log_file)"
}

cmd_status() {
  if pid="$(bg_pid "$pid_file")"; then
    echo "running (pid $pid) on http://127.0.0.1:$port"
  else
    echo "not running"
    return 1
  fi
}

case "${1:-}" in
  install) cmd_install ;;
  run) cmd_run ;;
  up) cmd_up ;;
  down) bg_stop "$pid_file" 20 ;;
  status) cmd_status ;;
  promtool)
    require_installed
    shift
    exec "$home/bin/promtool" "$@"
    ;;
  *)
    echo "usage: $0 install|run|up|down|status|promtool ARGS" >&2
    exit 2
    ;;
esac
