#!/usr/bin/env bash
# Key rotation under load, as a benchmark figure (issue 5: "0 failed validations"): signing keys
# rotate every BENCH_ROTATION_INTERVAL seconds while workers get JWT access tokens and ID tokens
# without pause and validate every one at once, as a resource server (tessera-guard), the Globus
# SDK (keys[0]) and a kid-matching OIDC client would. Exits non-zero if any validation failed or
# fewer than 2 rotations happened under load.
#
#   bash bench/rotation.sh                 # ~4 minutes after the build
#   BENCH_ROTATION_SECONDS=130 bash bench/rotation.sh
#
# One deployment on SQLite, and, when PostgreSQL is reachable (BENCH_POSTGRES_URL), a second one
# of two nodes on a fresh PostgreSQL database at the same time: tokens come from both nodes in
# turn, and the JWKS is read through a round-robin public URL, so one node's rotation must be
# published by the other before it signs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${BENCH_ROTATION_SECONDS:-200}"
INTERVAL="${BENCH_ROTATION_INTERVAL:-60}"
WORKERS="${BENCH_ROTATION_WORKERS:-4}"
ID_WORKERS="${BENCH_ROTATION_ID_WORKERS:-1}"
MIN_KIDS="${BENCH_ROTATION_MIN_KIDS:-3}"
CLUSTER="${BENCH_ROTATION_CLUSTER:-auto}"
PG_ADMIN_URL="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# PostgreSQL nodes must share a master key (and the admin commands need it too).
export TESSERA_MASTER_KEY="${TESSERA_MASTER_KEY:-$(head -c 32 /dev/urandom | base64)}"
PASSWORD="rotation bench password $RANDOM$RANDOM"
REDIRECT_URI="https://portal.example.org/callback"
WORK="$(mktemp -d -t tessera-rotation-bench.XXXXXX)"
PIDS=()
PG_DB=""
cleanup() {
    for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [[ -n "$PG_DB" ]]; then
        psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "rotation.sh: $*" >&2; exit 2; }
for tool in cargo curl python3 base64; do command -v "$tool" >/dev/null || die "$tool is required"; done
case "$CLUSTER" in
    0) ;;
    1) psql -q "$PG_ADMIN_URL" -c 'SELECT 1' >/dev/null 2>&1 || die "PostgreSQL is not reachable at $PG_ADMIN_URL" ;;
    auto) if ! command -v psql >/dev/null || ! psql -q "$PG_ADMIN_URL" -c 'SELECT 1' >/dev/null 2>&1; then
              echo "notice: PostgreSQL is not reachable at $PG_ADMIN_URL; the two-node run is skipped" >&2
              CLUSTER=0
          fi ;;
    *) die "BENCH_ROTATION_CLUSTER must be auto, 0 or 1" ;;
esac

# Target flags select targets: the binary and the example need a build each.
(cd "$ROOT" && cargo build --release -q -p tessera && cargo build --release -q -p tessera-guard --example rotation_load)
TESSERA="$TARGET_DIR/release/tessera"
DRIVER="$TARGET_DIR/release/examples/rotation_load"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

# start LOG ARGS...: starts a server whose first stdout line names its URL, sets STARTED to the
# URL. Not in a subshell: PIDS must keep the process for the cleanup.
start() {
    local log="$1"; shift
    "$@" >"$log.out" 2>"$log.err" &
    PIDS+=($!)
    for _ in $(seq 1 300); do
        STARTED=$(grep -o 'http://[0-9.:]*' "$log.out" 2>/dev/null | head -n1 || true)
        if [[ -n "$STARTED" ]] && curl -fs "$STARTED/healthz" >/dev/null; then
            return
        fi
        sleep 0.1
    done
    echo "could not start $*" >&2; cat "$log.err" >&2; exit 2
}

