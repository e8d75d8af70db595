#!/usr/bin/env bash
# Fails when a C++ file under gst/ protocol/ tools/ tests/ bench/ differs from what
# clang-format-14 makes of it with the repo's .clang-format. The `clang_format` test of
# the `lint` suite runs it; fix a failure with `git clang-format` (changed lines) or
# `clang-format-14 -i FILE`.
#
# usage: scripts/check-format.sh [SOURCE_ROOT]
# Environment: CLANG_FORMAT (default: clang-format-14, else clang-format)
set -euo pipefail

ROOT=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$ROOT"
CF=${CLANG_FORMAT:-}
if [[ -z "$CF" ]]; then
  CF=$(command -v clang-format-14 || command -v clang-format || true)
fi
[[ -n "$CF" ]] || { echo "check-format: clang-format-14 not found (scripts/install-deps.sh installs it)" >&2; exit 1; }

dirs=(gst protocol tools tests bench)
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- "${dirs[@]}" | grep -E '\.(cpp|cc|h|hpp)$')
else
  mapfile -t files < <(find "${dirs[@]}" -type f \( -name '*.cpp' -o -name '*.cc' -o -name '*.h' -o -name '*.hpp' \) | sort)
fi
((${#files[@]})) || { echo "check-format: no C++ files found under ${dirs[*]}" >&2; exit 1; }

bad=()
for f in "${files[@]}"; do
  if ! "$CF" --style=file --dry-run -Werror "$f" >/dev/null 2>&1; then
    bad+=("$f")
  fi
done
if ((${#bad[@]})); then
  echo "check-format: ${#bad[@]} of ${#files[@]} files are not clang-formatted:" >&2
  for f in "${bad[@]}"; do
    echo "  $f" >&2
    "$CF" --style=file --dry-run "$f" 2>&1 | head -n 12 >&2 || true
  done
  exit 1
fi
echo "check-format: ${#files[@]} files formatted ($($CF --version | head -n1))"
