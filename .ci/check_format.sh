#!/usr/bin/env bash
# Fails (and lists them) when tracked C++ sources do not match the project's
# .clang-format under clang-format 14 (Debian 12). Fix with:
#   git ls-files '*.cpp' '*.hpp' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || {
  echo "clang-format is missing: apt-get install clang-format" >&2
  exit 2
}
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h')
bad=()
for f in "${files[@]}"; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "format check: ${#bad[@]} of ${#files[@]} files differ from .clang-format:"
  printf '  %s\n' "${bad[@]}"
  echo "fix: git ls-files '*.cpp' '*.hpp' | xargs clang-format -i"
  exit 1
fi
echo "format check: ${#files[@]} files match .clang-format"
