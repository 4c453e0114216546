#!/usr/bin/env bash
# The goal table of issue 24, measured side by side in one run with wrk
# (Debian package) on this machine: nginx serving the very bytes of the
# anonymous teaser and of a subscriber's list (20 and 200 citations with
# proofs) from files, next to sourceledger serving them; single source writes
# from 64 connections; citations through the batch endpoint from 4 clients.
# The shapes are SPEC "Benchmark shapes": lists with half their citations
# verified; batches of 100 citations of 100 distinct sources into one draft.
# On SQLite, and on PostgreSQL when SOURCELEDGER_BENCH_POSTGRES_URL names a
# server where the script may create a database. Ratios are against nginx in
# the same run.
#
#   cargo build --release && bash benches/scale.sh [CONNECTIONS] [SECONDS]
set -euo pipefail
connections=${1:-64}
seconds=${2:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${SOURCELEDGER_BENCH_BIN:-$here/target/release/sourceledger}
work=$(mktemp -d)
port=18281
nginx_port=18282
base=http://127.0.0.1:$port
pid=""
nginx_pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=benches/common.sh
. "$here/benches/common.sh"
need wrk=wrk nginx=nginx-light curl=curl

start_server() { # DATABASE_URL or empty for SQLite
  local data=$work/data-$1
  mkdir -p "$data"
  env SOURCELEDGER_DATA_DIR="$data" SOURCELEDGER_BIND=127.0.0.1:$port \
    SOURCELEDGER_RATE_LIMIT_ANON=0 SOURCELEDGER_RATE_LIMIT_TOKEN=0 \
    SOURCELEDGER_LINK_CHECK_INTERVAL=0 RUST_LOG=warn \
    ${2:+SOURCELEDGER_DATABASE_URL=$2} "$bin" serve &
  pid=$!
  until curl -sf "$base/readyz" >/dev/null; do sleep 0.05; done
  admin=$(admin_token "$data")
}

stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

setup_tokens() {
  journalist=$(token_for journalist)
  editor=$(token_for editor)
  integration=$(token_for integration)
  local sub
  sub=$(post /v1/subscribers "$integration" '{"external_id": "bench", "tier": "free"}' | json '["id"]')
  subscriber=$(post "/v1/subscribers/$sub/token" "$integration" '{}' | json '["access_token"]')
}

setup_article() { # slug, number of citations (each of its own source), half verified (SPEC "Benchmark shapes")
  local slug=$1 count=$2 citations="" id n
  post /v1/articles "$journalist" "{\"slug\": \"$slug\", \"title\": \"Bench\", \"url\": \"https://news.example/$slug\", \"language\": \"en\", \"authors\": [\"A\"]}" >/dev/null
  for n in $(seq 1 "$count"); do
    id=$(post /v1/sources "$journalist" "{\"url\": \"https://source.example/$slug/$n\", \"title\": \"Source $n\", \"publisher\": \"P\", \"kind\": \"news_report\", \"language\": \"en\"}" | json '["id"]')
    citations+="${citations:+,}{\"source_id\": \"$id\", \"claim\": \"Claim $n\", \"quote\": \"Quote $n\", \"locator\": \"paragraph $n\"}"
  done
  post "/v1/articles/$slug/citations" "$journalist" "{\"citations\": [$citations]}" |
    python3 -c 'import json,sys; c=json.load(sys.stdin)["citations"]; print("\n".join(x["id"] for x in c[::2]))' |
    while read -r id; do post "/v1/citations/$id/verify" "$editor" '{}' >/dev/null; done
  post "/v1/articles/$slug/publish" "$editor" '{}' >/dev/null
}

start_nginx() { # the same bytes as files
  mkdir -p "$work/www" "$work/nginx"
  local n
  for n in $sizes; do
    curl -sf "$base/v1/articles/bench-$n/sources" -o "$work/www/teaser-$n.json"
    curl -sf -H "Authorization: Bearer $subscriber" "$base/v1/articles/bench-$n/sources" -o "$work/www/list-$n.json"
    echo "bytes: teaser of $n $(wc -c <"$work/www/teaser-$n.json"), list of $n $(wc -c <"$work/www/list-$n.json")"
  done
  cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  open_file_cache max=16;
  default_type application/json;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  server { listen 127.0.0.1:$nginx_port; root $work/www; }
}
EOF
  # nginx's workers run as nobody: they must be able to read the files.
  chmod 755 "$work"
  chmod -R a+rX "$work/www"
  nginx -c "$work/nginx/nginx.conf" &
  nginx_pid=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$nginx_port/teaser-20.json" >/dev/null && return
    sleep 0.05
  done
  echo "nginx did not serve the files" >&2
  exit 1
}

