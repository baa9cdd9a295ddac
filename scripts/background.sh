# Background servers behind the `up` / `down` / `status` of the project's server scripts
# (kafka/scripts/broker.sh, scripts/prometheus.sh): a pid file, a log file, a readiness check.
# Sourced, not run; the caller defines `log MESSAGE...` (to stderr).

# The pid written in PID_FILE, when that process runs.
bg_pid() {
  local pid_file=$1 pid
  [[ -f "$pid_file" ]] || return 1
  pid="$(cat "$pid_file")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# bg_start PID_FILE LOG_FILE TIMEOUT_S READY COMMAND...
# Start COMMAND in a session of its own, output to LOG_FILE, and wait until the function READY
# succeeds. When COMMAND exits first or TIMEOUT_S passes: the log's tail, and status 1.
bg_start() {
  local pid_file=$1 log_file=$2 timeout=$3 ready=$4
  shift 4
  : >"$log_file"
  setsid "$@" >>"$log_file" 2>&1 </dev/null &
  echo $! >"$pid_file"
  local deadline=$((SECONDS + timeout))
  until "$ready" 2>/dev/null; do
    if ! bg_pid "$pid_file" >/dev/null; then
      log "exited while starting; its log ($log_file):"
      tail -n 40 "$log_file" >&2
      rm -f "$pid_file"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "not ready after ${timeout}s; its log ($log_file):"
      tail -n 40 "$log_file" >&2
      bg_stop "$pid_file" 30
      return 1
    fi
    sleep 0.5
  done
}

# bg_stop PID_FILE GRACE_S: SIGTERM, then SIGKILL when still running after GRACE_S.
bg_stop() {
  local pid_file=$1 grace=$2 pid
  if ! pid="$(bg_pid "$pid_file")"; then
    log "not running"
    rm -f "$pid_file"
    return
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 $((grace * 2))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid ignored SIGTERM for ${grace}s; killing it"
    kill -KILL "$pid"
  fi
  rm -f "$pid_file"
  log "stopped (pid $pid)"
}
