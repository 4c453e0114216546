# Shared by the HTTP benchmarks (sourced, not run): calls to a running server
# at $base, with $admin an admin's token once `admin_token` ran.

# Installs the Debian packages that provide commands "$@" (command=package)
# when a command is missing.
need() {
  local pair missing=()
  for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
  done
  [ ${#missing[@]} -eq 0 ] && return
  echo "installing ${missing[*]} (Debian packages)" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}" >/dev/null 2>&1 ||
    { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}" >/dev/null; }
}

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
post() { curl -sf -X POST "$base$1" -H "Authorization: Bearer $2" -H 'content-type: application/json' -d "$3"; }

# An admin token from the bootstrap key in data dir $1.
admin_token() {
  curl -sf -X POST "$base/v1/auth/token" -H 'content-type: application/json' \
    -d "{\"api_key\": \"$(cat "$1/bootstrap-admin.key")\"}" | json '["access_token"]'
}

# A token for a new API key of role $1.
token_for() {
  local key
  key=$(post /v1/keys "$admin" "{\"role\": \"$1\", \"name\": \"bench $1 $(date +%s%N)\"}" | json '["key"]')
  curl -sf -X POST "$base/v1/auth/token" -H 'content-type: application/json' -d "{\"api_key\": \"$key\"}" | json '["access_token"]'
}

# Citations per second through the batch endpoint, batches of 1000 as
# journalist token $1, scratch files in $2: 20 batches from one client one
# after the other, or with $3 clients at once, 10 batches each (as several
# desks importing together). Prints the rate.
batch_citations_per_second() {
  local clients=${3:-1} source_id start end c pids=()
  source_id=$(post /v1/sources "$1" '{"url": "https://source.example/batch", "title": "Batch", "publisher": "P", "kind": "dataset", "language": "en"}' | json '["id"]')
  post /v1/articles "$1" '{"slug": "batch", "title": "Batch", "url": "https://news.example/batch", "language": "en", "authors": ["A"]}' >/dev/null 2>&1 || true
  python3 - "$source_id" >"$2/batch.json" <<'PY'
import json, sys
print(json.dumps({"citations": [{"source_id": sys.argv[1], "claim": f"Claim {n}", "locator": f"p{n}"} for n in range(1000)]}))
PY
  local per_client=20
  [ "$clients" -gt 1 ] && per_client=10
  start=$(date +%s%N)
  for c in $(seq 1 "$clients"); do
    (for _ in $(seq 1 "$per_client"); do
      curl -sf -o /dev/null -X POST "$base/v1/articles/batch/citations" -H "Authorization: Bearer $1" \
        -H 'content-type: application/json' --data-binary "@$2/batch.json"
    done) &
    pids+=($!)
  done
  wait "${pids[@]}"
  end=$(date +%s%N)
  echo $((clients * per_client * 1000 * 1000000000 / (end - start)))
}

# Citations per second in SPEC "Benchmark shapes": requests of 100 citations
# of 100 distinct existing sources into one draft article, from $3 clients at
# once (default 4: wrk connections) for $seconds; journalist token $1,
# scratch files in $2. Prints the rate and the requests' p99.
batch_of_100_per_second() {
  local clients=${3:-4} n ids out
  post /v1/articles "$1" '{"slug": "batch100", "title": "Batch", "url": "https://news.example/batch100", "language": "en", "authors": ["A"]}' >/dev/null
  ids=$(for n in $(seq 1 100); do
    post /v1/sources "$1" "{\"url\": \"https://source.example/batch100/$n\", \"title\": \"Batch $n\", \"publisher\": \"P\", \"kind\": \"dataset\", \"language\": \"en\"}" | json '["id"]'
  done)
  echo "$ids" | python3 -c '
import json, sys
ids = sys.stdin.read().split()
print(json.dumps({"citations": [{"source_id": s, "claim": f"Claim {n}", "quote": f"Quote {n}", "locator": f"p{n}"} for n, s in enumerate(ids)]}))
' >"$2/batch100.json"
  cat >"$2/batch100.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$2/batch100.json")
wrk.body = f:read("*a")
f:close()
EOF
  out=$(connections=$clients measure -s "$2/batch100.lua" -H "Authorization: Bearer $1" "$base/v1/articles/batch100/citations")
  echo "$((${out%% *} * 100)) (p99 of a request $(echo "$out" | cut -d' ' -f2-) ms)"
}

# wrk's requests/s and p99 (ms) of one run with $connections connections for
# $seconds seconds, as "RPS P99".
measure() {
  wrk -t2 -c"$connections" -d"${seconds}s" --latency "$@" | awk '
    /Requests\/sec/ {rps=$2}
    /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; p99=v}
    /Non-2xx/ {bad=$NF}
    END {printf "%.0f %.1f%s\n", rps, p99, (bad ? " non-2xx:" bad : "")}'
}

# The wrk script of a single source write (POST /v1/sources), written to $1.
single_write_lua() {
  cat >"$1" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"url": "https://source.example/w", "title": "W", "publisher": "P", "kind": "document", "language": "en"}'
EOF
}

# Starts "$bin" serve on $port (at $base) with data dir $1, database URL $2
# (SQLite in the data dir when empty) and extra VAR=value settings after
# them; limits, link checks and captures on record off. Sets $pid and $admin.
serve() {
  local data=$1 database=$2
  shift 2
  mkdir -p "$data"
  env SOURCELEDGER_DATA_DIR="$data" SOURCELEDGER_BIND=127.0.0.1:$port \
    SOURCELEDGER_RATE_LIMIT_ANON=0 SOURCELEDGER_RATE_LIMIT_TOKEN=0 \
    SOURCELEDGER_LINK_CHECK_INTERVAL=0 SOURCELEDGER_CAPTURE_ON_RECORD=false RUST_LOG=${RUST_LOG:-warn} \
    ${database:+SOURCELEDGER_DATABASE_URL=$database} "$@" "$bin" serve &
  pid=$!
  until curl -sf "$base/readyz" >/dev/null; do
    kill -0 "$pid" 2>/dev/null || { echo "the server did not start" >&2; exit 1; }
    sleep 0.05
  done
  admin=$(admin_token "$data")
}

stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

# A benchmark's setting up: the release binary (or SOURCELEDGER_BENCH_BIN), a
# scratch folder $work, the server's $port and $base, and on exit the server
# ($pid) and any helper processes ($sites) stopped and $work removed.
bench_setup() {
  bin=${SOURCELEDGER_BENCH_BIN:-$here/target/release/sourceledger}
  work=$(mktemp -d)
  port=$1
  base=http://127.0.0.1:$port
  pid=""
  sites=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  for s in "${sites[@]}"; do kill "$s" 2>/dev/null || true; done
  rm -rf "$work"
}
