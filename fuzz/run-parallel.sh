#!/usr/bin/env bash
# Like run-all.sh, but every target at once (one process each), for when wall-clock time is
# shorter than cores: used for the measured session in README.md.
set -uo pipefail
cd "$(dirname "$0")"
seconds=${SECONDS_PER_TARGET:-600}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(scope redirect oauth_form auth_header token jwt settings)
mkdir -p logs
for t in "${targets[@]}"; do
  nice -n 10 cargo +nightly fuzz run "$t" -- -max_total_time="$seconds" >"logs/$t.log" 2>&1 &
done
wait
for t in "${targets[@]}"; do
  echo "=== $t"; grep -E '^Done|DONE|SUMMARY|panicked' "logs/$t.log" | tail -3
done
