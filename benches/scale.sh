#!/usr/bin/env bash
# The goal table of issue 12, measured side by side in one run with wrk
# (Debian package) on this machine: nginx serving the very bytes of the
# anonymous teaser and of a subscriber's list (20 citations with proofs)
# from files, next to sourceledger serving them; single source writes from
# 64 connections; citations through the batch endpoint. On SQLite, and on
# PostgreSQL when SOURCELEDGER_BENCH_POSTGRES_URL names a server where the
# script may create a database. Ratios are against nginx in the same run.
#
#   cargo build --release && bash benches/scale.sh [CONNECTIONS] [SECONDS]
set -euo pipefail
connections=${1:-64}
seconds=${2:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$here/target/release/sourceledger
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

setup_article() {
  journalist=$(token_for journalist)
  editor=$(token_for editor)
  integration=$(token_for integration)
  post /v1/articles "$journalist" '{"slug": "bench", "title": "Bench", "url": "https://news.example/bench", "language": "en", "authors": ["A"]}' >/dev/null
  local citations="" id n
  for n in $(seq 1 20); do
    id=$(post /v1/sources "$journalist" "{\"url\": \"https://source.example/$n\", \"title\": \"Source $n\", \"publisher\": \"P\", \"kind\": \"news_report\", \"language\": \"en\"}" | json '["id"]')
    citations+="${citations:+,}{\"source_id\": \"$id\", \"claim\": \"Claim $n\", \"quote\": \"Quote $n\", \"locator\": \"paragraph $n\"}"
  done
  post /v1/articles/bench/citations "$journalist" "{\"citations\": [$citations]}" >/dev/null
  post /v1/articles/bench/publish "$editor" '{}' >/dev/null
  local sub
  sub=$(post /v1/subscribers "$integration" '{"external_id": "bench", "tier": "free"}' | json '["id"]')
  subscriber=$(post "/v1/subscribers/$sub/token" "$integration" '{}' | json '["access_token"]')
}

start_nginx() { # the same bytes as files
  mkdir -p "$work/www" "$work/nginx"
  curl -sf "$base/v1/articles/bench/sources" -o "$work/www/teaser.json"
  curl -sf -H "Authorization: Bearer $subscriber" "$base/v1/articles/bench/sources" -o "$work/www/list.json"
  cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
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
    curl -sf "http://127.0.0.1:$nginx_port/teaser.json" >/dev/null && return
    sleep 0.05
  done
  echo "nginx did not serve the files" >&2
  exit 1
}

row() { # name, goal, nginx "RPS P99", ours "RPS P99"
  local ratio
  ratio=$(python3 -c "print(f'{${4%% *}/${3%% *}:.2f}')" 2>/dev/null || echo "?")
  printf '%-34s %-34s nginx %7s req/s | ours %7s req/s, p99 %6s ms | %s x nginx\n' "$1" "$2" "${3%% *}" "${4%% *}" "$(echo "$4" | cut -d' ' -f2-)" "$ratio"
}

writes_lua=$work/write.lua
single_write_lua "$writes_lua"

run_backend() { # label, database URL or empty
  start_server "$1" "${2:-}"
  setup_article
  [ -z "$nginx_pid" ] && start_nginx
  echo "== $1: $(nproc) cores, $connections connections, ${seconds}s each"
  local n_teaser o_teaser n_list o_list w
  n_teaser=$(measure "http://127.0.0.1:$nginx_port/teaser.json")
  o_teaser=$(measure "$base/v1/articles/bench/sources")
  row "anonymous teaser, 20 sources" ">= 0.7 x nginx, p99 <= 10 ms" "$n_teaser" "$o_teaser"
  n_list=$(measure "http://127.0.0.1:$nginx_port/list.json")
  o_list=$(measure -H "Authorization: Bearer $subscriber" "$base/v1/articles/bench/sources")
  row "subscriber list, 20 with proofs" ">= 0.5 x nginx, p99 <= 10 ms" "$n_list" "$o_list"
  w=$(measure -s "$writes_lua" -H "Authorization: Bearer $journalist" "$base/v1/sources")
  printf '%-34s %-34s ours %7s req/s, p99 %s ms\n' "single writes, $connections connections" \
    "$([ "$1" = sqlite ] && echo '>= 3000/s, p99 <= 50 ms' || echo '>= 1500/s, p99 <= 100 ms')" "${w%% *}" "$(echo "$w" | cut -d' ' -f2-)"
  printf '%-34s %-34s ours %7s citations/s\n' "batch citations, 1 client" ">= 20000/s" \
    "$(batch_citations_per_second "$journalist" "$work" 1)"
  printf '%-34s %-34s ours %7s citations/s\n' "batch citations, 4 clients" ">= 20000/s" \
    "$(batch_citations_per_second "$journalist" "$work" 4)"
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
