#!/usr/bin/env bash
# The Debian package, built and used as a user would:
#
#   bash tests/package/deb.sh BUILD_ROOT
#
# 1. builds gstreamer1.0-mms_VERSION_ARCH.deb with scripts/package-deb.sh into
#    BUILD_ROOT/package-dist (or $MMS_PACKAGE_DIST_DIR), so the source tree
#    stays clean; $MMS_PACKAGE_DEB names an already built .deb to test instead;
# 2. checks its control fields (the GStreamer fields that missing-plugin
#    installers search: Gstreamer-Elements, Gstreamer-Uri-Sources,
#    Gstreamer-Version) and its contents: the plugin in GStreamer's plugin
#    directory, not sanitized, and every program this build installs to bin
#    (mms-server and any other) in /usr/bin;
# 3. as root only, and only when gstreamer1.0-mms is not installed already,
#    installs it with dpkg -i, and with no GST_PLUGIN_PATH and a fresh
#    registry runs gst-inspect-1.0 mmssrc and plays a clip through the
#    installed plugin from the installed /usr/bin/mms-server (gst-launch-1.0,
#    playbin, gst-play-1.0); the EXIT trap purges the package again, always.
# Not root: exit 77 (skip) after steps 1 and 2.
source "$(dirname "$0")/../interop/lib.sh"

PACKAGE=gstreamer1.0-mms
DIST=${MMS_PACKAGE_DIST_DIR:-$BUILD/package-dist}
# Written just before dpkg -i and removed after the purge: if a run is killed
# (SIGKILL) in between, the next run knows the installed package is its own.
MARKER="$BUILD/package-test.installed"
_we_installed=0

_deb_cleanup() {
  local rc=$?
  local p
  if ((_we_installed)); then
    # Stop the installed server before its package goes.
    for p in "${_pids[@]}"; do
      kill "$p" 2>/dev/null || true
      wait "$p" 2>/dev/null || true
    done
    _pids=()
    if dpkg --purge "$PACKAGE" >"$T/purge.log" 2>&1; then
      rm -f "$MARKER"
      echo "[$TEST_NAME] purged $PACKAGE"
    else
      echo "[$TEST_NAME] dpkg --purge $PACKAGE failed:" >&2
      cat "$T/purge.log" >&2
      [[ $rc -eq 0 || $rc -eq 77 ]] && rc=1
    fi
  fi
  (exit "$rc")
  _cleanup
}
trap _deb_cleanup EXIT

need dpkg-deb dpkg-query pkg-config python3
pluginsdir=$(pkg-config --variable=pluginsdir gstreamer-1.0)
[[ -n "$pluginsdir" ]] || fail "pkg-config knows no pluginsdir for gstreamer-1.0"
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$SRC_ROOT/meson.build" | head -n1)
arch=$(dpkg --print-architecture)

# 1. Build ----------------------------------------------------------------
if [[ -n "${MMS_PACKAGE_DEB:-}" ]]; then
  DEB=$MMS_PACKAGE_DEB
  [[ -f "$DEB" ]] || fail "MMS_PACKAGE_DEB=$DEB does not exist"
  log "testing $DEB (not rebuilt)"
else
  if [[ $(id -u) -ne 0 ]]; then
    for c in dpkg-buildpackage dh dh_gstscancodecs; do
      command -v "$c" >/dev/null 2>&1 ||
        skip "$c is not installed (scripts/install-deps.sh --package as root installs it)"
    done
  fi
  log "building the package into $DIST"
  run 840 bash "$SRC_ROOT/scripts/package-deb.sh" "$DIST" >"$T/package-deb.out" 2>"$T/package-deb.log" ||
    fail "scripts/package-deb.sh failed (exit $?); its log: $(tail -n 20 "$T/package-deb.log")"
  DEB=$(tail -n1 "$T/package-deb.out")
fi
[[ "$(basename "$DEB")" == "${PACKAGE}_${version}_${arch}.deb" ]] ||
  fail "package file is $(basename "$DEB"), expected ${PACKAGE}_${version}_${arch}.deb"
[[ -f "$DEB" ]] || fail "no package at $DEB"
log "package: $DEB"

