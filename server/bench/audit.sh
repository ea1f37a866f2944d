#!/usr/bin/env bash
# Audit log benchmark with 1,000,000 generated records: compound-filter query latency
# (p50/p95), the audit log's share of a request's time, and `audit export` / `audit verify`
# throughput and peak memory with the release binary. Results: docs/benchmarks.md.
# Usage: server/bench/audit.sh   (RECORDS=… to change the size; DIR=… for the database)
set -euo pipefail
cd "$(dirname "$0")/../.."
RECORDS=${RECORDS:-1000000}
DIR=${DIR:-/tmp/audit-bench}
mkdir -p "$DIR"
URL="sqlite://$DIR/portal.db"
KEY="$DIR/audit.key"
BIN=target/release/workspaces-portal
[ -x "$BIN" ] || { echo "build first: cargo leptos build --release --split" >&2; exit 1; }

LEPTOS_OUTPUT_NAME=workspaces-portal cargo run --quiet --release -p server --example audit_bench -- "$RECORDS" "$URL" "$KEY"

echo
echo "export and verify with $BIN (all records, reads included):"
total=$(sqlite3 "$DIR/portal.db" "SELECT COUNT(*) FROM audit_records" 2>/dev/null || echo "$RECORDS")
for format in cloudtrail csv; do
  /usr/bin/time -f "%e %M" -o "$DIR/time.txt" \
    "$BIN" --database-url "$URL" --audit-key-file "$KEY" audit export --format "$format" --reads \
    > "$DIR/export.$format" 2>/dev/null
  read -r secs kb < "$DIR/time.txt"
  size=$(du -m "$DIR/export.$format" | cut -f1)
  echo "- export --format $format: $total records in $secs s = $(echo "$total / $secs" | bc) records/s, ${size} MB written, peak RSS $((kb / 1024)) MB"
done
/usr/bin/time -f "%e %M" -o "$DIR/time.txt" "$BIN" --database-url "$URL" --audit-key-file "$KEY" audit verify
read -r secs kb < "$DIR/time.txt"
echo "- audit verify: $secs s, peak RSS $((kb / 1024)) MB"