row() { # name, goal, nginx "RPS P99", ours "RPS P99"
  local ratio
  ratio=$(python3 -c "print(f'{${4%% *}/${3%% *}:.2f}')" 2>/dev/null || echo "?")
  printf '%-34s %-30s nginx %7s req/s, p99 %5s ms | ours %7s req/s, p99 %5s ms | %s x nginx\n' "$1" "$2" \
    "${3%% *}" "$(echo "$3" | cut -d' ' -f2-)" "${4%% *}" "$(echo "$4" | cut -d' ' -f2-)" "$ratio"
}

writes_lua=$work/write.lua
single_write_lua "$writes_lua"

sizes="20 200"

run_backend() { # label, database URL or empty
  start_server "$1" "${2:-}"
  setup_tokens
  local n
  for n in $sizes; do setup_article "bench-$n" "$n"; done
  # nginx serves the first backend's bytes; each backend's own are the same
  # size to within a few bytes (ids and hashes differ, not their lengths).
  [ -z "$nginx_pid" ] && start_nginx
  echo "== $1: $(nproc) cores, $connections connections, ${seconds}s each"
  local n_teaser o_teaser n_list o_list w
  for n in $sizes; do
    n_teaser=$(measure "http://127.0.0.1:$nginx_port/teaser-$n.json")
    o_teaser=$(measure "$base/v1/articles/bench-$n/sources")
    row "anonymous teaser, $n sources" ">= 0.9 x nginx, p99 <= 5 ms" "$n_teaser" "$o_teaser"
    n_list=$(measure "http://127.0.0.1:$nginx_port/list-$n.json")
    o_list=$(measure -H "Authorization: Bearer $subscriber" "$base/v1/articles/bench-$n/sources")
    row "subscriber list, $n with proofs" ">= 0.7 x nginx, p99 <= 5 ms" "$n_list" "$o_list"
  done
  [ -n "${SOURCELEDGER_BENCH_READS_ONLY:-}" ] && { stop_server; return; }
  w=$(measure -s "$writes_lua" -H "Authorization: Bearer $journalist" "$base/v1/sources")
  printf '%-34s %-30s ours %7s req/s, p99 %s ms\n' "single writes, $connections connections" \
    "$([ "$1" = sqlite ] && echo '>= 12000/s, p99 <= 20 ms' || echo '>= 5000/s, p99 <= 50 ms')" "${w%% *}" "$(echo "$w" | cut -d' ' -f2-)"
  w=$(batch_of_100_per_second "$journalist" "$work" 4)
  printf '%-34s %-30s ours %7s citations/s %s\n' "batch citations, 4 clients" \
    "$([ "$1" = sqlite ] && echo '>= 40000/s' || echo '>= 20000/s')" "${w%% *}" "${w#* }"
  stop_server
}

run_backend sqlite
if [ -n "${SOURCELEDGER_BENCH_POSTGRES_URL:-}" ]; then
  db="sourceledger_bench_$$"
  psql "$SOURCELEDGER_BENCH_POSTGRES_URL" -qc "CREATE DATABASE $db" >/dev/null
  pg_url="${SOURCELEDGER_BENCH_POSTGRES_URL%/*}/$db"
  run_backend postgres "$pg_url"
  psql "$SOURCELEDGER_BENCH_POSTGRES_URL" -qc "DROP DATABASE $db" >/dev/null
fi
