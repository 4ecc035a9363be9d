#!/usr/bin/env bash
# The README's first command, exactly as typed, in the root of this checkout:
#
#     cargo run --release -- serve
#
# It must build, choose the `tessera` binary by itself, listen on 127.0.0.1:8421, keep its data
# under ./tessera-data, and answer GET /healthz with 200 (and / with the front door). Then it is
# stopped (SIGTERM to its process group, SIGKILL after 10 s) and the ./tessera-data it made is
# removed. Nothing is left running, whatever way this script ends (the EXIT trap).
#
# Two things on a developer's machine would make the command as typed fail or do harm, and are
# handled without changing the command line:
# - 127.0.0.1:8421 is already taken (a server of yours): the same command runs with
#   TESSERA_LISTEN=127.0.0.1:0 (any free port) and the address it prints is checked instead;
# - ./tessera-data already exists (your data): it is left alone, and the command runs with
#   TESSERA_DATA_DIR pointing at a temporary directory, which is removed afterwards.
# Each is announced on a line of its own. README_RUN_TIMEOUT (seconds, default 1800) bounds the
# wait, which includes the release build on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
timeout_s=${README_RUN_TIMEOUT:-1800}
log=$(mktemp -t tessera-readme-run.XXXXXX)

# Nothing from the caller's environment may change what the command does.
while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(TESSERA_[A-Za-z0-9_]*\)=.*/\1/p')

address=127.0.0.1:8421
if (exec 3<>/dev/tcp/127.0.0.1/8421) 2>/dev/null; then
  echo "readme-run: 127.0.0.1:8421 is taken by another process; running the same command with TESSERA_LISTEN=127.0.0.1:0"
  export TESSERA_LISTEN=127.0.0.1:0
  address=
fi
made_data_dir=
if [ -e tessera-data ]; then
  TESSERA_DATA_DIR=$(mktemp -d -t tessera-readme-data.XXXXXX)
  export TESSERA_DATA_DIR
  echo "readme-run: ./tessera-data exists and is left alone; running with TESSERA_DATA_DIR=$TESSERA_DATA_DIR"
  made_data_dir=$TESSERA_DATA_DIR
else
  made_data_dir=$root/tessera-data
fi

pid=
cleanup() {
  local status=$?
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "readme-run: the server ignored SIGTERM for 10 s; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || true
      status=1
    fi
    wait "$pid" 2>/dev/null || true
  fi
  [ -n "$made_data_dir" ] && rm -rf -- "$made_data_dir"
  rm -f -- "$log"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Its own session and process group (cargo execs the binary, but a build may still be running):
# the whole group is stopped at the end.
setsid cargo run --release -- serve >"$log" 2>&1 </dev/null &
pid=$!

deadline=$((SECONDS + timeout_s))
until [ -n "$address" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$address/healthz")" = 200 ]; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "readme-run: 'cargo run --release -- serve' exited before /healthz answered:"
    tail -n 40 "$log"
    exit 1
  fi
  if [ $SECONDS -ge $deadline ]; then
    echo "readme-run: /healthz did not answer 200 within ${timeout_s}s:"
    tail -n 40 "$log"
    exit 1
  fi
  if [ -z "$address" ]; then
    address=$(sed -n 's|^Tessera is listening on http://\([^ ]*\).*|\1|p' "$log" | head -n1)
  fi
  sleep 0.5
done

front=$(curl -s -D - -o /dev/null --max-time 5 "http://$address/")
case "$front" in
  *" 200"*[Cc]ontent-[Tt]ype:\ text/html*) ;;
  *) echo "readme-run: GET / is not the HTML front door:"; echo "$front"; exit 1 ;;
esac
[ -f "$made_data_dir/tessera.db" ] || { echo "readme-run: no database at $made_data_dir/tessera.db"; exit 1; }
echo "readme-run: 'cargo run --release -- serve' serves http://$address (GET /healthz 200, / the front door); stopping it"
