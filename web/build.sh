#!/bin/sh
# web/build.sh [BUILDDIR]: builds cfut for the browser and the page of
# examples/web with Debian's emscripten (meson cross file
# web/emscripten.cross) into BUILDDIR (default build/web), then prints the
# folder to serve (BUILDDIR/examples/web). The first build takes a few
# minutes (emcc is slow to start); later ones rebuild what changed.
# Two builds of one BUILDDIR at once take turns (flock).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build/web}
case "$dir" in /*) ;; *) dir=$(pwd)/$dir ;; esac
# Debian's emcc runs Node.js tools that it finds through NODE_PATH.
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}
command -v emcc >/dev/null || {
    echo "web/build.sh: emcc is missing (apt-get install emscripten)" >&2
    exit 1
}
mkdir -p "$dir"
exec 9>"$dir.lock"
flock 9
if [ ! -f "$dir/build.ninja" ]; then
    meson setup --cross-file "$top/web/emscripten.cross" \
        -Dbuildtype=debugoptimized "$dir" "$top" >&2
fi
ninja -C "$dir" >&2
echo "$dir/examples/web"
