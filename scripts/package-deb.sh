#!/usr/bin/env bash
# Build the Debian package gstreamer1.0-mms (the mmssrc plugin and every
# program `meson install` puts in bin, e.g. mms-server) on Debian 12:
#
#   scripts/package-deb.sh [OUTPUT_DIR]
#
# writes OUTPUT_DIR/gstreamer1.0-mms_VERSION_ARCH.deb (and the -dbgsym
# package of its debugging symbols); OUTPUT_DIR defaults to $MMS_DIST_DIR or
# dist/ in the checkout.  The last line printed is the path of the .deb.
#
# The build runs with dpkg-buildpackage (debhelper, `dh --buildsystem=meson`,
# see debian/rules: no tests, no sanitizers) in a copy of the source tree in
# a temporary directory, so the checkout gets no build artefacts besides the
# output directory and the script can be run again at any time (the .deb is
# replaced).  Build dependencies are installed with
# `scripts/install-deps.sh --package` (apt; root or sudo only when something
# is missing).
#
# Environment:
#   MMS_DIST_DIR     output directory (default: dist/ in the checkout)
#   MMS_SKIP_DEPS=1  do not install build dependencies
#   MMS_DEB_JOBS     parallel build jobs (default: number of processors)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-${MMS_DIST_DIR:-$ROOT/dist}}
JOBS=${MMS_DEB_JOBS:-$(nproc)}
PACKAGE=gstreamer1.0-mms

say() { echo "package-deb: $*" >&2; }
die() { say "$*"; exit 1; }

"$ROOT/scripts/install-deps.sh" --package || die "installing the build dependencies failed"
for c in dpkg-buildpackage dpkg-checkbuilddeps dpkg-parsechangelog dh dh_gstscancodecs; do
  command -v "$c" >/dev/null 2>&1 || die "$c not found (scripts/install-deps.sh --package installs it)"
done

# The package version is the project's: debian/changelog must have an entry
# for the version in meson.build.
meson_version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$ROOT/meson.build" | head -n1)
deb_version=$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -SVersion)
[[ -n "$meson_version" ]] || die "no version in meson.build"
if [[ "$deb_version" != "$meson_version" ]]; then
  die "debian/changelog is at $deb_version but meson.build at $meson_version: add a changelog entry for $meson_version"
fi
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb_name="${PACKAGE}_${deb_version}_${arch}.deb"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/gst-mms-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
src="$work/gst-mms-$deb_version"
mkdir "$src"

# Copy the source tree: from a git checkout the tracked and untracked files
# that .gitignore does not exclude (the working tree's contents, so local
# changes are packaged; no build directories); elsewhere (an unpacked
# tarball) everything but build directories and the output directory.
if git -C "$ROOT" rev-parse --show-toplevel >/dev/null 2>&1 &&
   [[ "$(git -C "$ROOT" rev-parse --show-toplevel)" == "$ROOT" ]]; then
  git -C "$ROOT" ls-files -z --cached --others --exclude-standard |
    (cd "$ROOT" && while IFS= read -r -d '' f; do
       [[ -e "$f" || -L "$f" ]] && printf '%s\0' "$f"
     done) |
    tar -C "$ROOT" --null --no-recursion -T - -cf - | tar -C "$src" -xf -
else
  tar -C "$ROOT" --exclude=./.git --exclude='./build*' --exclude='./obj-*' \
    --exclude=./dist --exclude="./${OUT#"$ROOT"/}" \
    --exclude=./debian/.debhelper --exclude="./debian/$PACKAGE" \
    --exclude=./debian/tmp --exclude=./debian/files \
    --exclude='./debian/*.substvars' --exclude='./debian/*debhelper*' \
    -cf - . | tar -C "$src" -xf -
fi
[[ -f "$src/debian/control" && -f "$src/meson.build" ]] || die "copying the source tree failed"

cd "$src"
dpkg-checkbuilddeps || die "build dependencies of debian/control are missing"
say "building $deb_name in $src ($JOBS jobs)"
# Binary packages only (-b), unsigned.  Rules-Requires-Root: no, so no
# fakeroot is needed.
DEB_BUILD_OPTIONS="nocheck parallel=$JOBS ${DEB_BUILD_OPTIONS:-}" \
  dpkg-buildpackage -b -us -uc >&2 || die "dpkg-buildpackage failed"

[[ -f "$work/$deb_name" ]] || die "dpkg-buildpackage made no $deb_name"
for f in "$work"/*.deb; do
  cp -f "$f" "$OUT/"
done
say "wrote $(cd "$work" && ls -- *.deb | tr '\n' ' ')to $OUT"
echo "$OUT/$deb_name"
