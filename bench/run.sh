#!/usr/bin/env bash
# Throughput of Tessera's two hot OAuth paths against a bare axum handler, in one run.
#
#   bash bench/run.sh
#
# Knobs (environment):
#   BENCH_SECONDS          length of each measured wrk run (default 10)
#   BENCH_CONNECTIONS      wrk connections (default 32)
#   BENCH_THREADS          wrk threads (default 2)
#   BENCH_WARMUP_SECONDS   length of the warm-up run before each measurement (default 2)
#   BENCH_CHECK_STATUS=1   also count non-200 answers in Lua (slows wrk a little)
#   BENCH_ENFORCE_TARGETS=1  exit 1 if a ratio is below its target (default: only report)
#   BENCH_VERBOSE=1        print wrk's full output for every run
#   CARGO_TARGET_DIR       where the release binaries are built (default: target/)
# See bench/README.md.
set -euo pipefail

SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_THREADS:-2}"
WARMUP="${BENCH_WARMUP_SECONDS:-2}"
export BENCH_CHECK_STATUS="${BENCH_CHECK_STATUS:-0}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LUA="$ROOT/bench/form_post.lua"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
TESSERA="$TARGET_DIR/release/tessera"
BARE="$TARGET_DIR/release/bare-handler"

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

# --- cleanup: every process and directory this script creates ---------------------------
WORK="$(mktemp -d -t tessera-bench.XXXXXX)"
PIDS=()    # the servers
WRK_PID="" # the wrk run in progress, if any
cleanup() {
    local rc=$?
    for pid in "$WRK_PID" "${PIDS[@]:-}"; do
        [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true
    done
    for pid in "$WRK_PID" "${PIDS[@]:-}"; do
        [[ -n "$pid" ]] && wait "$pid" 2>/dev/null || true
    done
    # On a failure (not an interrupt), show what the servers said.
    if [[ $rc -ne 0 && $rc -ne 130 && $rc -ne 143 ]]; then
        for f in "$WORK"/*.log; do
            [[ -s "$f" ]] || continue
            printf '[bench] --- last lines of %s ---\n' "$(basename "$f")" >&2
            tail -n 20 "$f" >&2 || true
        done
    fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- tools --------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk"
    if [[ $(id -u) -eq 0 ]]; then
        apt-get update -qq && apt-get install -y -qq wrk >/dev/null
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null
    fi
fi
for tool in wrk curl python3 base64 cargo; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done

log "building (release): tessera, bare-handler"
(cd "$ROOT" && cargo build --release -q -p tessera -p tessera-bench)

# --- helpers ------------------------------------------------------------------------------
json_field() { # json_field FIELD  < json
    python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
urlencode() {
    python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}
basic() { # basic ID SECRET
    printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"
}

# start_server NAME CMD...: start in the background, wait for the "http://ADDR" line on
# stdout, then for GET /healthz == 200; sets $ADDR.
start_server() {
    local name=$1
    shift
    NO_COLOR=1 "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
    local pid=$!
    PIDS+=("$pid")
    ADDR=""
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || die "$name exited during start-up"
        ADDR="$(grep -o -m1 'http://127\.0\.0\.1:[0-9]*' "$WORK/$name.out" 2>/dev/null | head -n1 || true)"
        if [[ -n "$ADDR" ]] &&
            [[ "$(curl -s -o /dev/null -w '%{http_code}' "$ADDR/healthz" || true)" == 200 ]]; then
            ADDR="${ADDR#http://}"
            log "$name is up on $ADDR (pid $pid)"
            return 0
        fi
        sleep 0.1
    done
    die "$name did not become healthy within 30s"
}

# check_once LABEL ADDR PATH BASIC BODY: one request of the shape wrk will send; must be 200.
check_once() {
    local label=$1 addr=$2 path=$3 auth=$4 body=$5 code
    code="$(curl -s -o "$WORK/check.json" -w '%{http_code}' -X POST "http://$addr$path" \
        -H 'Content-Type: application/x-www-form-urlencoded' -H "Authorization: $auth" \
        -H 'Accept: application/json' --data-raw "$body")"
    [[ "$code" == 200 ]] || die "$label: one-off request answered $code: $(head -c 300 "$WORK/check.json")"
    log "$label: 200, $(wc -c <"$WORK/check.json") byte body"
}

# run_wrk OUT BASIC BODY WRK-ARGS...: wrk in the background and `wait` for it, so that Ctrl-C or
# SIGTERM runs the cleanup at once instead of after the run (bash defers traps until a
# foreground command ends).
run_wrk() {
    local out=$1 auth=$2 body=$3
    shift 3
    BENCH_BASIC="$auth" BENCH_BODY="$body" wrk "$@" >"$out" 2>&1 &
    WRK_PID=$!
    local rc=0
    wait "$WRK_PID" || rc=$?
    WRK_PID=""
    return $rc
}

# measure KEY ADDR PATH BASIC BODY: warm-up, then the measured run; writes $WORK/KEY.wrk.
measure() {
    local key=$1 addr=$2 path=$3 auth=$4 body=$5
    local url="http://$addr$path"
    log "$key: warm-up ${WARMUP}s"
    run_wrk "$WORK/$key.warmup" "$auth" "$body" \
        -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$LUA" "$url" ||
        die "$key: wrk warm-up failed: $(cat "$WORK/$key.warmup")"
    log "$key: measuring ${SECONDS_PER_RUN}s, $THREADS threads, $CONNECTIONS connections"
    run_wrk "$WORK/$key.wrk" "$auth" "$body" \
        -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s "$LUA" "$url" ||
        die "$key: wrk failed: $(cat "$WORK/$key.wrk")"
    if [[ "${BENCH_VERBOSE:-0}" == 1 ]]; then
        printf '\n--- wrk: %s ---\n' "$key"
        cat "$WORK/$key.wrk"
    fi
}

# Fields of a wrk --latency report.
rps() { awk '/^Requests\/sec:/ {print $2}' "$WORK/$1.wrk"; }
pct() { awk -v p="$2%" '$1 == p {print $2; exit}' "$WORK/$1.wrk"; }
total() { awk '/requests in/ {print $1; exit}' "$WORK/$1.wrk"; }
non2xx() { awk '/Non-2xx or 3xx responses:/ {print $NF; found=1} END {if (!found) print 0}' "$WORK/$1.wrk"; }
lua_non200() { awk '/^Lua non-200 responses:/ {print $NF; found=1} END {if (!found) print "-"}' "$WORK/$1.wrk"; }
sock_errors() {
    awk '/Socket errors:/ {sub(/^ *Socket errors: */, ""); print; found=1} END {if (!found) print "none"}' "$WORK/$1.wrk"
}

