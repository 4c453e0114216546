#!/usr/bin/env bash
# Sources from the article (issue 26), on a release build:
# - extraction: POST /v1/articles/{slug}/extract of an article of 200
#   links (about 60 KB of HTML, every link in a sentence of its own
#   paragraph), 100 times one after another: p50 and p99 of curl's total
#   time on loopback (the server's time and a loopback round trip);
# - capture on publication: an article citing 200 pages served on
#   loopback (python3's http.server on 10 addresses, 20 pages each, so
#   hosts are captured side by side) is published; the wall time until all
#   200 are archived, and the server's peak resident memory (VmHWM) before
#   and after. The per-host delay is set to 0 here (the default, 1 s,
#   would make one host's 20 pages take 20 s by design).
# SQLite, and PostgreSQL when SOURCELEDGER_BENCH_POSTGRES_URL names a
# server where the script may create databases.
#
#   cargo build --release && bash benches/from_article.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/common.sh
. "$here/benches/common.sh"
bench_setup 18326
need curl=curl

# 200 source pages, served from 10 loopback addresses.
mkdir -p "$work/pages"
for i in $(seq 0 199); do
  printf '<html><head><title>Source %s</title></head><body><h1>Source %s</h1><p>Finding %s: the measured rate was %s.5 percent in the 2026 survey.</p>%s</body></html>\n' \
    "$i" "$i" "$i" "$i" "$(head -c 20000 /dev/zero | tr '\0' 'x')" >"$work/pages/source-$i.html"
done
site_port=18327
for h in $(seq 2 11); do
  python3 -m http.server --bind "127.0.0.$h" "$site_port" --directory "$work/pages" >/dev/null 2>&1 &
  sites+=($!)
done
page_url() { echo "http://127.0.0.$((2 + $1 % 10)):$site_port/source-$1.html"; }
for h in $(seq 2 11); do
  until curl -sf "http://127.0.0.$h:$site_port/source-0.html" >/dev/null; do sleep 0.05; done
done

# The article of 200 links.
python3 - "$work/article.json" <<'EOF'
import json, sys
paragraphs = []
for i in range(200):
    paragraphs.append(
        f'<p>The council said spending on line {i} rose by {i}.5 percent in the year, '
        f'<a href="https://source{i}.example/report/{i}">according to its report</a>. '
        f'Officials disputed the figure.</p>')
html = ('<html><head><title>Budget</title></head><body><header><nav><a href="/">Home</a></nav></header>'
        '<article>' + ''.join(paragraphs) + '</article><footer><a href="/about">About</a></footer></body></html>')
json.dump({"html": html}, open(sys.argv[1], "w"))
EOF

start_server() { # label, database URL or empty
  serve "$work/data-$1" "${2:-}" SOURCELEDGER_FETCH_ALLOW=127.0.0.0/8 SOURCELEDGER_LINK_CHECK_HOST_DELAY_MS=0
  journalist=$(token_for journalist)
  editor=$(token_for editor)
}

hwm() { awk '/VmHWM/ {print $2 / 1024 " MiB"}' "/proc/$pid/status"; }

run() { # label, database URL or empty
  start_server "$1" "${2:-}"
  post /v1/articles "$journalist" \
    '{"slug": "budget", "title": "Budget", "url": "https://news.example/budget", "language": "en", "authors": ["A"]}' >/dev/null

  # Extraction, 100 times.
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null -w '%{time_total}\n' -X POST "$base/v1/articles/budget/extract" \
      -H "Authorization: Bearer $journalist" -H 'content-type: application/json' \
      --data-binary @"$work/article.json"
  done | sort -n | awk '{t[NR]=$1} END {printf "extract 200 links: p50 %.1f ms, p99 %.1f ms (%d runs)\n", t[int(NR*0.5)]*1000, t[int(NR*0.99)]*1000, NR}'
  local proposed
  proposed=$(curl -sf "$base/v1/articles/budget/proposals" -H "Authorization: Bearer $journalist" | json '["proposals"].__len__()')
  echo "  proposals kept: $proposed"

  # Capture on publication of 200 cited pages.
  post /v1/articles "$journalist" \
    '{"slug": "cited", "title": "Cited", "url": "https://news.example/cited", "language": "en", "authors": ["A"]}' >/dev/null
  local ids=() i id
  for i in $(seq 0 199); do
    id=$(post /v1/sources "$journalist" "{\"url\": \"$(page_url "$i")\", \"title\": \"Source $i\", \"publisher\": \"P\", \"kind\": \"document\", \"language\": \"en\"}" | json '["id"]')
    ids+=("$id")
  done
  python3 - "${ids[@]}" >"$work/cite.json" <<'EOF'
import json, sys
print(json.dumps({"citations": [{"source_id": i, "claim": f"Claim {n}.", "quote": f"the measured rate was {n}.5 percent", "locator": "p"} for n, i in enumerate(sys.argv[1:])]}))
EOF
  curl -sf -o /dev/null -X POST "$base/v1/articles/cited/citations" -H "Authorization: Bearer $journalist" \
    -H 'content-type: application/json' --data-binary @"$work/cite.json"
  echo "  memory before publication: $(hwm) peak"
  local started ended archived found
  started=$(date +%s.%N)
  post /v1/articles/cited/publish "$editor" '{}' >/dev/null
  while :; do
    read -r archived found < <(curl -sf "$base/v1/articles/cited/sources" -H "Authorization: Bearer $editor" |
      python3 -c "import json,sys; c=json.load(sys.stdin)['citations']; print(sum(1 for x in c if x['source'].get('later_archive_url')), sum(1 for x in c if x.get('quote_status')=='found'))")
    [ "$archived" -eq 200 ] && [ "$found" -eq 200 ] && break
    sleep 0.1
  done
  ended=$(date +%s.%N)
  echo "capture on publication: 200 pages archived and 200 quotes found in $(echo "$ended - $started" | bc) s"
  echo "  memory after: $(hwm) peak"
  stop_server
}

echo "== SQLite"
run sqlite
if [ -n "${SOURCELEDGER_BENCH_POSTGRES_URL:-}" ]; then
  db=sourceledger_bench_from_article_$$
  psql "$SOURCELEDGER_BENCH_POSTGRES_URL" -qc "CREATE DATABASE $db" >/dev/null
  echo "== PostgreSQL"
  run postgres "${SOURCELEDGER_BENCH_POSTGRES_URL%/*}/$db"
  psql "$SOURCELEDGER_BENCH_POSTGRES_URL" -qc "DROP DATABASE $db" >/dev/null
fi
