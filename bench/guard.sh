#!/usr/bin/env bash
# Throughput of a service protected by tessera-guard against the same service's unguarded route,
# in one run: an opaque token answered from the guard's introspection cache (target >= 80%,
# issue "tessera-guard"), and a JWT access token validated offline (signature check per request).
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
# Target flags select targets: the binary and the example need a build each.
(cd "$ROOT" && cargo build --release -q -p tessera && cargo build --release -q -p tessera-guard --example graph_service)
TESSERA="$TARGET_DIR/release/tessera"
EXAMPLE="$TARGET_DIR/release/examples/graph_service"

# Starts a server whose first stdout line names its URL; sets STARTED to the URL. Not in a
# subshell ($(start …)): PIDS must keep the process, or the cleanup leaves it running.
start() {
    local log="$1"; shift
    "$@" >"$log.out" 2>"$log.err" &
    PIDS+=($!)
    for _ in $(seq 1 100); do
        STARTED=$(grep -o 'http://[0-9.:]*' "$log.out" 2>/dev/null | head -n1 || true)
        [[ -n "$STARTED" ]] && return
        sleep 0.1
    done
    echo "could not start $*" >&2; cat "$log.err" >&2; exit 1
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

start "$WORK/tessera" "$TESSERA" serve --listen 127.0.0.1:0 --data-dir "$WORK/data"
AUTH=$STARTED
until curl -fs "$AUTH/healthz" >/dev/null; do sleep 0.1; done
GRAPH=$("$TESSERA" admin client add --name graph --confidential --data-dir "$WORK/data")
PORTAL=$("$TESSERA" admin client add --name portal --confidential --data-dir "$WORK/data")
GID=$(json client_id <<<"$GRAPH"); GSEC=$(json client_secret <<<"$GRAPH")
PID_=$(json client_id <<<"$PORTAL"); PSEC=$(json client_secret <<<"$PORTAL")
SCOPE=$(TESSERA_AUTH_URL=$AUTH TESSERA_CLIENT_ID=$GID TESSERA_CLIENT_SECRET=$GSEC \
    "$TESSERA" scope create --suffix all --name Graph --description "Query the graph" | json scope_string)
TOKEN=$(TESSERA_AUTH_URL=$AUTH TESSERA_CLIENT_ID=$PID_ TESSERA_CLIENT_SECRET=$PSEC "$TESSERA" token get "$SCOPE")
# A second resource server that chose JWT access tokens, served by a second graph process.
JGRAPH=$("$TESSERA" admin client add --name graph-jwt --confidential --access-token-format jwt --data-dir "$WORK/data")
JGID=$(json client_id <<<"$JGRAPH"); JGSEC=$(json client_secret <<<"$JGRAPH")
JSCOPE=$(TESSERA_AUTH_URL=$AUTH TESSERA_CLIENT_ID=$JGID TESSERA_CLIENT_SECRET=$JGSEC \
    "$TESSERA" scope create --suffix all --name GraphJwt --description "Query the graph (JWT)" | json scope_string)
JWT=$(TESSERA_AUTH_URL=$AUTH TESSERA_CLIENT_ID=$PID_ TESSERA_CLIENT_SECRET=$PSEC "$TESSERA" token get "$JSCOPE")
[[ "$JWT" == *.*.* ]] || { echo "the JWT resource server got no JWT: $JWT" >&2; exit 1; }

TESSERA_AUTH_URL=$AUTH TESSERA_CLIENT_ID=$GID TESSERA_CLIENT_SECRET=$GSEC GRAPH_SCOPE=$SCOPE \
    start "$WORK/graph" "$EXAMPLE" 127.0.0.1:0
SERVICE=$STARTED
curl -fs -H "Authorization: Bearer $TOKEN" "$SERVICE/graph" >/dev/null || { echo "the guarded route refused the token" >&2; exit 1; }
TESSERA_AUTH_URL=$AUTH TESSERA_CLIENT_ID=$JGID TESSERA_CLIENT_SECRET=$JGSEC GRAPH_SCOPE=$JSCOPE \
    start "$WORK/graph-jwt" "$EXAMPLE" 127.0.0.1:0
JSERVICE=$STARTED
curl -fs -H "Authorization: Bearer $JWT" "$JSERVICE/graph" >/dev/null || { echo "the guarded route refused the JWT" >&2; exit 1; }

measure() { # name, url, extra wrk args...
    local name="$1" url="$2"; shift 2
    wrk -t2 -c"$CONNS" -d2s "$@" "$url" >/dev/null
    wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$@" "$url" >"$WORK/$name.wrk"
    if grep -q "Non-2xx" "$WORK/$name.wrk"; then echo "$name: non-2xx answers" >&2; cat "$WORK/$name.wrk" >&2; exit 1; fi
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/$name.wrk")
    p50=$(awk '$1=="50%" {print $2}' "$WORK/$name.wrk"); p99=$(awk '$1=="99%" {print $2}' "$WORK/$name.wrk")
    printf '%-22s %12s req/s   p50 %-9s p99 %s\n' "$name" "$rps" "$p50" "$p99" >&2
    echo "$rps"
}
echo "wrk -t2 -c$CONNS -d${SECS}s, loopback, $(nproc) CPU(s), $(date -u +%FT%TZ)" >&2
OPEN=$(measure open "$SERVICE/open")
GUARDED=$(measure guarded_cache_hit "$SERVICE/graph" -H "Authorization: Bearer $TOKEN")
JOPEN=$(measure open_jwt_process "$JSERVICE/open")
JGUARDED=$(measure guarded_jwt "$JSERVICE/graph" -H "Authorization: Bearer $JWT")
python3 - "$OPEN" "$GUARDED" "$JOPEN" "$JGUARDED" <<'PY'
import sys
o, g, jo, j = map(float, sys.argv[1:5])
r = 100 * g / o
print(f"guard (opaque, cache hit): {g:.0f} req/s = {r:.1f}% of the unguarded route ({o:.0f} req/s) (target >= 80%): {'meets target' if r >= 80 else 'BELOW target'}")
rj = 100 * j / jo
print(f"guard (JWT, validated per request): {j:.0f} req/s = {rj:.1f}% of the unguarded route ({jo:.0f} req/s)")
PY
