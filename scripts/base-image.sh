#!/usr/bin/env bash
# The Python base image to build the images on; its name is the last line on stdout.
#   scripts/base-image.sh            the Dockerfiles' default (ARG PYTHON_IMAGE, the public
#                                    python:3.11.x-slim-bookworm) when the engine has it or can
#                                    pull it; otherwise a local stand-in, built here if missing.
#                                    PYTHON_IMAGE=... in the environment asks for another base.
#   scripts/base-image.sh standin    the local stand-in, built here if missing
# The stand-in is Debian bookworm (debootstrap --variant=minbase from the Debian mirror this
# machine's apt uses) with Debian's python3.11, python3-venv and ca-certificates, imported into
# the engine. It only stands in for the public image where no image registry can be reached:
# same Debian release and Python minor version, Debian's Python build instead of python.org's.
# Needs root (debootstrap) and an engine (scripts/container-engine.sh up).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
STANDIN=${STANDIN_IMAGE:-kserve-argos/python-standin:3.11-bookworm}
SUITE=bookworm
PACKAGES=python3.11,python3-venv,python-is-python3,ca-certificates
DEBOOTSTRAP_CACHE=${DEBOOTSTRAP_CACHE:-/var/cache/kserve-argos/debootstrap}
PULL_TIMEOUT_S=${PULL_TIMEOUT_S:-300}

say() { echo "[base-image] $*" >&2; }
docker=$("$root/scripts/container-engine.sh" cli)

# The default of ARG PYTHON_IMAGE, the same in every Dockerfile.
default_image() {
  local images
  images=$(sed -n 's/^ARG PYTHON_IMAGE=//p' "$root"/Dockerfiles/*.Dockerfile | sort -u)
  if [[ $(wc -l <<<"$images") -ne 1 || -z $images ]]; then
    say "the Dockerfiles disagree on ARG PYTHON_IMAGE: $images"
    exit 1
  fi
  echo "$images"
}

# The recipe below, hashed: a changed recipe builds a new stand-in.
recipe=$(printf '%s\n' "$SUITE" "$PACKAGES" "$(sed -n '/^build_standin()/,/^}/p' "$0")" | sha256sum | cut -c1-16)

# The Debian mirror of this machine's apt sources (deb822 or one-line form).
debian_mirror() {
  local mirror
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | awk -v suite="$SUITE" '/^URIs:/ {uri=$2} /^Suites:/ {for (i = 2; i <= NF; i++) if ($i == suite) print uri}' \
    | head -1)
  if [[ -z $mirror ]]; then
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | awk -v suite="$SUITE" '$1 == "deb" && $3 == suite {print $2; exit}')
  fi
  echo "${mirror:-http://deb.debian.org/debian}"
}

rootfs=
build_standin() {
  command -v debootstrap >/dev/null || {
    say "installing debootstrap (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >&2
  }
  local mirror started=$SECONDS
  mirror=$(debian_mirror)
  rootfs=$(mktemp -d /var/tmp/kserve-argos-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  mkdir -p "$DEBOOTSTRAP_CACHE"
  say "debootstrap --variant=minbase $SUITE from $mirror with $PACKAGES (~2-4 min)"
  debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$DEBOOTSTRAP_CACHE" \
    "$SUITE" "$rootfs" "$mirror" 2>&1 | sed -u 's/^/[base-image] /' >&2
  # What the slim images leave out too: package lists, caches, documentation.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
    "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log
  say "importing the root file system as $STANDIN"
  tar -C "$rootfs" --numeric-owner -c . | "$docker" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change "LABEL org.kserve-argos.standin-recipe=$recipe" \
    --change "LABEL org.opencontainers.image.description=\"Local stand-in for $(default_image): Debian $SUITE minbase, Debian's python3.11\"" \
    --change 'CMD ["python3"]' \
    - "$STANDIN" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  say "stand-in built in $((SECONDS - started)) s"
}

standin() {
  local have
  have=$("$docker" image inspect --format '{{index .Config.Labels "org.kserve-argos.standin-recipe"}}' \
    "$STANDIN" 2>/dev/null || true)
  if [[ $have != "$recipe" ]]; then
    build_standin
  fi
  say "building on $STANDIN: a LOCAL STAND-IN for $(default_image), made from Debian's packages" \
    "(Debian $SUITE, $("$docker" run --rm --network none "$STANDIN" python3 --version 2>&1))"
  echo "$STANDIN"
}

public_or_standin() {
  local image=${PYTHON_IMAGE:-$(default_image)}
  if "$docker" image inspect "$image" >/dev/null 2>&1; then
    say "building on $image (present in the engine)"
    echo "$image"
    return 0
  fi
  say "pulling $image"
  if timeout "$PULL_TIMEOUT_S" "$docker" pull --quiet "$image" >&2; then
    echo "$image"
    return 0
  fi
  if [[ -n ${PYTHON_IMAGE:-} ]]; then
    say "PYTHON_IMAGE=$PYTHON_IMAGE is neither in the engine nor pullable"
    exit 1
  fi
  say "$image cannot be pulled (no registry reachable?)"
  standin
}

case ${1:-} in
  "") public_or_standin ;;
  standin) standin ;;
  *)
    echo "usage: $0 [standin]" >&2
    exit 2
    ;;
esac
