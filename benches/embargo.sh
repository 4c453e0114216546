#!/usr/bin/env bash
# What the embargo costs (issue 22), side by side in one run on this machine:
# - the publication of an article of 200 embargoed citations of 150 embargoed
#   sources: the time to acknowledge (curl's total), p50 and p99 over ROUNDS
#   articles (goal on SQLite: p99 <= 250 ms);
# - single source writes from 64 connections (wrk), embargo on next to off
#   (goal: on within 10% of off);
# - a subscriber's list of 20 citations (wrk), made under embargo and
#   published, next to the same list made with the embargo off (goal:
#   unchanged).
# On SQLite, and on PostgreSQL when SOURCELEDGER_BENCH_POSTGRES_URL names a
# server where the script may create databases.
#
#   cargo build --release && bash benches/embargo.sh [ROUNDS] [SECONDS]
set -euo pipefail
rounds=${1:-20}
seconds=${2:-10}
connections=64
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${SOURCELEDGER_BENCH_BIN:-$here/target/release/sourceledger}
work=$(mktemp -d)
port=18293
base=http://127.0.0.1:$port
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=benches/common.sh
. "$here/benches/common.sh"
need wrk=wrk curl=curl

start_server() { # label, embargo on|off, database URL or empty
  local data=$work/data-$1-$2
  mkdir -p "$data"
  env SOURCELEDGER_DATA_DIR="$data" SOURCELEDGER_BIND=127.0.0.1:$port \
    SOURCELEDGER_RATE_LIMIT_ANON=0 SOURCELEDGER_RATE_LIMIT_TOKEN=0 \
    SOURCELEDGER_LINK_CHECK_INTERVAL=0 SOURCELEDGER_EMBARGO="$2" RUST_LOG=warn \
    ${3:+SOURCELEDGER_DATABASE_URL=$3} "$bin" serve &
  pid=$!
  until curl -sf "$base/readyz" >/dev/null; do sleep 0.05; done
  admin=$(admin_token "$data")
  journalist=$(token_for journalist)
  editor=$(token_for editor)
  integration=$(token_for integration)
}

stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

# An article $1 of $3 citations of $2 sources, each new; not published.
draft() {
  local slug=$1 sources=$2 cites=$3 ids=() n
  post /v1/articles "$journalist" "{\"slug\": \"$slug\", \"title\": \"T\", \"url\": \"https://news.example/$slug\", \"language\": \"en\", \"authors\": [\"A\"]}" >/dev/null
  for n in $(seq 1 "$sources"); do
    ids+=("$(post /v1/sources "$journalist" "{\"url\": \"https://s.example/$slug/$n\", \"title\": \"Source $n\", \"publisher\": \"P\", \"kind\": \"news_report\", \"language\": \"en\"}" | json '["id"]')")
  done
  python3 - "$cites" "${ids[@]}" >"$work/cite.json" <<'PY'
import json, sys
n, ids = int(sys.argv[1]), sys.argv[2:]
print(json.dumps({"citations": [{"source_id": ids[i % len(ids)], "claim": f"Claim {i}", "quote": f"Quote {i}", "locator": f"p{i}"} for i in range(n)]}))
PY
  curl -sf -o /dev/null -X POST "$base/v1/articles/$slug/citations" -H "Authorization: Bearer $journalist" \
    -H 'content-type: application/json' --data-binary "@$work/cite.json"
}

publication_times() {
  local r times=()
  for r in $(seq 1 "$rounds"); do
    draft "pub-$r" 150 200
    times+=("$(curl -sf -o /dev/null -w '%{time_total}' -X POST "$base/v1/articles/pub-$r/publish" \
      -H "Authorization: Bearer $editor" -H 'content-type: application/json' -d '{}')")
  done
  python3 - "${times[@]}" <<'PY'
import sys
t = sorted(float(x) * 1000 for x in sys.argv[1:])
p = lambda q: t[min(len(t) - 1, int(round(q * (len(t) - 1))))]
print(f"p50 {p(0.5):.0f} ms, p99 {p(0.99):.0f} ms, max {t[-1]:.0f} ms over {len(t)}")
PY
}

writes_lua=$work/write.lua
single_write_lua "$writes_lua"

list_token() {
  draft list 20 20
  post /v1/articles/list/publish "$editor" '{}' >/dev/null
  local sub
  sub=$(post /v1/subscribers "$integration" '{"external_id": "bench", "tier": "free"}' | json '["id"]')
  post "/v1/subscribers/$sub/token" "$integration" '{}' | json '["access_token"]'
}

ratio() { python3 -c "print(f'{${1%% *}/${2%% *}:.2f}')"; }

run_backend() { # label, database URL for "on", for "off" (or empty)
  echo "== $1: $(nproc) cores"
  local on_w off_w on_l off_l token pub
  # Each server fresh, the same work in the same order: writes, then the list.
  start_server "$1" on "${2:-}"
  on_w=$(measure -s "$writes_lua" -H "Authorization: Bearer $journalist" "$base/v1/sources")
  token=$(list_token)
  on_l=$(measure -H "Authorization: Bearer $token" "$base/v1/articles/list/sources")
  on_bytes=$(curl -sf -H "Authorization: Bearer $token" "$base/v1/articles/list/sources" | wc -c)
  pub=$(publication_times)
  stop_server
  start_server "$1" off "${3:-}"
  off_w=$(measure -s "$writes_lua" -H "Authorization: Bearer $journalist" "$base/v1/sources")
  token=$(list_token)
  off_l=$(measure -H "Authorization: Bearer $token" "$base/v1/articles/list/sources")
  off_bytes=$(curl -sf -H "Authorization: Bearer $token" "$base/v1/articles/list/sources" | wc -c)
  stop_server
  printf '%-44s %s\n' "publish 200 embargoed citations, 150 sources" "$pub"
  printf '%-44s on %7s req/s p99 %s ms | off %7s req/s p99 %s ms | on/off %s\n' \
    "single writes, $connections connections" "${on_w%% *}" "${on_w#* }" "${off_w%% *}" "${off_w#* }" "$(ratio "$on_w" "$off_w")"
  printf '%-44s on %7s req/s p99 %s ms | off %7s req/s p99 %s ms | on/off %s (bodies %s and %s bytes)\n' \
    "subscriber list, 20 citations" "${on_l%% *}" "${on_l#* }" "${off_l%% *}" "${off_l#* }" "$(ratio "$on_l" "$off_l")" "$on_bytes" "$off_bytes"
}

run_backend sqlite
if [ -n "${SOURCELEDGER_BENCH_POSTGRES_URL:-}" ]; then
  on_db="sourceledger_embargo_on_$$"
  off_db="sourceledger_embargo_off_$$"
  for db in "$on_db" "$off_db"; do
    psql "$SOURCELEDGER_BENCH_POSTGRES_URL" -qc "CREATE DATABASE $db" >/dev/null
  done
  run_backend postgres "${SOURCELEDGER_BENCH_POSTGRES_URL%/*}/$on_db" "${SOURCELEDGER_BENCH_POSTGRES_URL%/*}/$off_db"
  for db in "$on_db" "$off_db"; do
    psql "$SOURCELEDGER_BENCH_POSTGRES_URL" -qc "DROP DATABASE $db" >/dev/null
  done
fi
