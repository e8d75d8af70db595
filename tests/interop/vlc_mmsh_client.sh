#!/usr/bin/env bash
# VLC 3 (an independent MMSH client, access_mms) against our mms-server, paced
# (real time) and with --fast (as fast as VLC reads).
#
# VLC (as the unprivileged user mmstest: it refuses to run as root) records
#   mmsh://127.0.0.1:PORT/av-wmv2-wma2-10s.asf
# into an ASF file.  VLC remuxes, so the timestamps of what it writes are its
# own; the packet payloads are not: every FFmpeg packet checksum (size + MD5,
# stream copy) of a recording must be one of the file's, and the recording
# must hold all of the file's packets but the last few (VLC drops what is
# still in its muxer when it quits).  The --fast recording must hold the same
# packets as the paced one, stream by stream in the same order.  A third run,
# with --no-video against --fast, checks stream selection: only audio is
# recorded, and it is the file's audio.
#
# (Both --no-audio and --no-video make access_mms deselect every stream: it
# then fails with "no stream selected" before it sends its Play request,
# whatever the server; the recordings here keep at least one stream.)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need cvlc ffmpeg runuser
as_vlc_user
ensure_media
start_server
PACED_PORT=$SERVER_PORT
start_server --fast
FAST_PORT=$SERVER_PORT

f=av-wmv2-wma2-10s.asf
chmod 755 "$T"
OUT="$T/vlc-out"
mkdir -p "$OUT"
chmod 777 "$OUT"
framemd5_copy "$MEDIA/$f" >"$T/want.md5"
# Size and MD5 of each packet (stream indexes and timestamps may differ).
keys() { awk -F', *' -v s="${2:-}" 'NF >= 6 && (s == "" || $1 == s) { print $5 "," $6 }' "$1"; }
keys "$T/want.md5" | sort -u >"$T/want.keys"
total=$(wc -l <"$T/want.md5")
# Stream 1 of FFmpeg's reading of the file is the audio stream.
keys "$T/want.md5" 1 | sort -u >"$T/want-audio.keys"
total_audio=$(keys "$T/want.md5" 1 | wc -l)

# record NAME PORT [VLC options...]: VLC's recording of the clip into $OUT/NAME.asf,
# its packet checksums into $T/got-NAME.md5.
record() {
  local name=$1 port=$2; shift 2
  local url="mmsh://127.0.0.1:$port/$f" rec="$OUT/$name.asf"
  # VLC's exit status is not meaningful with vlc://quit; judge the recording.
  run "$CMD_TIMEOUT" "${as_vlc[@]}" cvlc -vv "$@" "$url" \
    --sout "#std{access=file,mux=asf,dst=$rec}" vlc://quit >"$T/vlc-$name.log" 2>&1 || true
  if grep -q 'no stream selected' "$T/vlc-$name.log"; then
    fail "$name: VLC selected no stream of $url"
  fi
  [[ -s "$rec" ]] || fail "$name: VLC wrote nothing from $url"
  framemd5_copy "$rec" >"$T/got-$name.md5" 2>"$T/ffmpeg-$name.log" ||
    fail "$name: ffmpeg cannot read what VLC recorded"
}

# check NAME WANT_KEYS WANT_COUNT: every packet of the recording is one of
# WANT_KEYS, and at most 5 of WANT_COUNT are missing.
check() {
  local name=$1 want=$2 count=$3 n extra
  keys "$T/got-$name.md5" >"$T/got-$name.keys"
  n=$(wc -l <"$T/got-$name.keys")
  extra=$(comm -13 "$want" <(sort -u "$T/got-$name.keys") | wc -l)
  log "$name: VLC recorded $n packets ($count expected), $extra not of the file"
  [[ $extra -eq 0 ]] || fail "$name: $extra packets recorded by VLC are not packets of $f"
  [[ $n -le $count && $n -ge $((count - 5)) ]] ||
    fail "$name: $n packets recorded, expected $((count - 5)) to $count"
}

record paced "$PACED_PORT"
check paced "$T/want.keys" "$total"
record fast "$FAST_PORT"
check fast "$T/want.keys" "$total"
# Per stream, in order (VLC's muxer interleaves the streams by arrival time).
# VLC numbers its streams in the order their first packets arrive, which may
# differ between runs: a stream of one recording is matched with the stream of
# the other that starts with the same packet. Of each pair, the shorter is a
# prefix of the longer (VLC drops the last few packets at exit, not always the
# same ones).
per_stream() { awk -F', *' 'NF >= 6 { print $1 "," $5 "," $6 }' "$1" | sort -s -t, -k1,1; }
per_stream "$T/got-paced.md5" >"$T/paced.streams"
per_stream "$T/got-fast.md5" >"$T/fast.streams"
same=$(python3 - "$T/paced.streams" "$T/fast.streams" <<'PY'
import collections, sys
def streams(path):
    by_index = collections.OrderedDict()
    for line in open(path):
        index, key = line.rstrip("\n").split(",", 1)
        by_index.setdefault(index, []).append(key)
    return {seq[0]: seq for seq in by_index.values()}
paced, fast = streams(sys.argv[1]), streams(sys.argv[2])
if sorted(paced) != sorted(fast):
    sys.exit("the recordings' streams start with different packets")
for first, a in paced.items():
    b = fast[first]
    n = min(len(a), len(b))
    bad = next((i for i in range(n) if a[i] != b[i]), None)
    if bad is not None:
        sys.exit(f"a stream differs at its packet {bad}: {a[bad]} (paced) vs {b[bad]} (fast)")
    if abs(len(a) - len(b)) > 5:
        sys.exit(f"a stream has {len(a)} packets paced, {len(b)} fast")
print(sum(min(len(a), len(fast[f])) for f, a in paced.items()))
PY
) || fail "fast: the packets differ from the paced recording"
log "fast: per stream, the same packets in the same order as the paced recording ($same in common)"

record fast-audio "$FAST_PORT" --no-video
grep -q 'stream-switch-entry=ffff:1:2 ffff:2:0' "$T/vlc-fast-audio.log" ||
  fail "fast-audio: VLC did not ask for the audio stream alone"
streams=$(awk -F', *' 'NF >= 6 { print $1 }' "$T/got-fast-audio.md5" | sort -u | wc -l)
[[ $streams -eq 1 ]] || fail "fast-audio: $streams streams recorded, expected the audio stream only"
check fast-audio "$T/want-audio.keys" "$total_audio"
log "PASS"
