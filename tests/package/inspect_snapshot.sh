#!/usr/bin/env bash
# `gst-inspect-1.0 ELEMENT` of this build's plugin equals docs/ELEMENT.inspect.txt,
# for the elements mmssrc and mmssink:
#
#   bash tests/package/inspect_snapshot.sh BUILD_ROOT           # compare
#   bash tests/package/inspect_snapshot.sh BUILD_ROOT --update  # rewrite the snapshot
#
# The plugin is loaded from BUILD_ROOT/gst only (GST_PLUGIN_PATH, no system
# plugin directories, a fresh registry), with the sanitizer runtimes
# preloaded when the plugin is sanitized (tests/interop/lib.sh's gst_env).
# Lines that differ between builds are normalised before comparing: the
# plugin's file name, its version and release date, and sanitizer output.
# A change of a property, a pad template, a signal or the URI protocols
# needs the snapshot updated: scripts/update-inspect-snapshot.sh.
source "$(dirname "$0")/../interop/lib.sh"

update=0
[[ "${2:-}" == --update ]] && update=1

need gst-inspect-1.0
gst_env

# normalise < raw > normalised
normalise() {
  sed -E \
    -e '/^==[0-9]+==/d' \
    -e '/runtime error:/d' \
    -e '/^SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer/d' \
    -e 's/^(  Filename +).*/\1(the plugin file)/' \
    -e 's/^(  Version +).*/\1(the project version)/' \
    -e 's/^(  Release date +).*/\1(the release date)/'
}

for element in mmssrc mmssink; do
  SNAPSHOT="$SRC_ROOT/docs/$element.inspect.txt"
  run "$CMD_TIMEOUT" "${GST_RUN[@]}" GST_REGISTRY="$T/inspect-registry.bin" \
    GST_PLUGIN_SYSTEM_PATH_1_0= GST_PLUGIN_PATH_1_0="$PLUGIN_DIR" GST_PLUGIN_PATH="$PLUGIN_DIR" \
    gst-inspect-1.0 --no-colors "$element" >"$T/raw.txt" 2>"$T/inspect-stderr.log" ||
    fail "gst-inspect-1.0 $element failed: $(tail -n 5 "$T/inspect-stderr.log")"
  normalise <"$T/raw.txt" >"$T/got.txt"
  grep -q '^Factory Details:' "$T/got.txt" || fail "gst-inspect-1.0 $element printed no element details"
  if ((update)); then
    cp "$T/got.txt" "$SNAPSHOT"
    log "wrote $SNAPSHOT"
    continue
  fi
  [[ -f "$SNAPSHOT" ]] || fail "no snapshot $SNAPSHOT (scripts/update-inspect-snapshot.sh writes it)"
  if ! diff -u "$SNAPSHOT" "$T/got.txt" >"$T/diff.txt"; then
    cat "$T/diff.txt" >&2
    fail "gst-inspect-1.0 $element differs from docs/$element.inspect.txt (above, - snapshot + build); if the change is intended, run scripts/update-inspect-snapshot.sh and commit the snapshot"
  fi
  log "gst-inspect-1.0 $element equals docs/$element.inspect.txt ($(wc -l <"$T/got.txt") lines)"
done
