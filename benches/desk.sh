#!/usr/bin/env bash
# The desk's pages (issue 25), server time through wrk with one connection
# (so the latency is the server's time plus loopback, with no queueing):
# - an article's page with 200 citations of 200 distinct sources, half of
#   them verified, as an editor sees it (every form);
# - the articles list in a newsroom of 10,000 articles (the newest 200
#   shown), the same list searched by a word in every title (the newest 200
#   matches end the walk) and by one in none (every title is read);
# - the sources list, and a source's page.
# p50 and p99 of each, on SQLite and, when SOURCELEDGER_BENCH_POSTGRES_URL
# names a server where the script may create databases, on PostgreSQL.
#
#   cargo build --release && bash benches/desk.sh [SECONDS]
set -euo pipefail
seconds=${1:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/common.sh
. "$here/benches/common.sh"
bench_setup 18297
need wrk=wrk curl=curl

start_server() { # label, database URL or empty
  serve "$work/data-$1" "${2:-}"
  journalist=$(token_for journalist)
}

# A desk session of a new editor's key, through the sign-in form: the
# Cookie header's value.
desk_cookie() {
  local key jar=$work/jar csrf
  key=$(post /v1/keys "$admin" '{"role": "editor", "name": "bench desk editor"}' | json '["key"]')
  rm -f "$jar"
  csrf=$(curl -sf -c "$jar" "$base/desk/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
  curl -sf -o /dev/null -b "$jar" -c "$jar" -X POST "$base/desk/login" \
    --data-urlencode "api_key=$key" --data-urlencode "csrf=$csrf"
  awk '$6 ~ /desk$/ {print $6 "=" $7}' "$jar" | grep . || { echo "no desk session" >&2; exit 1; }
}

# The article "big": 200 citations of 200 new sources, every other one verified.
big_article() {
  local ids=() n
  post /v1/articles "$journalist" '{"slug": "big", "title": "Big", "url": "https://news.example/big", "language": "en", "authors": ["A"]}' >/dev/null
  for n in $(seq 1 200); do
    ids+=("$(post /v1/sources "$journalist" "{\"url\": \"https://s.example/big/$n\", \"title\": \"Source $n\", \"publisher\": \"Publisher $n\", \"kind\": \"news_report\", \"language\": \"en\"}" | json '["id"]')")
  done
  python3 - "${ids[@]}" >"$work/cite.json" <<'PY'
import json, sys
print(json.dumps({"citations": [{"source_id": s, "claim": f"Claim {n}: a sentence of the article as long as a real one.", "quote": "The source's own words, quoted.", "locator": f"p{n}"} for n, s in enumerate(sys.argv[1:])]}))
PY
  local editor
  editor=$(token_for editor)
  post /v1/articles/big/citations "$journalist" "@$work/cite.json" >/dev/null
  curl -sf "$base/v1/articles/big/sources" -H "Authorization: Bearer $editor" |
    python3 -c "import json,sys; [print(c['id']) for c in json.load(sys.stdin)['citations'][::2]]" |
    while read -r id; do post "/v1/citations/$id/verify" "$editor" '{}' >/dev/null; done
}

# 10,000 articles, 8 requests at a time.
many_articles() {
  seq 1 10000 | xargs -P8 -I{} curl -sf -o /dev/null -X POST "$base/v1/articles" \
    -H "Authorization: Bearer $journalist" -H 'content-type: application/json' \
    -d '{"slug": "story-{}", "title": "Story {} of the year", "url": "https://news.example/story-{}", "language": "en", "authors": ["A"]}'
}

# p50 and p99 (ms) of GET $1 with the desk cookie, one connection.
page_times() {
  wrk -t1 -c1 -d"${seconds}s" --latency -H "Cookie: $cookie" "$base$1" | awk '
    function ms(v) { if (v ~ /us$/) {sub(/us/,"",v); return v/1000} if (v ~ /ms$/) {sub(/ms/,"",v); return v} sub(/s/,"",v); return v*1000 }
    /^ +50%/ {p50=ms($2)} /^ +99%/ {p99=ms($2)} /Requests\/sec/ {rps=$2} /Non-2xx/ {bad=$NF}
    END {printf "p50 %.2f ms  p99 %.2f ms  (%.0f pages/s)%s\n", p50, p99, rps, (bad ? " non-2xx:" bad : "")}'
}

run() { # label, database URL or empty
  start_server "$1" "${2:-}"
  big_article
  many_articles
  cookie=$(desk_cookie)
  # Each page answers 200 to this session (a redirect would time the sign-in page).
  for page in /desk/articles/big /desk /desk/sources; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$base$page")" = 200 ] ||
      { echo "$page does not answer 200" >&2; exit 1; }
  done
  local source
  source=$(curl -sf "$base/v1/articles/big/sources" -H "Authorization: Bearer $journalist" | json '["citations"][0]["source"]["id"]')
  echo "== $1"
  echo "article page, 200 citations:         $(page_times /desk/articles/big)"
  echo "articles list, 10,000 articles:      $(page_times /desk)"
  echo "articles list searched (\"year\"):    $(page_times '/desk?q=year')"
  echo "searched, nothing matches (\"zzz\"):  $(page_times '/desk?q=zzz')"
  echo "sources list, 200 sources:           $(page_times /desk/sources)"
  echo "a source's page:                     $(page_times "/desk/sources/$source")"
  stop_server
}

run sqlite
if [ -n "${SOURCELEDGER_BENCH_POSTGRES_URL:-}" ]; then
  db="sl_bench_desk_$$"
  psql "$SOURCELEDGER_BENCH_POSTGRES_URL" -qc "create database $db"
  run postgres "${SOURCELEDGER_BENCH_POSTGRES_URL%/*}/$db"
  psql "$SOURCELEDGER_BENCH_POSTGRES_URL" -qc "drop database $db"
fi
