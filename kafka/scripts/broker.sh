#!/usr/bin/env bash
# A single-node Apache Kafka broker (KRaft, broker + controller in one JVM) on loopback.
#
#   broker.sh run     format storage if needed, then exec the broker in the foreground
#   broker.sh up      start `run` in the background, wait until it answers, write a pid file
#   broker.sh down    stop the broker started by `up` (SIGTERM, then SIGKILL after a grace period)
#   broker.sh status  say whether it runs
#
# Settings (environment): KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1),
# KAFKA_DATA_DIR (.kafka/data), KAFKA_LIB_DIR (.kafka/lib, filled by `make kafka-jars`),
# KAFKA_HEAP_OPTS, KAFKA_JVM_OPTS, KAFKA_START_TIMEOUT (seconds, 90),
# KAFKA_EXTRA_PROPERTIES (lines appended to server.properties), KAFKA_CLUSTER_ID (random).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-$((port + 1))}"
data_dir="${KAFKA_DATA_DIR:-$repo/.kafka/data}"
lib_dir="${KAFKA_LIB_DIR:-$repo/.kafka/lib}"
heap_opts="${KAFKA_HEAP_OPTS:--Xms64m -Xmx384m}"
# Serial GC and C1 only: a small, quick-starting JVM is worth more here than peak throughput.
jvm_opts="${KAFKA_JVM_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true}"
start_timeout="${KAFKA_START_TIMEOUT:-90}"

pid_file="$data_dir/broker.pid"
log_file="$data_dir/broker.log"
config_file="$data_dir/server.properties"
log_dirs="$data_dir/logs"

log() { echo "kafka-broker: $*" >&2; }
# shellcheck source=../../scripts/background.sh
source "$repo/scripts/background.sh"

require_jars() {
  if ! compgen -G "$lib_dir/kafka_2.13-*.jar" >/dev/null; then
    log "no broker jars in $lib_dir: run \`make kafka-jars\` first"
    exit 1
  fi
}

write_config() {
  mkdir -p "$data_dir" "$log_dirs"
  cat >"$config_file" <<EOF
# Written by kafka/scripts/broker.sh; edits are overwritten on the next start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$log_dirs
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
background.threads=2
log.retention.hours=24
${KAFKA_EXTRA_PROPERTIES:-}
EOF
}

java_cmd=()
build_java_cmd() {
  local -a heap jvm
  read -r -a heap <<<"$heap_opts"
  read -r -a jvm <<<"$jvm_opts"
  java_cmd=(java "${heap[@]}" "${jvm[@]}"
    "-Dlog4j2.configurationFile=$repo/kafka/config/log4j2.xml" -cp "$lib_dir/*")
}

format_storage() {
  if [[ -f "$log_dirs/meta.properties" ]]; then
    return
  fi
  # A random cluster id: 16 random bytes, URL-safe base64 without padding (Kafka's Uuid format).
  # Passed as --cluster-id=ID: one id in 64 starts with "-", which would read as an option.
  local cluster_id="${KAFKA_CLUSTER_ID:-}"
  [[ -n "$cluster_id" ]] || cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  log "formatting $log_dirs (cluster id $cluster_id)"
  "${java_cmd[@]}" kafka.tools.StorageTool format --cluster-id="$cluster_id" \
    --config "$config_file" --ignore-formatted >/dev/null
}

cmd_run() {
  require_jars
  build_java_cmd
  write_config
  format_storage
  log "starting on 127.0.0.1:$port (controller 127.0.0.1:$controller_port), data in $data_dir"
  # exec: the broker's pid is this script's pid, so whoever started it can signal it directly.
  exec "${java_cmd[@]}" kafka.Kafka "$config_file"
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

cmd_up() {
  require_jars
  if pid="$(bg_pid "$pid_file")"; then
    log "already running (pid $pid) on 127.0.0.1:$port"
    return
  fi
  if port_open; then
    log "127.0.0.1:$port is taken by another process; set KAFKA_PORT"
    exit 1
  fi
  mkdir -p "$data_dir"
  bg_start "$pid_file" "$log_file" "$start_timeout" started "$0" run || exit 1
  log "ready on 127.0.0.1:$port (pid $(cat "$pid_file"), log $log_file)"
}

started() {
  grep -q "Kafka Server started" "$log_file" && port_open
}

cmd_status() {
  if pid="$(bg_pid "$pid_file")"; then
    echo "running (pid $pid) on 127.0.0.1:$port"
  else
    echo "not running"
    return 1
  fi
}

case "${1:-}" in
  run) cmd_run ;;
  up) cmd_up ;;
  down) bg_stop "$pid_file" 30 ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 run|up|down|status" >&2
    exit 2
    ;;
esac
