#!/usr/bin/env bash
# HTTP benchmark of the release server on SQLite, with wrk (Debian package):
# the subscriber's verified source list of an article with 20 citations next to
# /healthz in the same run, and citations attached per second through the batch
# endpoint.
#
#   cargo build --release && bash benches/http.sh [CONNECTIONS] [SECONDS]
set -euo pipefail
connections=${1:-64}
seconds=${2:-15}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$here/target/release/sourceledger
data=$(mktemp -d)
port=18181
base=http://127.0.0.1:$port
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT

# No rate limits (wrk is one client) and no link monitor during the runs.
SOURCELEDGER_DATA_DIR=$data SOURCELEDGER_BIND=127.0.0.1:$port RUST_LOG=warn \
  SOURCELEDGER_RATE_LIMIT_ANON=0 SOURCELEDGER_RATE_LIMIT_TOKEN=0 SOURCELEDGER_LINK_CHECK_INTERVAL=0 \
  "$bin" serve &
pid=$!
until curl -sf "$base/readyz" >/dev/null; do sleep 0.05; done

# shellcheck source=benches/common.sh
. "$here/benches/common.sh"
need wrk=wrk curl=curl
admin=$(admin_token "$data")
journalist=$(token_for journalist)
editor=$(token_for editor)
integration=$(token_for integration)

post /v1/articles "$journalist" '{"slug": "bench", "title": "Bench", "url": "https://news.example/bench", "language": "en", "authors": ["A"]}' >/dev/null
citations=""
for n in $(seq 1 20); do
  id=$(post /v1/sources "$journalist" "{\"url\": \"https://source.example/$n\", \"title\": \"Source $n\", \"publisher\": \"P\", \"kind\": \"news_report\", \"language\": \"en\", \"snapshot_sha256\": \"$(printf '%064d' "$n")\"}" | json '["id"]')
  citations+="${citations:+,}{\"source_id\": \"$id\", \"claim\": \"Claim $n\", \"quote\": \"Quote $n\", \"locator\": \"paragraph $n\"}"
done
post /v1/articles/bench/citations "$journalist" "{\"citations\": [$citations]}" >/dev/null
post /v1/articles/bench/publish "$editor" '{}' >/dev/null
sub=$(post /v1/subscribers "$integration" '{"external_id": "bench", "tier": "free"}' | json '["id"]')
subscriber=$(post "/v1/subscribers/$sub/token" "$integration" '{}' | json '["access_token"]')

echo "== $(nproc) cores, $connections connections, ${seconds}s each, SQLite"
echo "-- GET /healthz"
wrk -t2 -c"$connections" -d"${seconds}s" --latency "$base/healthz" | grep -E 'Requests/sec|99%|Non-2xx'
echo "-- GET /v1/articles/bench/sources as a subscriber (20 citations, 41 proofs)"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Authorization: Bearer $subscriber" \
  "$base/v1/articles/bench/sources" | grep -E 'Requests/sec|99%|Non-2xx'
etag=$(curl -sf -D - -o /dev/null -H "Authorization: Bearer $subscriber" "$base/v1/articles/bench/sources" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
echo "-- the same with If-None-Match (304)"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Authorization: Bearer $subscriber" -H "If-None-Match: $etag" \
  "$base/v1/articles/bench/sources" | grep -E 'Requests/sec|99%'

echo "-- citations attached through the batch endpoint (batches of 1000, one client)"
echo "20000 citations: $(batch_citations_per_second "$journalist" "$data") citations/s"
