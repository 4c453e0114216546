#!/usr/bin/env bash
# Web archives (issue 27), on a release build, with the file store:
# - 1 GiB of captures (8 files of 128 MiB, served on loopback by python3's
#   http.server, captured through the fetcher) and one small HTML page, all
#   cited by one published article;
# - the store's raw read throughput (the 8 WARCs through
#   GET /v1/snapshots/{sha}?format=warc, one after another) against the
#   package's (GET /v1/articles/{slug}/archive.wacz, all of it), in the same
#   run, three rounds each, page cache warm: MiB/s and the ratio (goal >= 0.8);
#   the first package request also indexes every WARC once (timed apart);
# - the server's resident memory while the package streams (sampled every
#   50 ms) and its peak (VmHWM) before and after;
# - 20 byte ranges at random offsets, each compared with the same bytes of
#   the whole package;
# - with chromium and SOURCELEDGER_TEST_BROWSER_TOOLS (playwright-core), the
#   time from the reader's replay link to the archived page shown by
#   ReplayWeb.page (tests/web/replay_check.mjs), on this 1 GiB package.
#
#   cargo build --release && bash benches/wacz.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/common.sh
. "$here/benches/common.sh"
bench_setup 18336
need curl=curl

mkdir -p "$work/files"
for i in $(seq 1 8); do head -c $((128 << 20)) /dev/urandom >"$work/files/data-$i.bin"; done
printf '<html><head><title>Budget 2026</title></head><body><h1>Budget 2026</h1><p>Spending rose by four per cent.</p></body></html>\n' >"$work/files/budget.html"
site_port=18337
python3 -m http.server --bind 127.0.0.2 "$site_port" --directory "$work/files" >/dev/null 2>&1 &
sites+=($!)
until curl -sf "http://127.0.0.2:$site_port/budget.html" >/dev/null; do sleep 0.05; done

data=$work/data
serve "$data" "" SOURCELEDGER_FETCH_ALLOW=127.0.0.0/8 SOURCELEDGER_FETCH_PORTS=$site_port \
  SOURCELEDGER_CAPTURE_ON_PUBLISH=off SOURCELEDGER_SNAPSHOT_MAX_BYTES=$((200 << 20))
journalist=$(token_for journalist)
editor=$(token_for editor)
hwm() { awk '/VmHWM/ {print $2 / 1024 " MiB"}' "/proc/$pid/status"; }

post /v1/articles "$journalist" '{"slug": "budget", "title": "Budget", "url": "https://news.example/budget", "language": "en", "authors": ["A"]}' >/dev/null
ids=() warcs=()
started=$(date +%s.%N)
for f in budget.html $(for i in $(seq 1 8); do echo "data-$i.bin"; done); do
  id=$(post /v1/sources "$journalist" "{\"url\": \"http://127.0.0.2:$site_port/$f\", \"title\": \"$f\", \"publisher\": \"P\", \"kind\": \"dataset\", \"language\": \"en\"}" | json '["id"]')
  sha=$(post "/v1/sources/$id/capture" "$journalist" '{}' | json '["snapshot_sha256"]')
  ids+=("$id") warcs+=("$sha")
done
echo "captured 9 sources (1 GiB) in $(echo "$(date +%s.%N) - $started" | bc) s"
python3 - "${ids[@]}" >"$work/cite.json" <<'PY'
import json, sys
print(json.dumps({"citations": [{"source_id": i, "claim": f"Claim {n}.", "locator": "p"} for n, i in enumerate(sys.argv[1:])]}))
PY
curl -sf -o /dev/null -X POST "$base/v1/articles/budget/citations" -H "Authorization: Bearer $journalist" \
  -H 'content-type: application/json' --data-binary @"$work/cite.json"
post /v1/articles/budget/publish "$editor" '{}' >/dev/null
member=$(post /v1/subscribers "$admin" '{"external_id": "bench", "tier": "member"}' | json '["id"]')
reader=$(post "/v1/subscribers/$member/token" "$admin" '{}' | json '["access_token"]')
echo "memory before: $(hwm) peak"

