# Shared helpers of the robustness CLI scripts (sourced). T: the tpusim binary; tmp: scratch.
set -u
T=${TPUSIM:?set TPUSIM to the tpusim binary}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect2 NAME PATTERN -- command...: exit code 2 and exactly one output line, the error naming
# what PATTERN (an extended regex) says.
expect2() {
  local name=$1 pat=$2; shift 3
  local out got
  out=$(timeout 60 "$@" 2>&1 </dev/null); got=$?
  if [ "$got" -eq 2 ] && [ "$(grep -c . <<<"$out")" -eq 1 ] && grep -qE -- "$pat" <<<"$out"; then
    ok
  else
    bad "$name (rc $got, want 2 and one line matching '$pat')"; echo "$out" | head -5
  fi
}
# expect0 NAME -- command...: exit code 0.
expect0() {
  local name=$1; shift 2
  local out got
  out=$(timeout 300 "$@" 2>&1 </dev/null); got=$?
  if [ "$got" -eq 0 ]; then ok; else bad "$name (rc $got, want 0)"; echo "$out" | tail -5; fi
}
finish() {
  echo "$(basename "$0" .sh): $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
