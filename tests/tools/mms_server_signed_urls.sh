#!/usr/bin/env bash
# mms-server --url-key: signed URLs (tools/server/url_signing.h) on 127.0.0.1.
#  - --sign-url prints the URL with e= and s=, whose s= is the openssl
#    HMAC-SHA256 of "PATH\nEXPIRY" (the documented scheme);
#  - a signed URL plays over MMSH, MMS/TCP and RTSP/TCP through mmssrc and
#    through FFmpeg, and decodes to the local file's frames;
#  - an expired URL, a tampered path, another key's signature and an unsigned
#    URL are refused on every transport: non-zero exit, and the client says
#    denied/forbidden (HTTP and RTSP 403, MMS HRESULT 0x80070005).
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib.sh"
need ffmpeg gst-launch-1.0 openssl
ensure_media
gst_env

KEY=s3cret-key
F=av-wmv2-wma2-10s.asf
OTHER=audio-wma2-10s.wma
start_server --fast --mms-port 0 --rtsp-port 0 --url-key "$KEY"
MMS_PORT=$(sed -n 's/.* mms=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
RTSP_PORT=$(sed -n 's/.* rtsp=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
[[ -n "$MMS_PORT" && -n "$RTSP_PORT" ]] || fail "mms-server printed no mms=/rtsp= port"

# --sign-url: the output is the input plus e= and s=, and s= is what openssl computes.
signed=$(run 10 "$SERVER_BIN" --sign-url "mmsh://127.0.0.1:$SERVER_PORT/$F" --url-key "$KEY" \
  --valid-for 600) || fail "--sign-url exited non-zero"
[[ $signed =~ ^mmsh://127\.0\.0\.1:$SERVER_PORT/$F\?e=([0-9]+)\&s=([0-9a-f]{64})$ ]] ||
  fail "--sign-url printed '$signed'"
e=${BASH_REMATCH[1]} s=${BASH_REMATCH[2]}
now=$(date +%s)
((e >= now + 590 && e <= now + 610)) || fail "--valid-for 600 gave expiry $e at $now"
hmac() {  # hmac KEY PATH EXPIRY
  printf '%s\n%s' "$2" "$3" | openssl dgst -sha256 -hmac "$1" | sed 's/^.*= *//'
}
[[ $(hmac "$KEY" "/$F" "$e") == "$s" ]] || fail "--sign-url's signature is not HMAC-SHA256(key, path\\nexpiry)"
log "--sign-url: $signed (signature matches openssl)"
if run 10 "$SERVER_BIN" --sign-url "mmsh://127.0.0.1/$F" >/dev/null 2>&1; then
  fail "--sign-url without --url-key succeeded"
fi

QUERY_OK="?e=$e&s=$s"
past=$((now - 60))
QUERY_EXPIRED="?e=$past&s=$(hmac "$KEY" "/$F" "$past")"
QUERY_WRONG_KEY="?e=$e&s=$(hmac other-key "/$F" "$e")"


# mmssrc: record what it outputs; GStreamer decodes the recording to the local
# file's frames (gst_frames.py: one checksum per decoded frame). FFmpeg is not
# the judge here: over RTSP each packet arrives split per stream, more packets
# than the header counts, and FFmpeg stops at that count.
gst_frames() {  # gst_frames FILE OUT
  run "$CMD_TIMEOUT" "${GST_RUN[@]}" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames.py" "file://$1" >"$2" \
    2>"$2.log" || fail "GStreamer cannot decode $1"
}
mmssrc_ok() {  # mmssrc_ok NAME URL [properties...]
  local name=$1 url=$2; shift 2
  run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 -q mmssrc location="$url" "$@" ! \
    filesink location="$T/got-$name.asf" >"$T/gst-$name.log" 2>&1 ||
    fail "$name: mmssrc could not play the signed URL $url"
  gst_frames "$T/got-$name.asf" "$T/got-$name.frames"
  compare_lines "$name: mmssrc, signed URL, decoded" "$T/want.frames" "$T/got-$name.frames"
}
mmssrc_denied() {  # mmssrc_denied NAME URL [properties...]
  local name=$1 url=$2; shift 2
  if run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 mmssrc location="$url" "$@" timeout=10 ! \
    fakesink >"$T/gst-$name.log" 2>&1; then
    fail "$name: mmssrc played $url"
  fi
  grep -qiE 'denied|forbidden' "$T/gst-$name.log" ||
    fail "$name: mmssrc failed without saying denied/forbidden: $(grep -i error "$T/gst-$name.log" | head -n 3)"
  log "$name: refused ($(grep -ioE '[^:]*(denied|forbidden)[^(]*' "$T/gst-$name.log" | head -n1))"
}
# FFmpeg reading the URL itself: its packets equal the local file's (stream
# copy; FFmpeg's mmst client cannot decode to the end: it stops at the
# server's end-of-stream report while probing, with or without signing).
ffmpeg_ok() {  # ffmpeg_ok NAME URL [input options...]
  local name=$1 url=$2; shift 2
  framemd5_copy "$url" "$@" >"$T/got-$name.md5" 2>"$T/ffmpeg-$name.log" ||
    fail "$name: FFmpeg could not read the signed URL $url"
  compare_lines "$name: FFmpeg, signed URL, packets" "$T/want-copy.md5" "$T/got-$name.md5"
}
ffmpeg_denied() {  # ffmpeg_denied NAME URL PATTERN
  if run "$CMD_TIMEOUT" "${FF[@]}" -i "$2" -f null - 2>"$T/ffmpeg-$1.log"; then
    fail "$1: FFmpeg read $2"
  fi
  grep -qiE "$3" "$T/ffmpeg-$1.log" ||
    fail "$1: FFmpeg failed without '$3': $(head -c 300 "$T/ffmpeg-$1.log")"
  log "$1: FFmpeg refused ($(grep -ioE "$3" "$T/ffmpeg-$1.log" | head -n1))"
}

gst_frames "$MEDIA/$F" "$T/want.frames"
framemd5_copy "$MEDIA/$F" >"$T/want-copy.md5"

declare -A BASE=(
  [mmsh]="mmsh://127.0.0.1:$SERVER_PORT"
  [mmst]="mms://127.0.0.1:$MMS_PORT"
  [rtsp]="rtspt://127.0.0.1:$RTSP_PORT"
)
declare -A PROPS=([mmsh]="" [mmst]="protocols=mmst" [rtsp]="")
declare -A FFBASE=(
  [mmsh]="mmsh://127.0.0.1:$SERVER_PORT"
  [mmst]="mmst://127.0.0.1:$MMS_PORT"
  [rtsp]="rtsp://127.0.0.1:$RTSP_PORT"
)
declare -A FFOPTS=([mmsh]="" [mmst]="" [rtsp]="-rtsp_transport tcp")
declare -A FFDENIED=([mmsh]='403|forbidden' [mmst]='0x80070005' [rtsp]='403|forbidden')

for p in mmsh mmst rtsp; do
  # shellcheck disable=SC2086
  mmssrc_ok "$p" "${BASE[$p]}/$F$QUERY_OK" ${PROPS[$p]}
  # shellcheck disable=SC2086
  ffmpeg_ok "ffmpeg-$p" "${FFBASE[$p]}/$F$QUERY_OK" ${FFOPTS[$p]}
  for bad in expired tampered wrong-key unsigned; do
    case $bad in
      expired) path="/$F$QUERY_EXPIRED" ;;
      tampered) path="/$OTHER$QUERY_OK" ;;
      wrong-key) path="/$F$QUERY_WRONG_KEY" ;;
      unsigned) path="/$F" ;;
    esac
    # shellcheck disable=SC2086
    mmssrc_denied "$p-$bad" "${BASE[$p]}$path" ${PROPS[$p]}
    ffmpeg_denied "ffmpeg-$p-$bad" "${FFBASE[$p]}$path" "${FFDENIED[$p]}"
  done
done
log "PASS"