get() { curl -sf -o "${2:-/dev/null}" -w '%{size_download} %{time_total}\n' -H "Authorization: Bearer $reader" "$base$1"; }
first=$(get /v1/articles/budget/archive.wacz)
echo "first package request (indexes every WARC once): ${first#* } s for $((${first%% *} >> 20)) MiB"

raw_rate() {
  local total=0 time=0 sha out
  for sha in "${warcs[@]}"; do
    out=$(get "/v1/snapshots/$sha?format=warc")
    total=$((total + ${out%% *})); time=$(echo "$time + ${out#* }" | bc)
  done
  echo "$total $time" | awk '{printf "%.0f", $1 / 1048576 / $2}'
}
package_rate() {
  local out
  out=$(get /v1/articles/budget/archive.wacz "${1:-/dev/null}")
  echo "$out" | awk '{printf "%.0f", $1 / 1048576 / $2}'
}
ratios=()
for round in 1 2 3; do
  raw=$(raw_rate)
  # Resident memory sampled while the package streams.
  echo 0 >"$work/rss"
  (peak=0; while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status"); [ "$rss" -gt "$peak" ] && peak=$rss
    echo "$peak" >"$work/rss.new" && mv "$work/rss.new" "$work/rss"; sleep 0.05; done) &
  sampler=$!
  packaged=$(package_rate)
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  ratio=$(echo "scale=2; $packaged / $raw" | bc)
  ratios+=("$ratio")
  echo "round $round: raw store read $raw MiB/s, package $packaged MiB/s: ${ratio}x; resident memory while streaming at most $(( $(cat "$work/rss") / 1024 )) MiB"
done
echo "package / raw (median of 3): $(printf '%s\n' "${ratios[@]}" | sort -n | sed -n 2p)x"
echo "memory after: $(hwm) peak"

get /v1/articles/budget/archive.wacz "$work/package.wacz" >/dev/null
size=$(stat -c %s "$work/package.wacz")
bad=0
for _ in $(seq 1 20); do
  start=$(python3 -c "import random; print(random.randrange($size - 1))")
  last=$(python3 -c "import random; print(min($size - 1, $start + random.randrange(1 << 22)))")
  curl -sf -H "Authorization: Bearer $reader" -H "Range: bytes=$start-$last" "$base/v1/articles/budget/archive.wacz" >"$work/part"
  python3 - "$work/package.wacz" "$work/part" "$start" "$last" <<'PY' || bad=$((bad + 1))
import sys
whole, part, start, last = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open(whole, "rb") as f:
    f.seek(start)
    sys.exit(0 if f.read(last - start + 1) == open(part, "rb").read() else 1)
PY
done
echo "20 random ranges of a $((size >> 20)) MiB package: $((20 - bad)) equal to the whole file's bytes"

if command -v chromium >/dev/null && [ -n "${SOURCELEDGER_TEST_BROWSER_TOOLS:-}" ]; then
  page="http://127.0.0.2:$site_port/budget.html"
  link="$base/articles/budget/replay?token=$reader&url=$(python3 -c "import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=''))" "$page")"
  for _ in 1 2 3; do
    echo "{\"chromium\": \"$(command -v chromium)\", \"url\": \"$link\", \"click\": null, \"expect\": \"Spending rose by four per cent.\", \"shot\": null}" |
      SOURCELEDGER_TEST_BROWSER_TOOLS=$SOURCELEDGER_TEST_BROWSER_TOOLS node "$here/tests/web/replay_check.mjs" |
      python3 -c "import json,sys; r=json.load(sys.stdin); print('replay link to the archived page shown:', r.get('elapsed_ms'), 'ms' if r['replayed'] else 'NOT REPLAYED', r['errors'][:2])"
  done
else
  echo "time to first replayed page: skipped (needs chromium and SOURCELEDGER_TEST_BROWSER_TOOLS)"
fi
