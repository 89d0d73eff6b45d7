#!/usr/bin/env bash
# Interrupted runs (issue 12): SIGINT or SIGTERM leaves no partial report and no temporary file.
# 1) A long run killed before it writes: no report at all. 2) A run killed while its report is a
# temporary file (TPUSIM_TEST_WRITE_DELAY_MS holds the temporary before the rename): the signal
# handler removes it.
source "$(dirname "$0")/lib.sh"
P=$ROOT/workloads/examples/mlp2.s
no_files() {  # no_files NAME DIR: DIR holds nothing at all (hidden temporaries included)
  if [ -z "$(ls -A "$2")" ]; then ok; else bad "$1: left $(ls -A "$2" | tr '\n' ' ')"; fi
}
for sig in INT TERM; do
  d=$tmp/long-$sig; mkdir -p "$d"
  "$T" run --arch small-16 --workload gpt3-175b --phase decode --timing-only --quiet --json "$d/report.json" \
    --csv "$d/layers.csv" &
  pid=$!
  sleep 1
  if kill -0 $pid 2>/dev/null; then
    kill -$sig $pid; wait $pid; rc=$?
    if [ $rc -ne 0 ]; then ok; else bad "long-$sig: exit code 0 after the signal"; fi
    no_files "long-$sig" "$d"
  else
    wait $pid; bad "long-$sig: the run finished within 1 s (pick a longer one)"
  fi

  d=$tmp/write-$sig; mkdir -p "$d"
  TPUSIM_TEST_WRITE_DELAY_MS=5000 "$T" run --arch tiny-4 --program "$P" --mode functional --quiet \
    --json "$d/report.json" &
  pid=$!
  for _ in $(seq 50); do ls -A "$d" | grep -q tmp && break; sleep 0.1; done
  if ls -A "$d" | grep -q '\.report\.json\.tmp\.'; then ok; else bad "write-$sig: no temporary file seen"; fi
  kill -$sig $pid; wait $pid; rc=$?
  if [ $rc -ne 0 ]; then ok; else bad "write-$sig: exit code 0 after the signal"; fi
  no_files "write-$sig" "$d"
done
# Without a signal the delayed write completes (the hook only delays).
d=$tmp/nosig; mkdir -p "$d"
expect0 delayed-write -- env TPUSIM_TEST_WRITE_DELAY_MS=100 "$T" run --arch tiny-4 --program "$P" --mode functional --quiet --json "$d/report.json"
if [ "$(ls -A "$d")" = report.json ]; then ok; else bad "nosig: folder holds $(ls -A "$d")"; fi
finish
