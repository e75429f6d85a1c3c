#!/bin/sh
# check_install.sh BUILDDIR CC LESSON.c EXPECTED: installs the library into a
# temporary prefix (meson install --destdir), then builds LESSON.c against
# the installed copy through 'pkg-config --cflags --libs cfut' and runs it,
# comparing its output with EXPECTED. Proves that users' builds work.
set -eu
build=$1 cc=$2 lesson=$3 expected=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet
pc=$(find "$tmp/root" -name cfut.pc | head -n 1)
[ -n "$pc" ] || { echo "cfut.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
flags=$(pkg-config --cflags --libs cfut)
echo "pkg-config --cflags --libs cfut: $flags"
libdir=$(pkg-config --variable=libdir cfut)
$cc -std=c11 -Wall -Wextra -Werror -o "$tmp/lesson" "$lesson" $flags
LD_LIBRARY_PATH=$libdir "$tmp/lesson" > "$tmp/out"
if ! diff -u "$expected" "$tmp/out"; then
    echo "the lesson built against the installed library printed other output"
    exit 1
fi
echo "1 passed, 0 failed"