# 2. Control fields and contents ------------------------------------------
field() { dpkg-deb -f "$DEB" "$1"; }
# has_words FIELD WORD...: every WORD is one of the field's words.
has_words() {
  local name=$1; shift
  local value w
  value=" $(field "$name" | tr -s ' ,\n' ' ') "
  for w in "$@"; do
    [[ "$value" == *" $w "* ]] || fail "control field $name is '$(field "$name")': no '$w'"
  done
  log "$name: $(field "$name")"
}
[[ "$(field Package)" == "$PACKAGE" ]] || fail "Package is '$(field Package)'"
[[ "$(field Version)" == "$version" ]] || fail "Version is '$(field Version)', meson.build says $version"
[[ "$(field Architecture)" == "$arch" ]] || fail "Architecture is '$(field Architecture)'"
has_words Gstreamer-Elements mmssrc mmssink mmsredirect
has_words Gstreamer-Uri-Sources mms mmsh mmst mmsu
gst_version=$(field Gstreamer-Version)
[[ "$gst_version" =~ ^1\.[0-9]+$ ]] || fail "Gstreamer-Version is '$gst_version'"
log "Gstreamer-Version: $gst_version"
field Depends | grep -q 'libgstreamer1.0-0' || fail "Depends lacks libgstreamer1.0-0: $(field Depends)"

dpkg-deb -c "$DEB" | awk '{ print $NF }' | sed 's|^\./|/|' >"$T/contents.txt"
grep -qx "$pluginsdir/libgstmms.so" "$T/contents.txt" ||
  fail "no $pluginsdir/libgstmms.so in the package: $(tr '\n' ' ' <"$T/contents.txt")"
