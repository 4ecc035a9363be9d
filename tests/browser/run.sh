#!/usr/bin/env bash
# Real-browser tests of Tessera's HTML pages (headless Chromium + playwright-core).
# Usage: bash tests/browser/run.sh   (from any directory; TESSERA_BIN and CHROMIUM may be set)
# Needs the release binary (cargo build --release -p tessera) unless TESSERA_BIN points elsewhere.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

if [ -n "${TESSERA_BIN:-}" ]; then
  # Resolve a relative path against the caller's directory, before we cd.
  case $TESSERA_BIN in /*) ;; *) TESSERA_BIN=$(pwd)/$TESSERA_BIN ;; esac
else
  TESSERA_BIN=$root/target/release/tessera
fi
export TESSERA_BIN
if [ ! -x "$TESSERA_BIN" ]; then
  echo "tessera binary not found at $TESSERA_BIN (run: cargo build --release -p tessera)" >&2
  exit 1
fi

# portal.test.mjs runs the research data portal sample's release binaries (PORTAL_BIN and
# GRAPH_BIN override them); built here when missing, bounded in time.
for var in PORTAL_BIN GRAPH_BIN; do
  # Relative paths mean the caller's directory, as TESSERA_BIN.
  case ${!var:-/} in /*) ;; *) export "$var=$(pwd)/${!var}" ;; esac
done
if [ -z "${PORTAL_BIN:-}${GRAPH_BIN:-}" ] &&
  { [ ! -x "$root/target/release/tessera-example-portal" ] || [ ! -x "$root/target/release/tessera-example-graph" ]; }; then
  echo "building the portal sample (examples/portal, examples/graph)"
  (cd "$root" && timeout 1800 cargo build --release --locked -p tessera-example-portal -p tessera-example-graph)
fi

chromium_bin=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium_bin" ]; then
  if [ "$chromium_bin" = /usr/bin/chromium ]; then
    echo "installing Debian's chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "CHROMIUM=$chromium_bin is not executable" >&2
    exit 1
  fi
fi

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

cd "$root"
exec node --test tests/browser/
