#!/usr/bin/env bash
# A local Kubernetes control plane with the real KServe controller, so that `kubectl apply` of
# manifests/ meets the same API server, admission webhooks and reconcilers as on a cluster.
# All on loopback: etcd, kube-apiserver, kube-controller-manager (garbage collector and namespace
# controllers only) and KServe's manager. There is no kubelet, scheduler, Knative or Gateway
# controller: nothing runs as a pod and nothing sets the status of what KServe creates.
#
#   controlplane.sh build       build the pinned binaries into the cache once (Go module proxy)
#   controlplane.sh built       exit 0 when they are built (1, saying what is missing, otherwise)
#   controlplane.sh up          build if needed, start, install CRDs and KServe's configuration,
#                               wait until KServe's webhooks answer; the last line printed is
#                               `export KUBECONFIG=<path>` (cluster-admin). A no-op when up.
#   controlplane.sh down        stop what `up` started and remove its state
#   controlplane.sh status      say what runs
#   controlplane.sh kubeconfig  print the kubeconfig's path when up (exit 1 otherwise)
#
# Settings (environment): CONTROLPLANE_CACHE (.tools/controlplane: binaries), CONTROLPLANE_DIR
# (.tools/controlplane/run: state, logs, kubeconfig), KSERVE_ARGOS_SCHEMAS (../shared/schemas:
# CRDs of the other operators the overlays use), CONTROLPLANE_START_TIMEOUT (seconds per step, 300).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"

# The KServe release of the controller, CRDs, configuration and webhooks. The kserve Python
# package is 0.21.0; the Go module proxy serves no 0.21 release of the controller, so 0.20.0.
kserve_version=v0.20.0
kubernetes_module="$here/controlplane/kubernetes"
kubernetes_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' "$kubernetes_module/go.mod")"

cache="${CONTROLPLANE_CACHE:-$repo/.tools/controlplane}"
state="${CONTROLPLANE_DIR:-$cache/run}"
schemas="${KSERVE_ARGOS_SCHEMAS:-$repo/../shared/schemas}"
start_timeout="${CONTROLPLANE_START_TIMEOUT:-300}"

kubernetes_bin="$cache/kubernetes-$kubernetes_version"
kserve_bin="$cache/kserve-$kserve_version"
marker="$state/.kserve-argos-controlplane"
kubeconfig="$state/kubeconfig"
components=(etcd kube-apiserver kube-controller-manager kserve-manager)

log() { echo "controlplane: $*" >&2; }

# ------------------------------------------------------------------ build

# `go build -v` names each package it compiles: shown as a count, with module downloads.
progress() {
  awk -v label="$1" '
    /^go: downloading / { downloads++; if (downloads % 25 == 1) printf "[%s] downloading modules (%d so far)\n", label, downloads; fflush(); next }
    /^[A-Za-z0-9._~\/-]+$/ { packages++; if (packages % 100 == 0) printf "[%s] %d packages compiled\n", label, packages; fflush(); next }
    { print "[" label "] " $0; fflush() }
    END { printf "[%s] %d packages compiled, %d modules downloaded\n", label, packages, downloads }'
}

go_build() {  # label, module directory, output directory, ldflags, packages...
  local label="$1" module="$2" output="$3" ldflags="$4"
  shift 4
  rm -rf "$output.partial" && mkdir -p "$output.partial"
  local started=$SECONDS
  (cd "$module" && GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
    go build -v -trimpath -ldflags "-s -w $ldflags" -o "$output.partial/" "$@") 2>&1 | progress "$label"
  rm -rf "$output" && mv "$output.partial" "$output"
  log "$label built in $((SECONDS - started))s into $output"
}

