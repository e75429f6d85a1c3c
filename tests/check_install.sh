#!/bin/sh
# check_install.sh BUILDDIR CC CFLAGS LDFLAGS README LESSON.c EXPECTED:
# proves README.md's "Build against it" section on a real install.
#   1. Installs the library into a temporary root (meson install --destdir)
#      and checks that cfut.pc lands where the README says: in
#      <prefix>/<libdir>/pkgconfig, with this build's (multiarch) libdir,
#      the one the README's PKG_CONFIG_PATH line names.
#   2. Runs the README's commands verbatim: the first ```sh block that sets
#      PKG_CONFIG_PATH, with $HOME/.local standing for the install prefix,
#      app.c being LESSON.c and 'cc' being this build's compiler and flags
#      (so a sanitizer build builds a sanitized app). The block builds the
#      app with an rpath and runs it, then runs it again through
#      LD_LIBRARY_PATH; both runs must print EXPECTED (with EXPECTED '-',
#      they need only succeed).
set -eu
build=$1 cc=$2 cflags=$3 ldflags=$4 readme=$5 lesson=$6 expected=$7
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet
opts=$(meson introspect "$build" --buildoptions)
prefix=$(printf '%s' "$opts" | python3 -c \
    'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
libdir=$(printf '%s' "$opts" | python3 -c \
    'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "libdir"))')
pc="$tmp/root$prefix/$libdir/pkgconfig/cfut.pc"
[ -f "$pc" ] || { echo "cfut.pc is not in <prefix>/$libdir/pkgconfig"; exit 1; }
echo "cfut.pc installed in <prefix>/$libdir/pkgconfig"

# The README's block, and the libdir its PKG_CONFIG_PATH line names.
python3 - "$readme" >"$tmp/block.sh" <<'EOF'
import re, sys
for m in re.finditer(r"```sh\n(.*?)```", open(sys.argv[1]).read(), re.S):
    if "PKG_CONFIG_PATH" in m.group(1):
        sys.stdout.write(m.group(1))
        sys.exit(0)
sys.exit("README.md has no ```sh block that sets PKG_CONFIG_PATH")
EOF
said=$(sed -n 's|.*PKG_CONFIG_PATH="\$HOME/\.local/\(.*\)/pkgconfig".*|\1|p' \
    "$tmp/block.sh")
case "$libdir" in
lib/*-*) ;; # multiarch: the README must name it
*) echo "libdir is $libdir here (not multiarch)" ;;
esac
if [ "$said" != "$libdir" ]; then
    case "$said/$libdir" in
    lib/*-*/lib/*-*) echo "README names $said; this machine's is $libdir" ;;
    *)
        echo "README.md says cfut.pc is in \$HOME/.local/$said/pkgconfig;"
        echo "meson installs it in <prefix>/$libdir/pkgconfig"
        exit 1
        ;;
    esac
fi

# Run the block: $HOME/.local is the prefix, cc is this build's compiler.
mkdir -p "$tmp/home" "$tmp/work"
ln -s "$tmp/root$prefix" "$tmp/home/.local"
cp "$lesson" "$tmp/work/app.c"
{
    echo "set -eu"
    echo "cc() { command $cc -std=c11 -Wall -Wextra -Werror $cflags \"\$@\" $ldflags; }"
    cat "$tmp/block.sh"
} >"$tmp/run.sh"
(cd "$tmp/work" && env -u LD_LIBRARY_PATH -u PKG_CONFIG_PATH \
    HOME="$tmp/home" sh "$tmp/run.sh") >"$tmp/out"
if [ "$expected" = - ]; then
    cp "$tmp/out" "$tmp/want"
else
    cat "$expected" "$expected" >"$tmp/want"
fi
if ! diff -u "$tmp/want" "$tmp/out"; then
    echo "the README's commands printed other output than the lesson's"
    exit 1
fi
echo "README's build-against-it commands: built and ran the app twice"
echo "1 passed, 0 failed"
