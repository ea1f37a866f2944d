#!/usr/bin/env bash
# Inventory benchmark: a standalone emulator with 100,000 WorkSpaces, the release portal against
# it (as against AWS), its first full sweep (time, calls, peak memory), then wrk at 64
# connections, signed in, on the fleet's first page, a filtered and sorted page and the page
# rendered on the server — beside a bare axum handler answering the same 50 rows, in the same run.
# Usage: server/bench/inventory.sh   (WORKSPACES=… DURATION=… to change; results: docs/benchmarks.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
WORKSPACES=${WORKSPACES:-100000}
DURATION=${DURATION:-20s}
CONNECTIONS=64
BENCH=server/bench
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/release/workspaces-portal
[ -x "$BIN" ] || { echo "build first: cargo leptos build --release --split" >&2; exit 1; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
# The standalone emulator, and the bare handler beside it (emulator/examples/bare_rows.rs).
cargo build --quiet --release --locked -p emulator --bin workspaces-emulator --example bare_rows

DATA=$(mktemp -d)
cleanup() { kill "${EMU_PID:-}" "${PID:-}" "${BARE_PID:-}" 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT
wait_for() { for _ in $(seq 1 600); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

"$TARGET/release/workspaces-emulator" --listen 127.0.0.1:4577 --seed-workspaces "$WORKSPACES" --transition-delay-ms 3000 \
  > "$DATA/emulator.log" 2>&1 &
EMU_PID=$!
wait_for http://127.0.0.1:4577/_emulator/health

export DATABASE_URL="sqlite://$DATA/portal.db" PORTAL_AUDIT_KEY_FILE="$DATA/audit.key"
export AWS_ENDPOINT_URL_WORKSPACES=http://127.0.0.1:4577 AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench-secret
echo "benchmark password" | "$BIN" user add --name bench --role operator >/dev/null 2>&1
URL=http://127.0.0.1:3098
# No second sweep during the measurements; the sync as fast as the emulator answers.
RUST_LOG=warn,app::fleet=info "$BIN" --workspaces aws --listen 127.0.0.1:3098 --inventory-sweep-secs 3600 \
  --inventory-max-calls-per-sec 10000 > "$DATA/portal.log" 2>&1 &
PID=$!
START=$(date +%s.%N)
wait_for $URL/healthz
COOKIE=$(curl -s -D - -o /dev/null -X POST $URL/api/auth/sign-in -d name=bench -d 'password=benchmark password' \
  | sed -n 's/^set-cookie: \(portal_session=[^;]*\).*/\1/ip')
export COOKIE
# The sync's health, as the fleet page shows it (a page of one row).
sync_health() { curl -s -X POST -H "Cookie: $COOKIE" $URL/api/workspaces/list -d 'query[per_page]=25'; }

echo "== the first sweep of $WORKSPACES WorkSpaces (DescribeWorkspaces, 25 per call)"
until [ "$(sync_health | json 'd["sync"]["completed_sweeps"]')" -ge 1 ]; do sleep 0.5; done
SWEPT=$(date +%s.%N)
sync_health | json '"sweep: %s ms, %s calls, %s WorkSpaces" % (d["sync"]["last_sweep_ms"], d["sync"]["last_sweep_calls"], d["fleet_size"])'
echo "peak memory of the portal after the sweep: $(awk '/VmHWM/ { printf "%.0f MB", $2 / 1024 }' /proc/$PID/status)"
echo "== their tags and connection statuses (DescribeWorkspacesConnectionStatus 25 per call, DescribeTags 1 per call)"
until [ "$(sync_health | json 'd["sync"]["details_due"]')" -eq 0 ]; do sleep 1; done
DONE=$(date +%s.%N)
printf 'sweep %.1f s after start; tags and connection statuses %.1f s after the sweep\n' \
  "$(echo "$SWEPT - $START" | bc)" "$(echo "$DONE - $SWEPT" | bc)"
echo "peak memory of the portal: $(awk '/VmHWM/ { printf "%.0f MB", $2 / 1024 }' /proc/$PID/status)"

echo "== wrk, $CONNECTIONS connections, $DURATION each, signed in as an operator"
FILTERED='query[state]=STOPPED&query[user]=user00&query[sort]=user'
echo "-- portal: first page of 50 (POST /api/workspaces/list), 4 connections"
BODY='' wrk -t1 -c4 -d"$DURATION" -s $BENCH/request.lua $URL/api/workspaces/list | tail -1
echo "-- portal: first page of 50 (POST /api/workspaces/list)"
BODY='' wrk -t2 -c$CONNECTIONS -d"$DURATION" -s $BENCH/request.lua $URL/api/workspaces/list | tail -1
echo "-- portal: filtered and sorted ($FILTERED)"
BODY="$FILTERED" wrk -t2 -c$CONNECTIONS -d"$DURATION" -s $BENCH/request.lua $URL/api/workspaces/list | tail -1
echo "-- portal: the page rendered on the server (GET /workspaces)"
METHOD=GET wrk -t2 -c$CONNECTIONS -d"$DURATION" -s $BENCH/request.lua $URL/workspaces | tail -1
echo "-- portal: a WorkSpace's page (POST /api/workspaces/get)"
ID=$(curl -s -X POST -H "Cookie: $COOKIE" $URL/api/workspaces/list | json 'd["items"][0]["id"]')
BODY="id=$ID" wrk -t2 -c$CONNECTIONS -d"$DURATION" -s $BENCH/request.lua $URL/api/workspaces/get | tail -1
curl -s -X POST -H "Cookie: $COOKIE" $URL/api/workspaces/list > "$DATA/page.json"
kill $PID; wait $PID 2>/dev/null || true; PID=

"$TARGET/release/examples/bare_rows" 127.0.0.1:3097 "$DATA/page.json" 2>/dev/null &
BARE_PID=$!
sleep 0.5
echo "-- bare axum handler, the same 50 rows as JSON"
BODY='' wrk -t2 -c$CONNECTIONS -d"$DURATION" -s $BENCH/request.lua http://127.0.0.1:3097/api/workspaces/list | tail -1
