#!/usr/bin/env bash
# Regenerate docs/mmssrc.inspect.txt and docs/mmssink.inspect.txt, the
# `gst-inspect-1.0` snapshots that the element suite's inspect_snapshot test
# compares with, after a change of an element's properties, pads, signals or
# URI protocols.
#
# usage: scripts/update-inspect-snapshot.sh [BUILD_DIR]   (default: build)
#
# Builds the plugin in BUILD_DIR (configured already, e.g. by scripts/test.sh)
# and writes the normalised output; review it with `git diff docs/` and commit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${1:-${BUILD_DIR:-build}}
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
[[ -f "$BUILD_DIR/build.ninja" ]] ||
  { echo "update-inspect-snapshot: $BUILD_DIR is not a configured build directory (meson setup $BUILD_DIR)" >&2; exit 1; }
ninja -C "$BUILD_DIR" gst/libgstmms.so
bash "$ROOT/tests/package/inspect_snapshot.sh" "$BUILD_DIR" --update
git -C "$ROOT" diff --stat -- docs/mmssrc.inspect.txt docs/mmssink.inspect.txt 2>/dev/null || true
