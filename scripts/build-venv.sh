#!/usr/bin/env bash
# Build one locked Python environment: scripts/build-venv.sh NAME LOCKFILE [SOURCE_DIR ...]
#   - installs exactly LOCKFILE (uv pip sync), plus argostranslate without its dependencies when
#     the environment serves models (its declared deps pull in torch; only its package and
#     tokenizer modules are used),
#   - puts the given source dirs on sys.path with a .pth file, as the images do with PYTHONPATH.
set -euo pipefail
name=$1; lock=$2; shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
venvs=${VENVS:-$root/.venvs}
uv=$venvs/uv/bin/uv
py=${PYTHON:-python3.11}
command -v "$py" >/dev/null || py=python3

if [ ! -x "$uv" ]; then
  echo "[build-venv] installing uv into $venvs/uv"
  "$py" -m venv "$venvs/uv"
  "$venvs/uv/bin/pip" install --quiet "uv==0.13.8"
fi

target=$venvs/$name
echo "[build-venv] $name <- $lock"
"$uv" venv --quiet --allow-existing --python "$py" "$target"
"$uv" pip sync --quiet --compile-bytecode --python "$target/bin/python" "$root/$lock"
if grep -q '^ctranslate2==' "$root/$lock" && ! grep -q '^argostranslate==' "$root/$lock"; then
  "$uv" pip install --quiet --compile-bytecode --no-deps --python "$target/bin/python" -r "$root/requirements/argostranslate-nodeps.txt"
fi
site=$("$target/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
: > "$site/kserve_argos_sources.pth"
for dir in "$@"; do echo "$root/$dir" >> "$site/kserve_argos_sources.pth"; done
echo "[build-venv] $name ready: $target"