grep -qx /usr/bin/mms-server "$T/contents.txt" || fail "no /usr/bin/mms-server in the package"
# Every program that `meson install` puts in bin (read from this build's
# install plan, so tools added later are checked without changing this test).
bins=$(cd "$BUILD" && meson introspect --installed --buildoptions | "$SYS_PYTHON" -c '
import json, os, sys
info = json.load(sys.stdin)
opt = {o["name"]: o["value"] for o in info["buildoptions"]}
bindir = os.path.join(opt["prefix"], opt["bindir"])
for dest in sorted(info["installed"].values()):
    if os.path.dirname(dest) == bindir:
        print(os.path.basename(dest))
') || fail "meson introspect of $BUILD failed"
[[ -n "$bins" ]] || fail "this build installs no program to bin (expected at least mms-server)"
for b in $bins; do
  grep -qx "/usr/bin/$b" "$T/contents.txt" || fail "$b is installed to bin by Meson but not in the package"
done
log "programs in /usr/bin: $(tr '\n' ' ' <<<"$bins")"
# Built without sanitizers and without the test suites.
mkdir -p "$T/x"
dpkg-deb -x "$DEB" "$T/x"
if readelf -d "$T/x$pluginsdir/libgstmms.so" | grep -E 'NEEDED.*lib(a|ub|t|l)san'; then
  fail "the packaged plugin is linked against a sanitizer runtime"
fi
if grep -E '_test$|fuzzer' "$T/contents.txt"; then
  fail "test programs in the package"
fi
log "control fields and contents OK"

# 3. Install, use, purge (root only) --------------------------------------
[[ $(id -u) -eq 0 ]] || skip "not root: the package is built and checked, not installed"
status=$(dpkg-query -W -f='${Status}' "$PACKAGE" 2>/dev/null || true)
if [[ "$status" == *" installed" && -f "$MARKER" ]]; then
  log "$PACKAGE is left over from an interrupted run of this test: purging it first"
  dpkg --purge "$PACKAGE" >"$T/purge-old.log" 2>&1 || fail "cannot purge the leftover $PACKAGE"
  rm -f "$MARKER"
  status=$(dpkg-query -W -f='${Status}' "$PACKAGE" 2>/dev/null || true)
fi
if [[ "$status" == *" installed" ]]; then
  skip "$PACKAGE $(dpkg-query -W -f='${Version}' "$PACKAGE") is installed already (not by this test): not replacing it"
fi
need gst-inspect-1.0 gst-launch-1.0
echo "$DEB" >"$MARKER"
_we_installed=1
run 120 dpkg -i "$DEB" >"$T/dpkg-i.log" 2>&1 || fail "dpkg -i failed: $(tail -n 5 "$T/dpkg-i.log")"
log "installed $PACKAGE $version"

# GStreamer as a user has it: no plugin path, no preload, a fresh registry.
GST_SYS=(env -u GST_PLUGIN_PATH -u GST_PLUGIN_PATH_1_0 -u GST_PLUGIN_SYSTEM_PATH
         -u GST_PLUGIN_SYSTEM_PATH_1_0 -u GST_REGISTRY_1_0 -u LD_PRELOAD
         GST_REGISTRY="$T/system-registry.bin")
run "$CMD_TIMEOUT" "${GST_SYS[@]}" gst-inspect-1.0 --no-colors mmssrc >"$T/inspect.txt" 2>"$T/inspect.log" ||
  fail "gst-inspect-1.0 mmssrc failed with the installed package: $(tail -n 5 "$T/inspect.log")"
# (/lib may be the merged-/usr symlink to /usr/lib: compare resolved paths.)
loaded=$(sed -n 's/^ *Filename  *//p' "$T/inspect.txt" | head -n1)
[[ -n "$loaded" && "$(readlink -f "$loaded")" == "$(readlink -f "$pluginsdir/libgstmms.so")" ]] ||
  fail "gst-inspect-1.0 did not load the installed plugin but '$loaded'"
sed -n '/Supported URI protocols:/,/^$/p' "$T/inspect.txt" >"$T/protocols.txt"
for p in mms mmsh mmst mmsu; do
  grep -qx " *$p" "$T/protocols.txt" || fail "gst-inspect-1.0 lists no URI protocol $p"
done
log "gst-inspect-1.0 mmssrc: $pluginsdir/libgstmms.so, protocols $(tail -n +2 "$T/protocols.txt" | tr -s ' \n' ' ')"

# The installed server serves a small clip (2 s, WMV2 + WMA2).
SERVER_BIN=/usr/bin/mms-server
MEDIA="$T/media"
mkdir -p "$MEDIA"
cp "$SRC_ROOT/tests/media/fixtures/small.asf" "$MEDIA/"
start_server --fast
url="mmsh://127.0.0.1:$SERVER_PORT/small.asf"

run "$CMD_TIMEOUT" "${GST_SYS[@]}" gst-launch-1.0 mmssrc location="$url" ! asfdemux name=d \
  d.video_0 ! queue ! fakesink d.audio_0 ! queue ! fakesink >"$T/gst-launch.log" 2>&1 ||
  fail "gst-launch-1.0 mmssrc ! asfdemux failed (exit $?): $(tail -n 5 "$T/gst-launch.log")"
grep -q 'Got EOS' "$T/gst-launch.log" || fail "gst-launch-1.0 mmssrc ! asfdemux: no EOS"
log "gst-launch-1.0 mmssrc location=$url ! asfdemux: EOS"

# No other GStreamer element handles mmsh:// in Debian, so playbin and
# gst-play-1.0 reaching the end means they used the installed mmssrc.
if gst-inspect-1.0 playbin >/dev/null 2>&1; then
  run "$CMD_TIMEOUT" "${GST_SYS[@]}" gst-launch-1.0 playbin uri="$url" video-sink=fakesink \
    audio-sink=fakesink >"$T/playbin.log" 2>&1 ||
    fail "gst-launch-1.0 playbin uri=$url failed (exit $?): $(tail -n 5 "$T/playbin.log")"
  grep -q 'Got EOS' "$T/playbin.log" || fail "playbin: no EOS"
  log "gst-launch-1.0 playbin uri=$url: EOS"
fi

if command -v gst-play-1.0 >/dev/null 2>&1; then
  run "$CMD_TIMEOUT" "${GST_SYS[@]}" gst-play-1.0 --no-interactive --videosink=fakesink \
    --audiosink=fakesink "$url" </dev/null >"$T/gst-play.log" 2>&1 ||
    fail "gst-play-1.0 $url failed (exit $?): $(tail -n 5 "$T/gst-play.log")"
  grep -q 'Reached end of play list' "$T/gst-play.log" ||
    fail "gst-play-1.0 did not reach the end: $(tail -n 5 "$T/gst-play.log")"
  if grep -qi 'error' "$T/gst-play.log"; then
    fail "gst-play-1.0 reported an error: $(grep -i error "$T/gst-play.log" | head -n 3)"
  fi
  log "gst-play-1.0 $url: end of play list"
fi
log "OK (the EXIT trap purges $PACKAGE)"
