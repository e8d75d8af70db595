#!/usr/bin/env bash
# Generate the synthetic ASF media used by the interoperability tests, the
# transcode demo and the benchmark.  Needs ffmpeg and python3.
#
# usage: make-test-media.sh OUTDIR [MODE]
#   MODE default  av-wmv2-wma2-10s.asf   10 s 320x240 WMV2 + WMA2, 3200-byte packets, Simple Index
#                 audio-wma2-10s.wma     the same audio alone
#                 mbr-2video-1audio-10s.asf  two WMV2 streams (300k, 100k) + one WMA2 stream
#                 mbr-sbp-mutex-10s.asf  the above plus Stream Bitrate Properties and a bitrate
#                                        Mutual Exclusion over streams 1 and 2
#                 av-noindex.asf         Header + Data objects only
#                 av-noindex-bcast.asf   the same with the broadcast flag set (like a live header)
#                 av-badcount.asf        Header object count one too high (as VLC's muxer writes)
#                 av-asf_stream.mmsh     MMSH-framed body written by ffmpeg's asf_stream muxer
#                 av-wmv2-wma2-60s.asf   60 s version of the first file (live serving by VLC, which
#                                        restarts the stream at every loop of the clip)
#                 av-640x480-6s.asf      ~30 MB in 6 s (like `big`, shorter): more than the element's
#                                        queue and the socket buffers hold (long-pause tests)
#        sample   av-wmv2-wma2-10s.asf only
#        big      big-640x480-20s.asf    ~100 MB, 640x480 WMV2 (~40 Mbit/s) + WMA2, 8000-byte packets
#        all      default + big
#
# Output is deterministic for a given ffmpeg build (fixed sources, fixed noise
# seed, single-threaded encoders).  Files are written under a temporary name
# and renamed, so a reader never sees a partial file; an existing file is kept.
set -euo pipefail

OUT=${1:?usage: make-test-media.sh OUTDIR [default|sample|big|all]}
MODE=${2:-default}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ASFEDIT=(python3 "$HERE/../tools/asfedit.py")
FF=(ffmpeg -nostdin -hide_banner -loglevel error -y -threads 1)
AV_IN=(-f lavfi -i testsrc=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=44100 -t 10)
A_OPTS=(-c:a wmav2 -b:a 64k -ac 2)

mkdir -p "$OUT"
cd "$OUT"

# produce NAME CMD...: run CMD with "$tmp" as its output path unless NAME exists.
produce() {
  local name=$1; shift
  [[ -s "$name" ]] && return 0
  tmp=".tmp.$$.$name"
  "$@"
  mv -f "$tmp" "$name"
}

gen_av() {
  produce av-wmv2-wma2-10s.asf eval '"${FF[@]}" "${AV_IN[@]}" -c:v wmv2 -b:v 300k -g 25 "${A_OPTS[@]}" -f asf "$tmp"'
}

gen_default() {
  gen_av
  produce audio-wma2-10s.wma eval \
    '"${FF[@]}" -f lavfi -i sine=frequency=440:sample_rate=44100 -t 10 "${A_OPTS[@]}" -f asf "$tmp"'
  produce mbr-2video-1audio-10s.asf eval \
    '"${FF[@]}" "${AV_IN[@]}" -map 0:v -map 0:v -map 1:a -c:v wmv2 -b:v:0 300k -b:v:1 100k -g 25 "${A_OPTS[@]}" -f asf "$tmp"'
  produce mbr-sbp-mutex-10s.asf eval \
    '"${ASFEDIT[@]}" mbr mbr-2video-1audio-10s.asf "$tmp" 1:300000,2:100000,3:64000 1,2'
  produce av-noindex.asf eval '"${ASFEDIT[@]}" strip-index av-wmv2-wma2-10s.asf "$tmp"'
  produce av-noindex-bcast.asf eval '"${ASFEDIT[@]}" broadcast av-noindex.asf "$tmp"'
  produce av-badcount.asf eval '"${ASFEDIT[@]}" bump-count av-wmv2-wma2-10s.asf "$tmp"'
  produce av-asf_stream.mmsh eval '"${FF[@]}" -i av-wmv2-wma2-10s.asf -c copy -f asf_stream "$tmp"'
  produce av-wmv2-wma2-60s.asf eval \
    '"${FF[@]}" -f lavfi -i testsrc=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=44100 -t 60 \
       -c:v wmv2 -b:v 300k -g 25 "${A_OPTS[@]}" -f asf "$tmp"'
  produce av-640x480-6s.asf eval \
    '"${FF[@]}" -f lavfi -i "testsrc2=size=640x480:rate=25,noise=alls=20:allf=t:all_seed=1234" \
       -f lavfi -i sine=frequency=440:sample_rate=44100 -t 6 \
       -c:v wmv2 -q:v 3 -g 25 -c:a wmav2 -b:a 128k -ac 2 -packet_size 8000 -f asf "$tmp"'
}

gen_big() {
  # Grain noise keeps the encoder from compressing the picture away, which is
  # what makes the file large; all_seed fixes the noise.
  produce big-640x480-20s.asf eval \
    '"${FF[@]}" -f lavfi -i "testsrc2=size=640x480:rate=25,noise=alls=20:allf=t:all_seed=1234" \
       -f lavfi -i sine=frequency=440:sample_rate=44100 -t 20 \
       -c:v wmv2 -q:v 3 -g 25 -c:a wmav2 -b:a 128k -ac 2 -packet_size 8000 -f asf "$tmp"'
}

trap 'rm -f .tmp.$$.*' EXIT
case "$MODE" in
  default) gen_default ;;
  sample) gen_av ;;
  big) gen_big ;;
  all) gen_default; gen_big ;;
  *) echo "make-test-media: unknown mode $MODE" >&2; exit 2 ;;
esac
