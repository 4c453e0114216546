#!/usr/bin/env bash
# Server CPU per request, the steadier measure on a machine where wrk shares
# the cores with the server: for each build named, a fresh server (SQLite)
# with an article of 20 citations, then `wrk -t2 -c64` for SECONDS against the
# subscriber's list and the anonymous teaser; the server's CPU time (utime +
# stime from /proc) over the run, divided by the requests wrk reports. Builds
# alternate ROUNDS times, so two builds are compared side by side.
#
#   bash benches/cpu.sh [ROUNDS] [SECONDS] BUILD [BUILD...]
#   e.g. bash benches/cpu.sh 2 6 /tmp/before target/release/sourceledger
set -euo pipefail
rounds=${1:?rounds}
seconds=${2:?seconds}
shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
port=18291
base=http://127.0.0.1:$port
connections=64
# shellcheck source=benches/common.sh
. "$here/benches/common.sh"
need wrk=wrk curl=curl
pid=""
work=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$work" ] && rm -rf "$work"' EXIT

one() { # build
  work=$(mktemp -d)
  local data=$work/data
  mkdir -p "$data"
  env SOURCELEDGER_DATA_DIR="$data" SOURCELEDGER_BIND=127.0.0.1:$port \
    SOURCELEDGER_RATE_LIMIT_ANON=0 SOURCELEDGER_RATE_LIMIT_TOKEN=0 \
    SOURCELEDGER_LINK_CHECK_INTERVAL=0 RUST_LOG=error "$1" serve &
  pid=$!
  until curl -sf "$base/readyz" >/dev/null; do sleep 0.05; done
  admin=$(admin_token "$data")
  local journalist editor integration sub subscriber citations="" id n
  journalist=$(token_for journalist)
  editor=$(token_for editor)
  integration=$(token_for integration)
  sub=$(post /v1/subscribers "$integration" '{"external_id": "bench", "tier": "free"}' | json '["id"]')
  subscriber=$(post "/v1/subscribers/$sub/token" "$integration" '{}' | json '["access_token"]')
  post /v1/articles "$journalist" '{"slug": "b", "title": "B", "url": "https://news.example/b", "language": "en", "authors": ["A"]}' >/dev/null
  for n in $(seq 1 20); do
    id=$(post /v1/sources "$journalist" "{\"url\": \"https://source.example/$n\", \"title\": \"S $n\", \"publisher\": \"P\", \"kind\": \"news_report\", \"language\": \"en\"}" | json '["id"]')
    citations+="${citations:+,}{\"source_id\": \"$id\", \"claim\": \"C $n\", \"quote\": \"Q $n\", \"locator\": \"p $n\"}"
  done
  post /v1/articles/b/citations "$journalist" "{\"citations\": [$citations]}" >/dev/null
  post /v1/articles/b/publish "$editor" '{}' >/dev/null
  local what before after requests
  for what in list teaser; do
    local args=("$base/v1/articles/b/sources")
    [ "$what" = list ] && args=(-H "Authorization: Bearer $subscriber" "${args[@]}")
    wrk -t2 -c64 -d2s "${args[@]}" >/dev/null
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    requests=$(wrk -t2 -c64 -d"${seconds}s" "${args[@]}" | awk '/requests in/ {print $1}')
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    python3 -c "print('%-40s %-6s %8d requests %6.1f us CPU each' % ('$1', '$what', $requests, ($after - $before) / $(getconf CLK_TCK) * 1e6 / $requests))"
  done
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
  rm -rf "$work"
  work=""
}

for _ in $(seq 1 "$rounds"); do
  for build in "$@"; do one "$build"; done
done