kserve_module_dir() {
  go mod download -json "github.com/kserve/kserve@$kserve_version" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

kubernetes_built() {
  [[ -x "$kubernetes_bin/etcd" && -x "$kubernetes_bin/kube-apiserver" && -x "$kubernetes_bin/kube-controller-manager" ]]
}

build_kubernetes() {
  kubernetes_built && return
  command -v go >/dev/null || { log "go not found: the binaries are built from the Go module proxy"; exit 1; }
  log "building etcd, kube-apiserver and kube-controller-manager (Kubernetes $kubernetes_version) once:" \
    "~2,400 packages, 5-10 min on 2 cores"
  local version_package=k8s.io/component-base/version
  local minor="${kubernetes_version#v1.}"
  go_build kubernetes "$kubernetes_module" "$kubernetes_bin" \
    "-X $version_package.gitVersion=$kubernetes_version -X $version_package.gitMajor=1 -X $version_package.gitMinor=${minor%%.*} -X $version_package.gitTreeState=clean" \
    tool
  mv "$kubernetes_bin/server" "$kubernetes_bin/etcd"  # go.etcd.io/etcd/server/v3 is etcd's main
}

build_kserve() {
  [[ -x "$kserve_bin/manager" ]] && return
  command -v go >/dev/null || { log "go not found: the binaries are built from the Go module proxy"; exit 1; }
  log "building KServe's manager $kserve_version once: ~1,500 packages, 3-6 min on 2 cores"
  # Built inside the downloaded module: its go.mod pins and replaces its own dependencies.
  go_build kserve "$(kserve_module_dir)" "$kserve_bin" "" ./cmd/manager
}

cmd_build() {
  build_kubernetes
  build_kserve
}

cmd_built() {
  local missing=()
  kubernetes_built || missing+=("Kubernetes $kubernetes_version in $kubernetes_bin")
  [[ -x "$kserve_bin/manager" ]] || missing+=("KServe $kserve_version in $kserve_bin")
  ((${#missing[@]} == 0)) && return
  log "not built: ${missing[*]} (\`make controlplane-build\` builds them)"
  return 1
}

# ------------------------------------------------------------------ processes

pid_of() {  # prints the pid of a running component started by `up`
  local pid_file="$state/pids/$1.pid" pid
  [[ -f "$pid_file" ]] || return 1
  pid="$(cat "$pid_file")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  # The pid file could outlive its process and the pid be reused: check what runs there.
  [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$(cat "$state/pids/$1.exe")" ]] || return 1
  echo "$pid"
}

start() {  # name, binary, arguments...
  local name="$1" binary="$2"
  shift 2
  setsid "$binary" "$@" >"$state/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$state/pids/$name.pid"
  echo "$binary" >"$state/pids/$name.exe"
}

stop() {
  local name="$1" pid
  pid="$(pid_of "$name")" || return 0
  kill -TERM "$pid"
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  log "$name (pid $pid) ignored SIGTERM for 20s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

fail() {
  log "$1"
  local name="${2:-}"
  if [[ -n "$name" && -f "$state/logs/$name.log" ]]; then
    log "last lines of $state/logs/$name.log:"
    tail -n 30 "$state/logs/$name.log" >&2
  fi
  cmd_down
  exit 1
}

wait_for() {  # description, component whose death or log explains a failure, command...
  local what="$1" name="$2"
  shift 2
  local started=$SECONDS
  until "$@" >/dev/null 2>&1; do
    pid_of "$name" >/dev/null || fail "$name exited while waiting for $what" "$name"
    ((SECONDS - started < start_timeout)) || fail "$what: not after ${start_timeout}s" "$name"
    sleep 1
  done
  log "$what: ok after $((SECONDS - started))s"
}

# ------------------------------------------------------------------ ports and credentials

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Fixed loopback ports below Linux's ephemeral range (32768-60999), where the tests' free_port()
# and clients' source ports live; drawn at random and checked, then written to ports.env.
choose_ports() {
  local names=(etcd_port etcd_peer_port apiserver_port webhook_port health_port) chosen=() port
  for name in "${names[@]}"; do
    while :; do
      port=$((30000 + RANDOM % 2768))
      [[ " ${chosen[*]} " == *" $port "* ]] && continue
      port_taken "$port" || break
    done
    chosen+=("$port")
    echo "$name=$port"
  done >"$state/ports.env"
}

make_credentials() {
  local pki="$state/pki"
  mkdir -p "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=kserve-argos local control plane CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  # One serving certificate for 127.0.0.1: the API server's and KServe's webhook server's.
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$pki/serving.key" \
    -out "$pki/serving.csr" 2>/dev/null
  openssl x509 -req -in "$pki/serving.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -out "$pki/serving.crt" -extfile <(printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      "extendedKeyUsage=serverAuth" "basicConstraints=CA:FALSE") 2>/dev/null
  openssl genrsa -out "$pki/service-account.key" 2048 2>/dev/null
  openssl rsa -in "$pki/service-account.key" -pubout -out "$pki/service-account.pub" 2>/dev/null
  local certs="$state/tmp/k8s-webhook-server/serving-certs"  # controller-runtime's default
  mkdir -p "$certs"
  cp "$pki/serving.crt" "$certs/tls.crt"
  cp "$pki/serving.key" "$certs/tls.key"

  local token
  token="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  echo "$token,admin,admin,system:masters" >"$pki/tokens.csv"
  cat >"$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: kserve-argos-local
    cluster:
      server: https://127.0.0.1:$apiserver_port
      certificate-authority: $pki/ca.crt
users:
  - name: admin
    user:
      token: $token
contexts:
  - name: kserve-argos-local
    context:
      cluster: kserve-argos-local
      user: admin
      namespace: kserve-argos
current-context: kserve-argos-local
EOF
  chmod 600 "$kubeconfig" "$pki/tokens.csv" "$pki"/*.key
}

# ------------------------------------------------------------------ components

k() { kubectl --kubeconfig "$kubeconfig" --request-timeout=60s "$@"; }

start_etcd() {
  start etcd "$kubernetes_bin/etcd" --name default --data-dir "$state/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "default=http://127.0.0.1:$etcd_peer_port" \
    --unsafe-no-fsync --log-level warn
  wait_for "etcd health" etcd curl -sf "http://127.0.0.1:$etcd_port/health"
}

start_apiserver() {
  local pki="$state/pki"
  start kube-apiserver "$kubernetes_bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$apiserver_port" \
    --tls-cert-file "$pki/serving.crt" --tls-private-key-file "$pki/serving.key" \
    --cert-dir "$pki" --token-auth-file "$pki/tokens.csv" --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/service-account.pub" \
    --service-account-signing-key-file "$pki/service-account.key" \
    --service-cluster-ip-range 10.96.0.0/16 --endpoint-reconciler-type none \
    --enable-priority-and-fairness=false --profiling=false
  wait_for "the API server's /readyz" kube-apiserver k get --raw /readyz
}

# Garbage collection (what KServe owns goes with its InferenceService) and namespace deletion.
# Not the Deployment controller: the tests set Deployment status themselves, as KServe's do.
start_controller_manager() {
  start kube-controller-manager "$kubernetes_bin/kube-controller-manager" \
    --kubeconfig "$kubeconfig" --controllers garbagecollector,namespace \
    --secure-port 0 --leader-elect=false --use-service-account-credentials=false
}

apply_json() { k apply --server-side --force-conflicts -f -; }
as_json() { k create --dry-run=client -o json "$@"; }

install_kserve() {
  local kserve_dir gateway_api_version gateway_api_dir
  kserve_dir="$(kserve_module_dir)"
  gateway_api_version="$(cd "$kserve_dir" && go list -m -f '{{.Version}}' sigs.k8s.io/gateway-api)"
  gateway_api_dir="$(go mod download -json "sigs.k8s.io/gateway-api@$gateway_api_version" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  log "installing KServe $kserve_version CRDs and configuration, Gateway API $gateway_api_version CRDs"
  k create namespace kserve >/dev/null
  k create namespace knative-serving >/dev/null
  local crds=("$kserve_dir"/config/crd/full/serving.kserve.io_*.yaml
    "$kserve_dir"/config/crd/full/{clusterstoragecontainer,localmodel}/serving.kserve.io_*.yaml
    "$kserve_dir/test/crds/knative_service.yaml"
    "$gateway_api_dir"/config/crd/standard/gateway.networking.k8s.io_*.yaml)
  k apply --server-side "${crds[@]/#/--filename=}" >/dev/null
  # CRDs of the other operators the overlays use (Knative Eventing Kafka, KEDA, Prometheus).
  local file others=()
  for file in "$schemas"/*/*.yaml; do
    [[ "$file" == "$schemas/kserve/"* ]] && continue  # the release's own CRDs are installed above
    grep -q '^kind: CustomResourceDefinition' "$file" && others+=("--filename=$file")
  done
  if ((${#others[@]})); then
    as_json "${others[@]}" | python3 "$here/controlplane/manifests.py" crds | apply_json >/dev/null
  else
    log "no CRDs under $schemas: the overlays using KafkaSource, PodMonitor or KEDA will not apply"
  fi
  k wait --for condition=established --timeout "${start_timeout}s" crd --all >/dev/null
  as_json -f "$kserve_dir/config/configmap/inferenceservice.yaml" \
    | python3 "$here/controlplane/manifests.py" ingress | apply_json >/dev/null
  # KServe reads Knative's autoscaler defaults before creating a Knative Service.
  k -n knative-serving create configmap config-autoscaler >/dev/null
  as_json -f "$kserve_dir/config/webhook/manifests.yaml" \
    | python3 "$here/controlplane/manifests.py" webhooks "$webhook_port" "$state/pki/ca.crt" \
    | apply_json >/dev/null
}

# A server-side dry run of an InferenceService passes through KServe's mutating and validating
# webhooks: it succeeds only when the webhook server answers.
webhooks_answer() {
  k create --dry-run=server -f - <<'EOF'
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: webhook-probe
  namespace: kserve
spec:
  predictor:
    containers:
      - name: kserve-container
        image: probe
EOF
}

start_kserve() {
  # Out of the cluster: its namespace from POD_NAMESPACE, the webhook serving certificate from
  # $TMPDIR/k8s-webhook-server/serving-certs. The webhook server listens on all interfaces
  # (KServe's main sets no host); metrics are off.
  (
    export TMPDIR="$state/tmp" POD_NAMESPACE=kserve KUBECONFIG="$kubeconfig"
    start kserve-manager "$kserve_bin/manager" --metrics-addr 0 \
      --health-probe-addr "127.0.0.1:$health_port" --webhook-port "$webhook_port" --leader-elect=false
  )
  wait_for "KServe's /readyz" kserve-manager curl -sf "http://127.0.0.1:$health_port/readyz"
  wait_for "KServe's admission webhooks" kserve-manager webhooks_answer
}

# ------------------------------------------------------------------ commands

is_up() {
  local name
  for name in "${components[@]}"; do pid_of "$name" >/dev/null || return 1; done
  k --request-timeout=10s get --raw /readyz >/dev/null 2>&1
}

cmd_up() {
  if is_up; then
    log "already up (state in $state)"
    echo "export KUBECONFIG=$kubeconfig"
    return
  fi
  [[ -e "$state" ]] && { log "cleaning the state of an earlier run"; cmd_down; }
  command -v kubectl >/dev/null || { log "kubectl not found"; exit 1; }
  command -v openssl >/dev/null || { log "openssl not found"; exit 1; }
  cmd_build
  local started=$SECONDS
  mkdir -p "$state/logs" "$state/pids" "$state/tmp"
  touch "$marker"
  # From here on a failed step stops what started and removes the state.
  set -E
  trap 'fail "a step of \`up\` failed (${BASH_SOURCE[0]}:$LINENO)"' ERR
  choose_ports
  # shellcheck source=/dev/null
  source "$state/ports.env"
  make_credentials
  start_etcd
  start_apiserver
  start_controller_manager
  install_kserve
  start_kserve
  log "up in $((SECONDS - started))s: API server https://127.0.0.1:$apiserver_port," \
    "KServe $kserve_version webhooks on port $webhook_port, logs in $state/logs"
  echo "export KUBECONFIG=$kubeconfig"
}

cmd_down() {
  if [[ ! -e "$state" ]]; then
    log "not running"
    return
  fi
  # Only a folder this script made is removed.
  [[ -f "$marker" ]] || { log "$state was not made by this script: not touching it"; exit 1; }
  local index
  for ((index = ${#components[@]} - 1; index >= 0; index--)); do stop "${components[index]}"; done
  rm -rf "$state"
  log "stopped; removed $state"
}

cmd_status() {
  local name pid code=0
  for name in "${components[@]}"; do
    if pid="$(pid_of "$name")"; then echo "$name: running (pid $pid)"; else echo "$name: stopped"; code=1; fi
  done
  ((code == 0)) && echo "KUBECONFIG=$kubeconfig"
  return "$code"
}

cmd_kubeconfig() {
  is_up || return 1
  echo "$kubeconfig"
}

if [[ -f "$state/ports.env" ]]; then
  # shellcheck source=/dev/null
  source "$state/ports.env"
fi

case "${1:-}" in
  build) cmd_build ;;
  built) cmd_built ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  kubeconfig) cmd_kubeconfig ;;
  *)
    echo "usage: $0 build|built|up|down|status|kubeconfig" >&2
    exit 2
    ;;
esac
