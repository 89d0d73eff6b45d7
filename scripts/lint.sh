#!/usr/bin/env bash
# The house format and static checks (shared/STYLE.md): .clang-format and .clang-tidy at the root.
#   scripts/lint.sh             check the format of every C++ file (exit 1 naming the files off)
#   scripts/lint.sh --fix       rewrite them in the house format
#   scripts/lint.sh --tidy [FILES...]
#                               clang-tidy with .clang-tidy on FILES (default: every .cpp of sim/
#                               and models/), using build/compile_commands.json (BUILD_DIR)
# The format check is the CTest `lint: clang-format` (skipped, exit 77, without clang-format 14,
# the version the files are formatted with; scripts/install_test_tools.sh installs it). clang-tidy
# takes ~20 CPU-minutes over the whole tree and runs on demand.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# Tracked and new (not ignored) C++ files that exist in the working tree.
files() {
  git ls-files --cached --others --exclude-standard -- 'sim/*.cpp' 'sim/*.h' 'sim/*.inl' \
    'models/*.cpp' 'models/*.h' 'tests/*.cpp' 'tests/*.h' 'bench/*.cpp' 'fuzz/*.cpp' 'fuzz/*.h' \
    'python/*.cpp' |
    sort -u | while read -r f; do [ -f "$f" ] && echo "$f"; done
}
mode=${1:-check}
case "$mode" in
  --tidy)
    shift
    build=${BUILD_DIR:-$ROOT/build}
    [ -f "$build/compile_commands.json" ] || { echo "lint: no $build/compile_commands.json (scripts/build.sh)" >&2; exit 2; }
    if [ $# -eq 0 ]; then set -- $(git ls-files -- 'sim/*.cpp' 'models/*.cpp'); fi
    exec clang-tidy -p "$build" --quiet "$@"
    ;;
  --fix)
    files | while read -r f; do clang-format -i "$f"; done
    ;;
  check)
    if ! command -v clang-format >/dev/null || ! clang-format --version | grep -q ' 14\.'; then
      echo "lint: clang-format 14 not found (scripts/install_test_tools.sh): skipped"
      exit 77
    fi
    bad=0
    while read -r f; do
      if ! clang-format --assume-filename="$f" < "$f" | cmp -s - "$f"; then
        echo "lint: $f is not in the house format (scripts/lint.sh --fix)"
        bad=1
      fi
    done < <(files)
    exit $bad
    ;;
  *) echo "usage: scripts/lint.sh [--fix | --tidy [FILES...]]" >&2; exit 2 ;;
esac
