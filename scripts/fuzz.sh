#!/usr/bin/env bash
# Runs every libFuzzer target of fuzz/ for SECONDS each (default 60) with the seed corpus of
# fuzz/corpus/<target>/, in build-fuzz/ (clang, ASan+UBSan, -DTPUSIM_FUZZ=ON; RTL off).
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Each target's crash, leak, timeout or out-of-memory input is copied to
# tests/fuzz_regressions/<target>/ (replayed by the CTest robust:fuzz_replay once fixed), and a
# summary line per target (executions, new corpus size, findings) goes to stdout and to
# build-fuzz/fuzz-summary.md. Grown corpora stay in build-fuzz/corpus/<target>/ (not committed).
# FUZZ_REPORT=FILE also appends the run (date, commit, machine, clang, the table) to FILE, e.g.
# results/fuzz/DATE.md, so that repeated runs of single targets add up in one record.
# Two target lists can run at once (one core each): build once, then start the second with
# FUZZ_SKIP_BUILD=1 and its own FUZZ_SUMMARY=FILE (default build-fuzz/fuzz-summary.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_PER_TARGET=${1:-60}
shift || true
BUILD=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
ALL="arch_yaml workload_yaml sweep_spec scalesim_csv assembly binary_program serve_csv device_yaml lowering"
TARGETS=${*:-$ALL}
if [ "${FUZZ_SKIP_BUILD:-0}" = 0 ]; then
  "$ROOT/scripts/install_fuzz_tools.sh"
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTPUSIM_RTL=OFF \
    -DTPUSIM_FUZZ=ON -DTPUSIM_SANITIZE=ON -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link >/dev/null
  cmake --build "$BUILD" -j "${JOBS:-$(nproc)}" --target $(for t in $TARGETS; do echo fuzz_$t; done)
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TPUSIM_HOME=$ROOT
summary=${FUZZ_SUMMARY:-$BUILD/fuzz-summary.md}
{
  echo "### Run of $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"
  echo
  echo "$(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(clang++ --version | head -1), $SECONDS_PER_TARGET s per target"
  echo
} > "$summary"
echo "| target | seconds run | executions | exec/s | corpus | findings |" >> "$summary"
echo "| --- | --- | --- | --- | --- | --- |" >> "$summary"
status=0
for t in $TARGETS; do
  corpus=$BUILD/corpus/$t; art=$BUILD/artifacts/$t/
  rm -rf "$art"
  mkdir -p "$corpus" "$art"
  log=$BUILD/fuzz-$t.log
  # -rss_limit_mb: an input that makes a parser allocate gigabytes is a finding (absurd sizes
  # must be refused before allocating). -timeout: one input may not take more than 10 s.
  start=$(date +%s)
  set +e
  "$BUILD/fuzz/fuzz_$t" "$corpus" "$ROOT/fuzz/corpus/$t" -max_total_time="$SECONDS_PER_TARGET" \
    -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 -artifact_prefix="$art" >"$log" 2>&1
  rc=$?
  set -e
  elapsed=$(( $(date +%s) - start ))  # less than SECONDS when a finding stopped the run
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  found=$(ls "$art" | wc -l)
  if [ "$found" -gt 0 ]; then
    mkdir -p "$ROOT/tests/fuzz_regressions/$t"
    cp "$art"/* "$ROOT/tests/fuzz_regressions/$t/"
    status=1
  fi
  line="| $t | $elapsed | ${execs:-0} | ${rate:-0} | $(ls "$corpus" | wc -l) | $found (exit $rc) |"
  echo "$line" | tee -a "$summary"
done
if [ -n "${FUZZ_REPORT:-}" ]; then
  { echo; cat "$summary"; } >> "$FUZZ_REPORT"
fi
echo "summary: $summary"
exit $status
