#!/usr/bin/env bash
# Checks that the documents cited in code exist in the tree.
#
# Usage: scripts/check-doc-citations.sh [SOURCE_ROOT]
#
# The rule: a citation is a repo-relative path ending in ".md", e.g.
#   // docs/protocols/mmsp-reference.md §4.1
#   // docs/architecture.md, "The engine contract"
# The file must exist relative to the source root. Section numbers (§N, §N.M) on the same line
# after the path, before any other citation, must be headings of that file ("## 4. ..." or
# "### 4.1 ..."); a quoted title right after the path (`, "Title"`) must be a heading too.
# Scanned: protocol/ gst/ tools/ tests/ bench/ scripts/. Shell expansions such as "$DIR/x.md"
# are not citations. Exits 1 and lists every bad citation, 0 when all resolve.
set -euo pipefail

root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$root"

dirs=()
for d in protocol gst tools tests bench scripts; do
  [[ -d $d ]] && dirs+=("$d")
done

# A path token: starts with a word character not preceded by a path or expansion character,
# ends in ".md" not followed by a word character (so "x.md5" is not one).
cite_re='(?<![\w$/.{}-])[A-Za-z0-9_][\w./-]*\.md(?!\w)'

bad=0
count=0
while IFS= read -r hit; do
  src=${hit%%:*}
  rest=${hit#*:}
  lineno=${rest%%:*}
  line=${rest#*:}
  while IFS= read -r cite; do
    [[ -n $cite ]] || continue
    count=$((count + 1))
    where="$src:$lineno"
    if [[ ! -f $cite ]]; then
      echo "$where: cited file '$cite' does not exist (citations are repo-relative paths)"
      bad=$((bad + 1))
      continue
    fi
    # The text after this citation, up to the next one.
    after=${line#*"$cite"}
    after=$(grep -oP '^.*?(?=[\w./-]+\.md(?!\w)|$)' <<<"$after" | head -n 1 || true)
    title=$(grep -oP '^, "\K[^"]+(?=")' <<<"$after" || true)
    if [[ -n $title ]] && ! grep -qxE "#+ $(printf '%s' "$title" | sed 's/[][\.*^$+?(){}|/]/\\&/g')" "$cite"; then
      echo "$where: '$cite' has no section titled \"$title\""
      bad=$((bad + 1))
    fi
    while IFS= read -r sec; do
      [[ -n $sec ]] || continue
      if ! grep -qE "^#+ ${sec//./\\.}([. ]|$)" "$cite"; then
        echo "$where: '$cite' has no section $sec"
        bad=$((bad + 1))
      fi
    done < <(grep -oP '§\K[0-9]+(\.[0-9]+)*' <<<"$after" || true)
  done < <(grep -oP "$cite_re" <<<"$line" || true)
done < <(grep -rnIP "$cite_re" "${dirs[@]}" || true)

if ((bad > 0)); then
  echo "check-doc-citations: $bad bad citation(s) of $count"
  exit 1
fi
echo "check-doc-citations: $count citation(s), all resolve"