# deploy NAME NODE_COUNT STORE_ARGS...: starts the nodes, registers the resource server, the
# client and the user, and writes the driver's environment to $WORK/NAME.env.
deploy() {
    local name="$1" count="$2"; shift 2
    local port nodes=() i
    port=$(free_port)
    for ((i = 0; i < count; i++)); do
        start "$WORK/$name-$i" "$TESSERA" serve --listen 127.0.0.1:0 "$@" \
            --public-url "http://127.0.0.1:$port" --key-rotation-interval "$INTERVAL" --log-format json
        nodes+=("$STARTED")
    done
    local rs portal rs_id rs_secret scope
    rs=$("$TESSERA" admin client add --name rotation-api --confidential --access-token-format jwt "$@")
    portal=$("$TESSERA" admin client add --name rotation-portal --confidential --redirect-uri "$REDIRECT_URI" "$@")
    echo "$PASSWORD" | "$TESSERA" admin user add alice@example.org --password-stdin --name Alice "$@" >/dev/null
    rs_id=$(json client_id <<<"$rs"); rs_secret=$(json client_secret <<<"$rs")
    scope=$(TESSERA_AUTH_URL=${nodes[0]} TESSERA_CLIENT_ID=$rs_id TESSERA_CLIENT_SECRET=$rs_secret \
        "$TESSERA" scope create --suffix data --name Data --description "Read research data" | json scope_string)
    local env="$WORK/$name.env"
    : >"$env"
    # name=value, quoted for the shell that reads it back.
    put() { printf '%s=%q\n' "$1" "$2" >>"$env"; }
    put ROTATION_NAME "$name"
    put ROTATION_NODES "$(IFS=,; echo "${nodes[*]}")"
    put ROTATION_PUBLIC_LISTEN "127.0.0.1:$port"
    put ROTATION_RS_ID "$rs_id"
    put ROTATION_RS_SECRET "$rs_secret"
    put ROTATION_CLIENT_ID "$(json client_id <<<"$portal")"
    put ROTATION_CLIENT_SECRET "$(json client_secret <<<"$portal")"
    put ROTATION_SCOPE "$scope"
    put ROTATION_USERNAME alice@example.org
    put ROTATION_PASSWORD "$PASSWORD"
    put ROTATION_REDIRECT_URI "$REDIRECT_URI"
    put ROTATION_SECONDS "$SECS"
    put ROTATION_WORKERS "$WORKERS"
    put ROTATION_ID_WORKERS "$ID_WORKERS"
    put ROTATION_MIN_KIDS "$MIN_KIDS"
    echo "$name: ${nodes[*]} behind http://127.0.0.1:$port, keys rotating every $INTERVAL s" >&2
}

NAMES=(sqlite)
STORES=("--data-dir $WORK/data")
deploy sqlite 1 --data-dir "$WORK/data"
if [[ "$CLUSTER" != 0 ]]; then
    PG_DB="tessera_rotation_$(date +%s)_$$"
    psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE $PG_DB" >/dev/null
    PG_URL="${PG_ADMIN_URL%/*}/$PG_DB"
    deploy postgres 2 --database-url "$PG_URL"
    NAMES+=(postgres)
    STORES+=("--database-url $PG_URL")
fi

echo "rotation under load: ${SECS} s, keys every ${INTERVAL} s, $WORKERS access-token + $ID_WORKERS ID-token workers per deployment, loopback, $(nproc) CPU(s), $(date -u +%FT%TZ)" >&2
DRIVERS=()
RUN_START=$(date +%s)
for name in "${NAMES[@]}"; do
    (set -a; . "$WORK/$name.env"; exec "$DRIVER") >"$WORK/$name.summary" &
    DRIVERS+=($!)
    PIDS+=($!)
done
STATUS=0
for i in "${!NAMES[@]}"; do
    wait "${DRIVERS[$i]}" || STATUS=1
done

for i in "${!NAMES[@]}"; do
    name="${NAMES[$i]}"
    cat "$WORK/$name.summary"
    echo "  tessera admin keys list:"
    # shellcheck disable=SC2086 # the store arguments are words
    "$TESSERA" admin keys list ${STORES[$i]} | python3 -c '
import json, sys
start = int(sys.argv[1])
for k in json.load(sys.stdin)["keys"]:
    print("    %s  %-6s %-8s activates at %+5d s of the run" % (k["kid"], k["algorithm"], k["state"], k["activates_at"] - start))
' "$RUN_START"
    echo "  keys added (from the nodes' logs):"
    for err in "$WORK/$name"-*.err; do
        node=${err%.err}; node=${node##*-}
        python3 -c '
import json, sys
start, node = int(sys.argv[1]), sys.argv[2]
for line in open(sys.argv[3]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    f = e.get("fields", {})
    if f.get("event") == "signing_key_added":
        print("    node %s added %s (%s), to sign from %+d s of the run" % (node, f.get("kid"), f.get("algorithm"), int(f.get("activates_at", 0)) - start))
' "$RUN_START" "$node" "$err"
    done
done
if [[ "$STATUS" == 0 ]]; then echo "rotation.sh: PASS"; else echo "rotation.sh: FAIL"; fi
exit "$STATUS"
