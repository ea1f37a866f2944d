#!/usr/bin/env bash
# Benchmark: DescribeWorkspaces (25-item pages) against the emulator with 100,000 WorkSpaces, over
# both of its protocols (AWS JSON 1.1, then Smithy RPC v2 CBOR, on the same running emulator), and
# against moto's server on the same machine with the same load tool (wrk). SKIP_MOTO=1 skips moto.
# Usage: emulator/bench/run.sh [duration, default 20s]   (results are printed; see docs/benchmarks.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-20s}
CONNECTIONS=64
BENCH=emulator/bench

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -p emulator --locked
EMULATOR=${CARGO_TARGET_DIR:-target}/release/workspaces-emulator

OUT=$(mktemp -d)
cleanup() { kill "${EMU_PID:-}" "${MOTO_PID:-}" 2>/dev/null || true; rm -rf "$OUT"; }
trap cleanup EXIT

wait_for() { for _ in $(seq 1 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
rss_mb() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
rate() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
CBOR_PATH=/service/WorkspacesService/operation/DescribeWorkspaces

echo "== emulator, 100,000 WorkSpaces seeded, ${CONNECTIONS} connections, ${DURATION}"
RUST_LOG=${RUST_LOG:-info} "$EMULATOR" --listen 127.0.0.1:4566 --seed-workspaces 100000 >/tmp/emulator-bench.log 2>&1 &
EMU_PID=$!
wait_for http://127.0.0.1:4566/_emulator/health
echo "resident after seeding: $(rss_mb $EMU_PID) MB"
# Both protocols must answer a full page before they are measured.
status=$(printf '\xa0' | curl -s -o /dev/null -w '%{http_code}' --data-binary @- -H 'Content-Type: application/cbor' \
  -H 'smithy-protocol: rpc-v2-cbor' -H 'Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/workspaces/aws4_request' \
  "http://127.0.0.1:4566$CBOR_PATH")
[ "$status" = 200 ] || { echo "RPC v2 CBOR DescribeWorkspaces answered $status" >&2; exit 1; }
echo "-- AWS JSON 1.1 (POST /)"
wrk -t2 -c$CONNECTIONS -d"$DURATION" --latency -s $BENCH/describe_workspaces.lua http://127.0.0.1:4566/ | tee "$OUT/json.txt"
echo "-- Smithy RPC v2 CBOR (POST $CBOR_PATH)"
wrk -t2 -c$CONNECTIONS -d"$DURATION" --latency -s $BENCH/describe_workspaces_cbor.lua "http://127.0.0.1:4566$CBOR_PATH" | tee "$OUT/cbor.txt"
echo "resident after the runs: $(rss_mb $EMU_PID) MB"
kill $EMU_PID; wait $EMU_PID 2>/dev/null || true; EMU_PID=
echo
echo "DescribeWorkspaces requests/s: AWS JSON 1.1 $(rate "$OUT/json.txt"), RPC v2 CBOR $(rate "$OUT/cbor.txt")"

if [ "${SKIP_MOTO:-}" = 1 ]; then exit 0; fi
echo
echo "== moto_server, 25 WorkSpaces seeded, ${CONNECTIONS} connections, ${DURATION}"
if ! command -v moto_server >/dev/null; then pip install -q 'moto[server]' boto3; fi
moto_server -p 5000 >/tmp/moto-bench.log 2>&1 &
MOTO_PID=$!
wait_for http://127.0.0.1:5000/moto-api/
python3 $BENCH/seed_moto.py http://127.0.0.1:5000
wrk -t2 -c$CONNECTIONS -d"$DURATION" --latency -s $BENCH/describe_workspaces.lua http://127.0.0.1:5000/
echo "moto resident: $(rss_mb $MOTO_PID) MB"
