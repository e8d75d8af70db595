#!/usr/bin/env bash
# The layering of the engine, checked on every #include (docs/architecture.md):
#
#   core                      -> nothing
#   asf                       -> core
#   server                    -> core, asf
#   auth                      -> core
#   session (the interface:   -> core, auth, asf
#     everything in protocol/session but session_factory.*)
#   mmsh, mmst, rtsp          -> core, asf, server, session   (never one another)
#   factory (session/session_factory.*) -> the engine
#   io                        -> the engine, GIO
#
# and nothing in protocol/ outside protocol/io includes GLib, GIO or GStreamer, gst/ or
# tools/. gst/ and tools/ may include any layer.
#
# usage: scripts/check-layering.sh [SOURCE_ROOT]   check the tree (default: .)
#        scripts/check-layering.sh --self-test     the check finds planted violations
# Exit status 0 when the tree keeps the rules; 1 with one line per violation.
set -euo pipefail

layer_of() {  # repo-relative path -> layer name ("" outside protocol/)
  case "$1" in
    protocol/session/session_factory.*) echo factory ;;
    protocol/core/*) echo core ;;
    protocol/auth/*) echo auth ;;
    protocol/asf/*) echo asf ;;
    protocol/server/*) echo server ;;
    protocol/session/*) echo session ;;
    protocol/mmsh/*) echo mmsh ;;
    protocol/mmst/*) echo mmst ;;
    protocol/rtsp/*) echo rtsp ;;
    protocol/io/*) echo io ;;
    protocol/*) echo unknown ;;
    *) echo "" ;;
  esac
}

allowed() {  # layer -> the layers it may include
  case "$1" in
    core) echo "core" ;;
    auth) echo "core auth" ;;
    asf) echo "core asf" ;;
    server) echo "core asf server" ;;
    session) echo "core auth asf session" ;;
    mmsh) echo "core auth asf server session mmsh" ;;
    mmst) echo "core auth asf server session mmst" ;;
    rtsp) echo "core auth asf server session rtsp" ;;
    factory | io) echo "core auth asf server session mmsh mmst rtsp factory io" ;;
    *) echo "" ;;
  esac
}

check_tree() {
  local root=$1 bad=0 file rel layer line inc target tl
  while IFS= read -r file; do
    rel=${file#"$root"/}
    layer=$(layer_of "$rel")
    [[ -n "$layer" ]] || continue
    if [[ "$layer" == unknown ]]; then
      echo "check-layering: $rel: in no layer (add its folder to scripts/check-layering.sh)"
      bad=1
      continue
    fi
    while IFS= read -r line; do
      if [[ "$line" =~ ^#include[[:space:]]+\"([^\"]+)\" ]]; then
        inc=${BASH_REMATCH[1]}
        case "$inc" in
          gst/* | tools/*)
            echo "check-layering: $rel ($layer) includes $inc: the engine does not depend on the plugin or the tools"
            bad=1
            ;;
          protocol/*)
            tl=$(layer_of "$inc")
            if [[ " $(allowed "$layer") " != *" $tl "* ]]; then
              echo "check-layering: $rel ($layer) includes $inc ($tl): $layer may include only: $(allowed "$layer")"
              bad=1
            fi
            ;;
        esac
      elif [[ "$line" =~ ^#include[[:space:]]+\<(gio/|glib|gst/|gobject) ]] && [[ "$layer" != io ]]; then
        target=${line#*<}
        echo "check-layering: $rel ($layer) includes <${target%%>*}>: only protocol/io may use GLib/GIO, and nothing in protocol/ GStreamer"
        bad=1
      elif [[ "$line" =~ ^#include[[:space:]]+\<gst/ ]]; then
        echo "check-layering: $rel (io) includes GStreamer: only gst/ and tools/ may"
        bad=1
      fi
    done < <(grep -E '^#include' "$file" || true)
  done < <(find "$root/protocol" -type f \( -name '*.h' -o -name '*.cpp' \) | sort)
  return $bad
}

if [[ "${1:-}" == --self-test ]]; then
  t=$(mktemp -d)
  trap 'rm -rf "$t"' EXIT
  mkdir -p "$t/protocol/core" "$t/protocol/mmst" "$t/protocol/asf" "$t/protocol/io" "$t/protocol/session"
  printf '#include <cstdint>\n' >"$t/protocol/core/a.h"
  printf '#include "protocol/core/a.h"\n#include "protocol/session/client_session.h"\n' >"$t/protocol/mmst/ok.cpp"
  printf '#include <gio/gio.h>\n#include "protocol/mmst/ok.h"\n' >"$t/protocol/io/ok.cpp"
  printf '#include "protocol/mmst/x.h"\n' >"$t/protocol/session/session_factory.cpp"
  if ! out=$(check_tree "$t"); then
    echo "check-layering: self-test: a clean tree was refused:"
    echo "$out"
    exit 1
  fi
  # Planted: a transport including another, GIO in the ASF layer, the plugin in the engine,
  # and the session interface including a transport.
  printf '#include "protocol/mmsh/framing.h"\n' >"$t/protocol/mmst/bad1.cpp"
  printf '#include <gio/gio.h>\n' >"$t/protocol/asf/bad2.cpp"
  printf '#include "gst/gstmmssrc.h"\n' >"$t/protocol/core/bad3.cpp"
  printf '#include "protocol/rtsp/auth.h"\n' >"$t/protocol/session/bad4.cpp"
  out=$(check_tree "$t") && {
    echo "check-layering: self-test: the planted violations passed"
    exit 1
  }
  n=$(grep -c '^check-layering: ' <<<"$out" || true)
  for f in bad1 bad2 bad3 bad4; do
    grep -q "/$f.cpp" <<<"$out" || {
      echo "check-layering: self-test: $f.cpp not reported:"
      echo "$out"
      exit 1
    }
  done
  [[ "$n" -eq 4 ]] || {
    echo "check-layering: self-test: $n reports for 4 violations:"
    echo "$out"
    exit 1
  }
  echo "check-layering: self-test: 4 planted violations found, the clean tree passes"
  exit 0
fi

root=$(cd "${1:-.}" && pwd)
if check_tree "$root"; then
  echo "check-layering: $(find "$root/protocol" -type f \( -name '*.h' -o -name '*.cpp' \) | wc -l) files keep the layering"
else
  exit 1
fi