# --- Tessera: server and bootstrap ----------------------------------------------------------
DATA="$WORK/data"
mkdir -p "$DATA"
start_server tessera "$TESSERA" serve --listen 127.0.0.1:0 --data-dir "$DATA"
TESSERA_ADDR=$ADDR

"$TESSERA" admin client add --name portal --confidential --data-dir "$DATA" >"$WORK/portal.json" 2>>"$WORK/admin.log"
"$TESSERA" admin client add --name research-api --confidential --data-dir "$DATA" >"$WORK/research.json" 2>>"$WORK/admin.log"
PORTAL_ID="$(json_field client_id <"$WORK/portal.json")"
PORTAL_SECRET="$(json_field client_secret <"$WORK/portal.json")"
RESEARCH_ID="$(json_field client_id <"$WORK/research.json")"
RESEARCH_SECRET="$(json_field client_secret <"$WORK/research.json")"

SCOPE="$(TESSERA_AUTH_URL="http://$TESSERA_ADDR" TESSERA_CLIENT_ID="$RESEARCH_ID" \
    TESSERA_CLIENT_SECRET="$RESEARCH_SECRET" \
    "$TESSERA" scope create --suffix data --name Data --description "Data access" 2>>"$WORK/admin.log" |
    json_field scope_string)"
TOKEN="$(TESSERA_AUTH_URL="http://$TESSERA_ADDR" TESSERA_CLIENT_ID="$PORTAL_ID" \
    TESSERA_CLIENT_SECRET="$PORTAL_SECRET" \
    "$TESSERA" token get "$SCOPE" 2>>"$WORK/admin.log" | head -n1)"
[[ -n "$TOKEN" ]] || die "tessera token get printed no token"
log "bootstrapped: scope $SCOPE, portal token of ${#TOKEN} characters"

# The two request shapes, identical for both servers.
INTROSPECT_PATH=/v2/oauth2/token/introspect
INTROSPECT_AUTH="$(basic "$RESEARCH_ID" "$RESEARCH_SECRET")"
INTROSPECT_BODY="token=$(urlencode "$TOKEN")"
TOKEN_PATH=/v2/oauth2/token
TOKEN_AUTH="$(basic "$PORTAL_ID" "$PORTAL_SECRET")"
TOKEN_BODY="grant_type=client_credentials&scope=$(urlencode "$SCOPE")"

