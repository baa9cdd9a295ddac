#!/usr/bin/env bash
# What each built image weighs and what dominates it: scripts/image-report.sh REFERENCE...
#   size, its largest layers (docker history), the largest entries of its Python environment
#   (du inside the image); fails if torch is in one.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
docker=$("$root/scripts/container-engine.sh" cli)
status=0

for reference in "$@"; do
  bytes=$("$docker" image inspect --format '{{.Size}}' "$reference")
  printf '%s  %d MB\n' "$reference" $((bytes / 1000000))
  echo "  largest layers:"
  "$docker" history --no-trunc --format '{{.Size}}\t{{.CreatedBy}}' "$reference" \
    | awk -F'\t' '$1 != "0B" {print}' | sort -h -r | head -3 \
    | awk -F'\t' '{created = $2; gsub(/ *# buildkit$/, "", created); gsub(/\/bin\/sh -c /, "", created);
                  if (created == "") created = "(base image)"; printf "    %8s  %.70s\n", $1, created}'
  echo "  largest in the Python environment (MB):"
  listing=$("$docker" run --rm --network none --entrypoint sh "$reference" -c \
    'cd /opt/venv/lib/python3*/site-packages && du -sm * | sort -rn')
  head -6 <<<"$listing" | awk '{printf "    %6d  %s\n", $1, $2}'
  if grep -qE '\s(torch|nvidia)$' <<<"$listing"; then
    echo "  torch found in $reference"
    status=1
  fi
done
exit $status
