#!/usr/bin/env bash
# Issue 13's promise, measured: a time-stamping authority or witnesses that
# are down or hang never slow writes. Single source writes from many
# connections with wrk, side by side in one run on one database backend:
#   none   no TSA, no witnesses;
#   down   a TSA and two witnesses on a port where nothing listens;
#   hung   a TSA and two witnesses that accept and never answer.
# Each run starts a fresh server and data dir. Ratios are against "none".
#
#   cargo build --release && bash benches/trust.sh [CONNECTIONS] [SECONDS]
set -euo pipefail
connections=${1:-64}
seconds=${2:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${SOURCELEDGER_BENCH_BIN:-$here/target/release/sourceledger}
work=$(mktemp -d)
port=18291
base=http://127.0.0.1:$port
pid=""
hang_pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$hang_pid" ] && kill "$hang_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=benches/common.sh
. "$here/benches/common.sh"
need wrk=wrk curl=curl

# A port where nothing listens, and one that accepts and never answers.
down_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
hang_port=18292
python3 - "$hang_port" <<'PY' &
import socket, sys
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen(1024)
held = []
while True:
    connection, _ = server.accept()
    held.append(connection)  # read nothing, answer nothing
PY
hang_pid=$!

start_server() { # label, then extra settings as NAME=VALUE
  local data=$work/data-$1
  shift
  mkdir -p "$data"
  env SOURCELEDGER_DATA_DIR="$data" SOURCELEDGER_BIND=127.0.0.1:$port \
    SOURCELEDGER_RATE_LIMIT_ANON=0 SOURCELEDGER_RATE_LIMIT_TOKEN=0 \
    SOURCELEDGER_LINK_CHECK_INTERVAL=0 SOURCELEDGER_FETCH_ALLOW=127.0.0.1 RUST_LOG=error \
    ${SOURCELEDGER_BENCH_DATABASE_URL:+SOURCELEDGER_DATABASE_URL=$SOURCELEDGER_BENCH_DATABASE_URL} \
    "$@" "$bin" serve &
  pid=$!
  until curl -sf "$base/readyz" >/dev/null; do sleep 0.05; done
  admin=$(admin_token "$data")
}

stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

writes_lua=$work/write.lua
single_write_lua "$writes_lua"

writes() { # label, then extra settings
  start_server "$@"
  local journalist
  journalist=$(token_for journalist)
  measure -s "$writes_lua" -H "Authorization: Bearer $journalist" "$base/v1/sources"
  stop_server
}

# A server's own witness key stands in for the witnesses' keys.
start_server key
witness_key=$(curl -sf "$base/v1/witness/key" | json '["vkey"]')
stop_server

echo "== single writes, $(nproc) cores, $connections connections, ${seconds}s each, ${SOURCELEDGER_BENCH_DATABASE_URL:+PostgreSQL}${SOURCELEDGER_BENCH_DATABASE_URL:-SQLite}"
none=$(writes none)
witnesses_at() { echo "$witness_key http://127.0.0.1:$1/a/witness,$witness_key http://127.0.0.1:$1/b/witness"; }
down=$(writes down SOURCELEDGER_TSA_URL="http://127.0.0.1:$down_port/tsa" \
  SOURCELEDGER_WITNESSES="$(witnesses_at "$down_port")")
hung=$(writes hung SOURCELEDGER_TSA_URL="http://127.0.0.1:$hang_port/tsa" \
  SOURCELEDGER_WITNESSES="$(witnesses_at "$hang_port")")
for pair in "none:$none" "down:$down" "hung:$hung"; do
  label=${pair%%:*}
  result=${pair#*:}
  ratio=$(python3 -c "print(f'{${result%% *}/${none%% *}:.2f}')")
  printf '%-6s %7s req/s, p99 %6s ms | %s x none\n' "$label" "${result%% *}" "$(echo "$result" | cut -d' ' -f2-)" "$ratio"
done