# The introspection must say active, or we would be measuring the cheap inactive answer.
check_once "tessera introspect" "$TESSERA_ADDR" "$INTROSPECT_PATH" "$INTROSPECT_AUTH" "$INTROSPECT_BODY"
python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("active") is True else 1)' \
    "$WORK/check.json" || die "tessera says the portal token is not active: $(cat "$WORK/check.json")"
check_once "tessera client_credentials" "$TESSERA_ADDR" "$TOKEN_PATH" "$TOKEN_AUTH" "$TOKEN_BODY"

# --- the bare handler -------------------------------------------------------------------------
start_server bare "$BARE" --listen 127.0.0.1:0
BARE_ADDR=$ADDR
check_once "bare introspect" "$BARE_ADDR" "$INTROSPECT_PATH" "$INTROSPECT_AUTH" "$INTROSPECT_BODY"
check_once "bare token" "$BARE_ADDR" "$TOKEN_PATH" "$TOKEN_AUTH" "$TOKEN_BODY"

# --- measurements -------------------------------------------------------------------------------
measure bare_introspect "$BARE_ADDR" "$INTROSPECT_PATH" "$INTROSPECT_AUTH" "$INTROSPECT_BODY"
measure tessera_introspect "$TESSERA_ADDR" "$INTROSPECT_PATH" "$INTROSPECT_AUTH" "$INTROSPECT_BODY"
measure bare_token "$BARE_ADDR" "$TOKEN_PATH" "$TOKEN_AUTH" "$TOKEN_BODY"
measure tessera_client_credentials "$TESSERA_ADDR" "$TOKEN_PATH" "$TOKEN_AUTH" "$TOKEN_BODY"

# Both servers must have survived the load.
for pid in "${PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || die "a server (pid $pid) died during the run"
done

# --- report -----------------------------------------------------------------------------------
printf '\nwrk -t%s -c%s -d%ss --latency, loopback, %s CPU(s); %s\n\n' \
    "$THREADS" "$CONNECTIONS" "$SECONDS_PER_RUN" "$(nproc)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
printf '%-28s %12s %10s %10s %10s %9s %10s  %s\n' \
    run requests req/s p50 p99 non-2xx lua-non200 "socket errors"
for key in bare_introspect tessera_introspect bare_token tessera_client_credentials; do
    printf '%-28s %12s %10s %10s %10s %9s %10s  %s\n' "$key" "$(total "$key")" "$(rps "$key")" \
        "$(pct "$key" 50)" "$(pct "$key" 99)" "$(non2xx "$key")" "$(lua_non200 "$key")" \
        "$(sock_errors "$key")"
done
printf '\n'

BELOW=0
ratio_line() { # ratio_line LABEL TESSERA_KEY BARE_KEY TARGET_PERCENT
    local line
    line="$(awk -v t="$(rps "$2")" -v b="$(rps "$3")" -v target="$4" -v label="$1" 'BEGIN {
        pct = (b > 0) ? 100 * t / b : 0
        verdict = (pct >= target) ? "meets target" : "BELOW target"
        printf "%s: %.0f req/s = %.1f%% of bare (%.0f req/s) (target >= %d%%): %s\n",
            label, t, pct, b, target, verdict
    }')"
    printf '%s\n' "$line"
    [[ "$line" == *"BELOW target"* ]] && BELOW=1
    return 0
}
ratio_line introspection tessera_introspect bare_introspect 50
ratio_line client_credentials tessera_client_credentials bare_token 25

FAILED=0
for key in tessera_introspect tessera_client_credentials; do
    n="$(non2xx "$key")"
    l="$(lua_non200 "$key")"
    if [[ "$n" != 0 || ("$l" != - && "$l" != 0) ]]; then
        printf '%s: %s non-2xx responses\n' "$key" "$n" >&2
        grep '^Lua first non-200' "$WORK/$key.wrk" >&2 || true
        FAILED=1
    fi
done
[[ $FAILED -eq 0 ]] || die "Tessera answered non-2xx during the benchmark"
if [[ $BELOW -ne 0 && "${BENCH_ENFORCE_TARGETS:-0}" == 1 ]]; then
    die "a ratio is below its target (BENCH_ENFORCE_TARGETS=1)"
fi
