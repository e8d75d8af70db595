#!/usr/bin/env bash
# Transcode an MMS stream to WebM (VP8 + Vorbis): kept for existing callers,
# now a front for scripts/record.sh (mms-record).
#
# usage: scripts/transcode.sh [URL] [OUTPUT]
#   URL     mms:// or mmsh:// URL.  Without one, a 10 s sample clip is
#           generated, served by the bundled mms-server on 127.0.0.1, and
#           transcoded from there.
#   OUTPUT  output file (default: out.webm).  Its extension picks the format
#           as for mms-record (.webm: VP8 + Vorbis); a name with another
#           extension gets WebM written to it, as before.
#
# Environment:
#   MMS_TRANSCODE_SECONDS  stop after this many seconds (for live streams,
#                          which never end on their own); the file is finished
#   MMS_SKIP_DEPS=1        do not run scripts/install-deps.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
URL=${1:-}
OUTPUT=${2:-out.webm}

case "${OUTPUT,,}" in
  *.webm | *.mkv | *.mp4 | *.m4a | *.ogg | *.opus | *.asf | *.wmv | *.wma)
    exec "$ROOT/scripts/record.sh" "$URL" "$OUTPUT"
    ;;
esac
# Another extension: record to a temporary .webm next to OUTPUT, then rename.
tmp="$OUTPUT.transcode-$$.webm"
trap 'rm -f "$tmp"' EXIT
"$ROOT/scripts/record.sh" "$URL" "$tmp" | sed "s|$tmp|$OUTPUT|g"
mv -f "$tmp" "$OUTPUT"
