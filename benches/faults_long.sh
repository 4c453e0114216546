#!/usr/bin/env bash
# The long run of issue 29: MINUTES (default 30) of mixed load on one server,
# and whether it stays healthy: memory flat after the warm-up, p99 stable, no
# file descriptor or connection leak, no 5xx.
#
# The load (benches/faults_long.py: Python threads, each with one kept-alive
# http.client connection):
# - $WRITERS writers (default 8), each recording $WRITE_RATE sources a second
#   (default 20; 0: as fast as the server answers), each source followed by
#   its citation in a draft article of the writer's (a new draft every 500);
# - $READERS readers (default 8), each $READ_RATE requests/s (default 40): the
#   reader's list of a published article as a subscriber, as a journalist and
#   anonymously (the teaser), the articles list, the ledger checkpoint, an
#   inclusion proof of a random entry and a consistency proof;
# - the whole log exported (GET /v1/audit/export, NDJSON) every 30 s;
# - a source for a loopback page recorded and captured every 10 s, from a
#   python3 http.server on 127.0.0.1 (allowed by SOURCELEDGER_FETCH_ALLOW);
# - the link monitor every minute (SOURCELEDGER_LINK_CHECK_INTERVAL=60) over
#   the 26 loopback links two published articles cite, each captured before
#   it was cited: pages that stay put, one rewritten every minute (`changed`)
#   and one missing (`gone`).
# Every 10 s the server process is sampled: VmRSS, open file descriptors,
# threads, its TCP sockets by state (/proc/PID/net/tcp*), and from /metrics
# the database pool's connections, the log's size and the links' states.
#
# It prints a table per minute (requests, non-2xx, RSS, fds, threads, TCP,
# pool, the server's and the machine's CPU; then p50/p99 per kind), and a
# summary: RSS after the warm-up (the end of minute $WARMUP: 2, or 1 in runs
# under 6 minutes) against the end, and its trend; fds, threads and connections
# after the warm-up, at most, at the end and idle after the load; each
# kind's p99 over the first 5 minutes after the warm-up against the last 5;
# non-2xx by kind and status. All of it is also JSON in $OUT (default
# /tmp/faults_long.json), the server's log beside it (.log). Exits 1 when an
# answer was a 5xx or the server went away.
#
#   cargo build --release && bash benches/faults_long.sh [MINUTES] [DATABASE_URL]
#
# Knobs: WRITERS, READERS, WRITE_RATE, READ_RATE, WARMUP, OUT.
# SQLite in a fresh data dir by default; PostgreSQL with DATABASE_URL (an
# empty database of its own: it is used as is, neither made nor dropped).
# SOURCELEDGER_BENCH_BIN names another binary. Latencies are the client's
# (Python, sharing the cores with the server), from a request's start to the
# last byte of its answer; the export's time grows with the log, so it is
# shown but left out of the steady p99.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/common.sh
. "$here/benches/common.sh"
minutes=${1:-30}
database=${2:-}
out=${OUT:-/tmp/faults_long.json}
label=SQLite
[ -n "$database" ] && label=PostgreSQL
bench_setup 18360
need curl=curl python3=python3
[ -x "$bin" ] || { echo "no binary at $bin (cargo build --release, or SOURCELEDGER_BENCH_BIN)" >&2; exit 1; }
server_log=${out%.json}.log
finish() {
  local status=$?
  if [ -f "$work/server.log" ]; then
    cp "$work/server.log" "$server_log"
    [ "$status" -ne 0 ] && [ ! -f "$work/loaded" ] && tail -20 "$work/server.log" >&2
  fi
  bench_cleanup
  exit "$status"
}
trap finish EXIT

site_port=18361
mkdir -p "$work/site"
python3 -m http.server --bind 127.0.0.1 "$site_port" --directory "$work/site" >"$work/site.log" 2>&1 &
sites+=($!)
until curl -s -o /dev/null "http://127.0.0.1:$site_port/"; do sleep 0.05; done

echo "== $minutes minutes of mixed load, $(nproc) cores, $label, $bin"
serve "$work/data" "$database" SOURCELEDGER_PUBLIC_URL="$base" SOURCELEDGER_FETCH_ALLOW=127.0.0.1 \
  SOURCELEDGER_LINK_CHECK_INTERVAL=60 SOURCELEDGER_LINK_CHECK_HOST_DELAY_MS=500 >"$work/server.log" 2>&1
touch "$work/loaded"

status=0
python3 "$here/benches/faults_long.py" --base "$base" --pid "$pid" --minutes "$minutes" \
  --admin-key-file "$work/data/bootstrap-admin.key" \
  --site "http://127.0.0.1:$site_port" --site-dir "$work/site" --out "$out" \
  --writers "${WRITERS:-8}" --readers "${READERS:-8}" \
  --write-rate "${WRITE_RATE:-20}" --read-rate "${READ_RATE:-40}" ${WARMUP:+--warmup "$WARMUP"} \
  --database "$label" || status=$?
if ! kill -0 "$pid" 2>/dev/null; then
  code=0
  wait "$pid" || code=$?
  pid=""
  echo "!! the server exited during the run: status $code$([ "$code" -gt 128 ] && echo " (signal $(kill -l $((code - 128))))")"
  status=1
fi

warnings=$(grep -c ' WARN ' "$work/server.log" || true)
errors=$(grep -c ' ERROR ' "$work/server.log" || true)
echo "server log: $warnings warnings, $errors errors ($server_log)"
[ "$errors" -gt 0 ] && grep ' ERROR ' "$work/server.log" | sort | uniq -c | sort -rn | head -5
exit "$status"
