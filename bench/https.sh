#!/usr/bin/env bash
# Benchmark: HTTPS access to an endpoint (GET /https/{endpoint_id}/{path} of a real
# `tessera serve`, release build, with a bearer token for the endpoint's https scope) against
# nginx from Debian serving the same file as a static file server (sendfile on), in the same
# run, over loopback, downloaded by curl to /dev/null.
#
#   bash bench/https.sh                       # 1 GiB file, 5 repetitions per side
#   BENCH_MIB=256 BENCH_REPS=3 bash bench/https.sh
#
# The file is incompressible (from /dev/urandom), on BENCH_DIR (default
# /var/tmp/tessera-https-bench, the disk), read once before the first run so the page cache is
# equally warm for both servers. The two servers are measured alternately (nginx, tessera,
# nginx, ...) so that load from other processes on a shared machine falls on both alike. Each
# run is one `curl -o /dev/null` of the whole file; curl's own average speed is recorded. The
# script prints every run, the median and best speed of each side, and the ratio of Tessera's
# median to nginx's (the target is >= 0.80). A ranged GET of the last MiB is checked against
# the file's bytes once. nginx is installed with apt-get (nginx-light) when missing. Both
# servers are stopped and every file removed at the end (trap).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MIB=${BENCH_MIB:-1024}
REPS=${BENCH_REPS:-5}
DIR=${BENCH_DIR:-/var/tmp/tessera-https-bench}
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d -t tessera-https-bench.XXXXXX)"
SERVER_PID=""
NGINX_PID=""
cleanup() {
    [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [[ -n "$NGINX_PID" ]] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
    rm -rf "$WORK" "$DIR"
}
trap cleanup EXIT

if ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null 2>&1; }) ||
        { echo "nginx could not be installed" >&2; exit 2; }
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
(cd "$ROOT" && cargo build --release -q -p tessera --bin tessera)
TESSERA="$TARGET_DIR/release/tessera"

rm -rf "$DIR"
mkdir -p "$DIR/files" "$WORK/data" "$WORK/nginx"
chmod 755 "$DIR" "$DIR/files"
head -c "$((MIB << 20))" /dev/urandom >"$DIR/files/big.bin"
chmod 644 "$DIR/files/big.bin"
cat "$DIR/files/big.bin" >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# nginx: one worker (as in a small default install), sendfile, no access log.
NGINX_PORT=$(free_port)
cat >"$WORK/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server { listen 127.0.0.1:$NGINX_PORT; root $DIR/files; }
}
CONF
"$NGINX" -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
NGINX_PID=$!

"$TESSERA" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
URL=""
for _ in $(seq 1 300); do
    URL=$(grep -o 'http://[0-9.:]*' "$WORK/serve.out" 2>/dev/null | head -n1 || true)
    [[ -n "$URL" ]] && curl -fs "$URL/healthz" >/dev/null 2>&1 && break
    URL=""
    sleep 0.1
done
[[ -n "$URL" ]] || { echo "tessera serve did not start" >&2; cat "$WORK/serve.err" >&2; exit 2; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
CLIENT=$("$TESSERA" admin client add --name https-bench --confidential --data-dir "$WORK/data")
ID=$(json client_id <<<"$CLIENT")
SECRET=$(json client_secret <<<"$CLIENT")
EP=$("$TESSERA" admin endpoint add --name https-bench --path "$DIR/files" --owner "$ID" \
    --data-dir "$WORK/data" | json id)
TOKEN=$(curl -fs -u "$ID:$SECRET" -d grant_type=client_credentials \
    --data-urlencode "scope=https://auth.globus.org/scopes/$EP/https" "$URL/v2/oauth2/token" | json access_token)
TESSERA_URL="$URL/https/$EP/big.bin"
NGINX_URL="http://127.0.0.1:$NGINX_PORT/big.bin"
for _ in $(seq 1 50); do curl -fs -o /dev/null -r 0-0 "$NGINX_URL" && break; sleep 0.1; done

# Correctness once: the last MiB through a Range request, and the sizes.
tail -c 1048576 "$DIR/files/big.bin" >"$WORK/tail.expected"
curl -fs -H "Authorization: Bearer $TOKEN" -r "$(((MIB << 20) - 1048576))-" -o "$WORK/tail.got" "$TESSERA_URL"
cmp -s "$WORK/tail.expected" "$WORK/tail.got" || { echo "ranged GET returned other bytes" >&2; exit 1; }

run() { # name url [auth header]; prints bytes/s
    local out
    if [[ $# -eq 3 ]]; then
        out=$(curl -fs -o /dev/null -H "$3" -w '%{size_download} %{speed_download}' "$2")
    else
        out=$(curl -fs -o /dev/null -w '%{size_download} %{speed_download}' "$2")
    fi
    local size=${out% *}
    [[ "$size" == "$((MIB << 20))" ]] || { echo "$1: got $size bytes" >&2; exit 1; }
    echo "${out#* }"
}
echo "GET of a $MIB MiB file over loopback, curl to /dev/null, $REPS runs each (MB/s = 10^6 B/s)"
NG=(); TS=()
for i in $(seq 1 "$REPS"); do
    n=$(run nginx "$NGINX_URL")
    t=$(run tessera "$TESSERA_URL" "Authorization: Bearer $TOKEN")
    NG+=("$n"); TS+=("$t")
    awk -v i="$i" -v n="$n" -v t="$t" 'BEGIN { printf "run %d: nginx %8.1f MB/s   tessera %8.1f MB/s\n", i, n / 1e6, t / 1e6 }'
done
python3 - "${NG[*]}" "${TS[*]}" <<'PY'
import statistics, sys
ng = [float(x) for x in sys.argv[1].split()]
ts = [float(x) for x in sys.argv[2].split()]
mn, mt = statistics.median(ng), statistics.median(ts)
print(f"nginx   median {mn/1e6:8.1f} MB/s  best {max(ng)/1e6:8.1f} MB/s")
print(f"tessera median {mt/1e6:8.1f} MB/s  best {max(ts)/1e6:8.1f} MB/s")
print(f"ratio tessera/nginx: median {mt/mn:.2f}  best {max(ts)/max(ng):.2f}  (target >= 0.80)")
PY
