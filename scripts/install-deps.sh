#!/usr/bin/env bash
# Install everything needed to build gst-mms, run its test suites and the
# third-party interoperability peers (FFmpeg, libmms, VLC) on Debian 12.
#
# usage: scripts/install-deps.sh [--package]
#   --package   only what building the plugin and its Debian package needs
#               (scripts/package-deb.sh): the build tools and libraries of
#               debian/control's Build-Depends, debhelper, dpkg-dev, fakeroot
#
# Idempotent: when every package is already installed, apt is not called at
# all, so repeated runs take well under a second.  Needs root or sudo only
# when something is missing.
#
# Also creates the unprivileged user "mmstest" (VLC refuses to run as root;
# the VLC interop test runs it as this user) when running as root.
#
# Environment:
#   MMS_TEST_USER   name of the unprivileged user (default: mmstest)
#   MMS_SKIP_DEPS=1 do nothing (for machines managed some other way)
set -euo pipefail

if [[ "${MMS_SKIP_DEPS:-0}" == 1 ]]; then
  exit 0
fi

mode=all
case "${1:-}" in
  "") ;;
  --package) mode=package ;;
  *) echo "usage: $0 [--package]" >&2; exit 2 ;;
esac

BUILD_PACKAGES=(
  # build (libgstreamer1.0-dev also ships dh_gstscancodecs and gst-codec-info-1.0)
  meson ninja-build pkg-config g++
  libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev nettle-dev
  # Debian package (scripts/package-deb.sh, tests/package/deb.sh)
  build-essential debhelper dpkg-dev fakeroot
)
TEST_PACKAGES=(
  # tests
  libgtest-dev libgmock-dev python3 curl time
  # an independent NTLM implementation (client of the NTLM interop test)
  python3-ntlm-auth
  # mms-record: the progress test runs it under a pseudo-terminal (script)
  bsdutils
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  # gst-play-1.0 and gst-discoverer-1.0 (the package and mms-record tests)
  gstreamer1.0-plugins-base-apps
  # fuzzing (clang + libFuzzer runtime)
  clang-14 libclang-rt-14-dev
  # lint suite: scripts/check-format.sh and scripts/check-tidy.sh (run-clang-tidy-14)
  clang-format-14 clang-tidy-14
  # interoperability peers and media generation
  ffmpeg libmms-dev vlc-bin vlc-plugin-base tshark
  # network namespaces, veth pairs and traffic shaping for the field-network tests
  iproute2
  # gst-rtsp-server (an independent RTSP/ASF server, driven from Python)
  python3-gi gir1.2-gst-rtsp-server-1.0 gir1.2-gst-plugins-base-1.0
)
PACKAGES=("${BUILD_PACKAGES[@]}")
if [[ $mode == all ]]; then
  PACKAGES+=("${TEST_PACKAGES[@]}")
fi
TEST_USER=${MMS_TEST_USER:-mmstest}

# One dpkg-query call for all packages (fast path when nothing is missing).
declare -A installed=()
while read -r name status; do
  [[ "$status" == "install ok installed" ]] && installed[$name]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
missing=()
for p in "${PACKAGES[@]}"; do
  [[ -n "${installed[$p]:-}" ]] || missing+=("$p")
done

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "install-deps: need root or sudo to run: $*" >&2
    return 1
  fi
}

if ((${#missing[@]})); then
  echo "install-deps: installing: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  # Report packages the archive does not know about before apt fails on them.
  for p in "${missing[@]}"; do
    if ! apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [^(]'; then
      echo "install-deps: package not available from the configured archives: $p" >&2
    fi
  done
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Unprivileged user for VLC (it will not run as root).
if [[ $mode == all && $(id -u) -eq 0 ]] && ! id "$TEST_USER" >/dev/null 2>&1; then
  echo "install-deps: creating user $TEST_USER (for the VLC interop test)"
  useradd -m -s /bin/sh "$TEST_USER"
fi
exit 0
