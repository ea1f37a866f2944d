#!/usr/bin/env bash
# Portal benchmarks: fleet page server time with 10,000 WorkSpaces in the embedded emulator
# (pages read the inventory), detail server-function throughput at 64 connections, and the
# release WASM size. With 100,000 WorkSpaces and a bare handler beside: server/bench/inventory.sh.
# Usage: server/bench/run.sh   (after scripts/run or `cargo leptos build --release --split`)
set -euo pipefail
cd "$(dirname "$0")/../.."
BENCH=server/bench
BIN=target/release/workspaces-portal
[ -x "$BIN" ] || { echo "build first: cargo leptos build --release --split" >&2; exit 1; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
PORT=3099
URL=http://127.0.0.1:$PORT

# Its own database, with one operator whose session every request carries.
DATA=$(mktemp -d)
export DATABASE_URL="sqlite://$DATA/portal.db" PORTAL_AUDIT_KEY_FILE="$DATA/audit.key"
echo "benchmark password" | $BIN user add --name bench --role operator 2>/dev/null

run_portal() {
  RUST_LOG=warn $BIN --listen 127.0.0.1:$PORT --emulator-seed-workspaces 10000 --inventory-max-calls-per-sec 1000 &
  PID=$!
  for _ in $(seq 1 100); do curl -sf $URL/healthz >/dev/null && break; sleep 0.1; done
  COOKIE=$(curl -s -D - -o /dev/null -X POST $URL/api/auth/sign-in -d name=bench -d 'password=benchmark password' \
    | sed -n 's/^set-cookie: \(portal_session=[^;]*\).*/\1/ip')
  export COOKIE
}
trap 'kill ${PID:-} 2>/dev/null || true; rm -rf "$DATA"' EXIT

echo "== 10,000 WorkSpaces, from the inventory"
run_portal
# Measured once the first sweep is complete.
until curl -s -X POST -H "Cookie: $COOKIE" $URL/api/workspaces/summary | grep -q '"completed_sweeps":[1-9]'; do sleep 0.5; done
echo "-- fleet list, first page of 50 (server function), 4 connections"
BODY='' wrk -t1 -c4 -d15s -s $BENCH/request.lua $URL/api/workspaces/list | tail -1
echo "-- fleet list, filtered (state=STOPPED, user contains 'user00', sorted by user), 4 connections"
BODY='query[state]=STOPPED&query[user]=user00&query[sort]=user' wrk -t1 -c4 -d15s -s $BENCH/request.lua $URL/api/workspaces/list | tail -1
echo "-- fleet page rendered on the server (GET /workspaces), 4 connections"
METHOD=GET wrk -t1 -c4 -d15s -s $BENCH/request.lua $URL/workspaces | tail -1

echo "== WorkSpace detail (server function, from the inventory), 64 connections"
ID=$(curl -s -X POST -H "Cookie: $COOKIE" $URL/api/workspaces/list -d 'query[per_page]=25' | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
BODY="id=$ID" wrk -t2 -c64 -d15s -s $BENCH/request.lua $URL/api/workspaces/get | tail -1
kill $PID; wait $PID 2>/dev/null || true

echo "== release WASM (split by route: the main module, then what each page adds)"
python3 $BENCH/wasm_size.py
