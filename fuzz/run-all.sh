#!/usr/bin/env bash
# Runs every fuzz target in turn for $SECONDS_PER_TARGET (default 600) on one core, then
# minimises each corpus. Logs go to fuzz/logs/<target>.log (not committed); the last line of
# each is libFuzzer's `Done N runs` summary. Usage: fuzz/run-all.sh [target...]
set -uo pipefail
cd "$(dirname "$0")"
seconds=${SECONDS_PER_TARGET:-600}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(scope redirect oauth_form auth_header token jwt settings)
mkdir -p logs
for t in "${targets[@]}"; do
  echo "=== $t: ${seconds}s ($(date -u +%H:%M:%S))"
  # One process, one worker (-jobs=1 would only move the same run into fuzz-0.log).
  nice -n 10 cargo +nightly fuzz run "$t" -- -max_total_time="$seconds" \
    >"logs/$t.log" 2>&1
  echo "exit $? ($(date -u +%H:%M:%S))"
  grep -E '^Done|DONE|SUMMARY|panicked' "logs/$t.log" | tail -3
done
