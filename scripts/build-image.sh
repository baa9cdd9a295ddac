#!/usr/bin/env bash
# Build one image with BuildKit: scripts/build-image.sh IMAGE REFERENCE BASE_IMAGE
#   IMAGE       a Dockerfiles/IMAGE.Dockerfile; the context is the repository root, limited by
#               Dockerfiles/IMAGE.Dockerfile.dockerignore (BuildKit reads it)
#   REFERENCE   the tag to give it, e.g. kserve-argos/kserve-predictor:0.1.0
#   BASE_IMAGE  the PYTHON_IMAGE build argument (scripts/base-image.sh prints one)
# pip in the build sees this machine's pip settings (PIP_* variables or pip config: index URL,
# extra index URLs, trusted hosts, CA bundle, timeout, retries) as build secrets, and proxy
# variables as BuildKit's proxy arguments: none of them is written into a layer or the history.
# Steps run on the host network (the engine has no bridge); unchanged steps come from the cache.
set -euo pipefail

image=$1 reference=$2 base=$3
root=$(cd "$(dirname "$0")/.." && pwd)
docker=$("$root/scripts/container-engine.sh" cli)
PASSED_OPTIONS=(index-url extra-index-url trusted-host timeout default-timeout retries)

say() { echo "[build $image] $*" >&2; }

secrets=$(mktemp -d)
trap 'rm -rf "$secrets"' EXIT

host_pip_config=$({ "${PYTHON:-python3}" -m pip config list || pip config list; } 2>/dev/null || true)

# One option's value as pip would use it for `pip install`: a PIP_* variable, else [install],
# else [global] of the merged config files.
pip_option() {
  local scope
  for scope in :env: install global; do
    awk -v key="$scope.$1" 'index($0, key "=") == 1 {
      value = substr($0, length(key) + 2); gsub(/^'\''|'\''$/, "", value); found = value
    } END { if (found != "") print found; else exit 1 }' <<<"$host_pip_config" && return 0
  done
  return 1
}

secret_args=()
{
  echo "[global]"
  for option in "${PASSED_OPTIONS[@]}"; do
    if value=$(pip_option "$option"); then
      echo "$option = $value"
    fi
  done
  if cert=$(pip_option cert) && [[ -f $cert ]]; then
    echo "cert = /run/secrets/pip-cert"
    secret_args+=(--secret "id=pip-cert,src=$cert")
  fi
} >"$secrets/pip.conf"
secret_args+=(--secret "id=pip.conf,src=$secrets/pip.conf")
say "pip settings passed as a build secret: $(grep -v '^\[' "$secrets/pip.conf" | cut -d' ' -f1 | paste -sd, -)"

proxy_args=()
for variable in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
  [[ -n ${!variable:-} ]] && proxy_args+=(--build-arg "$variable")
done

say "building $reference on $base"
started=$(date +%s)
DOCKER_BUILDKIT=1 "$docker" build --progress=plain --network=host \
  --build-arg "PYTHON_IMAGE=$base" "${secret_args[@]}" "${proxy_args[@]}" \
  -f "$root/Dockerfiles/$image.Dockerfile" -t "$reference" "$root" 2>&1 \
  | sed -u -e "/^$/d" -e "/^#[0-9]* sha256:/d" -e "s/^/[build $image] /"
say "built $reference in $(($(date +%s) - started)) s"
