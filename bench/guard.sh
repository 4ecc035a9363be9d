#!/usr/bin/env bash
# Throughput of a service protected by tessera-guard (cache hits) against the same service's
# unguarded route, in one run. Target: >= 80% (issue "tessera-guard").
#
#   bash bench/guard.sh          # BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 32)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${BENCH_SECONDS:-10}"
CONNS="${BENCH_CONNECTIONS:-32}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d -t tessera-guard-bench.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
(cd "$ROOT" && cargo build --release -q -p tessera -p tessera-guard --example graph_service)
TESSERA="$TARGET_DIR/release/tessera"
EXAMPLE="$TARGET_DIR/release/examples/graph_service"

# Starts a server whose first stdout line names its URL; prints the URL.
start() {
    local log="$1"; shift
    "$@" >"$log.out" 2>"$log.err" &
    PIDS+=($!)
    for _ in $(seq 1 100); do
        local url; url=$(grep -o 'http://[0-9.:]*' "$log.out" 2>/dev/null | head -n1 || true)
        [[ -n "$url" ]] && { echo "$url"; return; }
        sleep 0.1
    done
    echo "could not start $*" >&2; cat "$log.err" >&2; exit 1
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

AUTH=$(start "$WORK/tessera" "$TESSERA" serve --listen 127.0.0.1:0 --data-dir "$WORK/data")
until curl -fs "$AUTH/healthz" >/dev/null; do sleep 0.1; done
GRAPH=$("$TESSERA" admin client add --name graph --confidential --data-dir "$WORK/data")
PORTAL=$("$TESSERA" admin client add --name portal --confidential --data-dir "$WORK/data")
GID=$(json client_id <<<"$GRAPH"); GSEC=$(json client_secret <<<"$GRAPH")
PID_=$(json client_id <<<"$PORTAL"); PSEC=$(json client_secret <<<"$PORTAL")
SCOPE=$(TESSERA_AUTH_URL=$AUTH TESSERA_CLIENT_ID=$GID TESSERA_CLIENT_SECRET=$GSEC \
    "$TESSERA" scope create --suffix all --name Graph --description "Query the graph" | json scope_string)
TOKEN=$(TESSERA_AUTH_URL=$AUTH TESSERA_CLIENT_ID=$PID_ TESSERA_CLIENT_SECRET=$PSEC "$TESSERA" token get "$SCOPE")

SERVICE=$(TESSERA_AUTH_URL=$AUTH TESSERA_CLIENT_ID=$GID TESSERA_CLIENT_SECRET=$GSEC GRAPH_SCOPE=$SCOPE \
    start "$WORK/graph" "$EXAMPLE" 127.0.0.1:0)
curl -fs -H "Authorization: Bearer $TOKEN" "$SERVICE/graph" >/dev/null || { echo "the guarded route refused the token" >&2; exit 1; }

measure() { # name, path, extra wrk args...
    local name="$1" path="$2"; shift 2
    wrk -t2 -c"$CONNS" -d2s "$@" "$SERVICE$path" >/dev/null
    wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$@" "$SERVICE$path" >"$WORK/$name.wrk"
    if grep -q "Non-2xx" "$WORK/$name.wrk"; then echo "$name: non-2xx answers" >&2; cat "$WORK/$name.wrk" >&2; exit 1; fi
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/$name.wrk")
    p50=$(awk '$1=="50%" {print $2}' "$WORK/$name.wrk"); p99=$(awk '$1=="99%" {print $2}' "$WORK/$name.wrk")
    printf '%-22s %12s req/s   p50 %-9s p99 %s\n' "$name" "$rps" "$p50" "$p99" >&2
    echo "$rps"
}
echo "wrk -t2 -c$CONNS -d${SECS}s, loopback, $(nproc) CPU(s), $(date -u +%FT%TZ)" >&2
OPEN=$(measure open /open)
GUARDED=$(measure guarded_cache_hit /graph -H "Authorization: Bearer $TOKEN")
python3 - "$OPEN" "$GUARDED" <<'PY'
import sys
o, g = float(sys.argv[1]), float(sys.argv[2])
r = 100 * g / o
print(f"guard (cache hit): {g:.0f} req/s = {r:.1f}% of the unguarded route ({o:.0f} req/s) (target >= 80%): {'meets target' if r >= 80 else 'BELOW target'}")
PY
