#!/usr/bin/env bash
# Audit on a large log: searches, a streaming export (server memory before and
# after), /v1/audit/verify and `sourceledger verify --all`, next to the machine's
# raw SHA-256 rate. Make the log first:
#   cargo bench --bench ledger -- --entries 1000000 --singles 0 --dir /tmp/audit1m
#   cargo build --release && bash benches/audit.sh /tmp/audit1m
set -euo pipefail
dir=$1; port=18282; base=http://127.0.0.1:$port
bin=/work/main/target/release/sourceledger
SOURCELEDGER_DATA_DIR=$dir SOURCELEDGER_ORIGIN=bench.sourceledger.example/ledger SOURCELEDGER_BIND=127.0.0.1:$port RUST_LOG=warn $bin serve & pid=$!
trap 'kill $pid; wait $pid 2>/dev/null' EXIT
until curl -sf $base/readyz >/dev/null; do sleep 0.1; done
token=$(curl -sf -X POST $base/v1/auth/token -H 'content-type: application/json' -d "{\"api_key\": \"$(cat $dir/bootstrap-admin.key)\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
size=$(curl -sf $base/v1/ledger/checkpoint | sed -n 2p)
echo "== log of $size entries"
rss() { awk '/VmRSS/{print $2}' /proc/$pid/status; }
for q in "kind=bench.entry&limit=100" "actor=journalist:bench&cursor=900000&limit=100" "from=2000-01-01T00:00:00Z&limit=100" "kind=no.such.kind"; do
  t=$(curl -sf -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" "$base/v1/audit/events?$q")
  echo "GET /v1/audit/events?$q: ${t}s"
done
before=$(rss)
s=$(date +%s%N)
bytes=$(curl -sf -H "Authorization: Bearer $token" "$base/v1/audit/export?format=ndjson" | wc -c)
e=$(date +%s%N)
echo "export ndjson: $bytes bytes in $(( (e-s)/1000000 )) ms; server RSS ${before} KiB before, $(rss) KiB after"
openssl speed -evp sha256 -seconds 3 2>/dev/null | tail -2
# Writers while the verification runs: the slowest write's latency.
( for _ in $(seq 1 20); do
    curl -sf -o /dev/null -w '%{time_total}\n' -X POST $base/v1/sources -H "Authorization: Bearer $token" \
      -H 'content-type: application/json' -d '{"url": "https://w.example/", "title": "W", "publisher": "P", "kind": "other", "language": "en"}'
    sleep 0.1
  done | sort -n | tail -1 | sed 's/^/slowest of 20 writes during the verification: /; s/$/ s/' ) &
writers=$!
s=$(date +%s%N)
curl -sf -X POST $base/v1/audit/verify -H "Authorization: Bearer $token" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("audit/verify:", "ok" if r["ok"] else "NOT ok", r["checked"], "checked,", len(r["problems"]), "problems")'
e=$(date +%s%N)
echo "POST /v1/audit/verify: $(( (e-s)/1000000 )) ms, $(( size * 1000000000 / (e-s) )) leaves/s"
wait $writers
vkey=$(curl -sf $base/v1/ledger/key | python3 -c 'import json,sys; print(json.load(sys.stdin)["vkey"])')
s=$(date +%s%N)
/usr/bin/time -f "verify --all: max RSS %M KiB" $bin verify --vkey "$vkey" --url $base --token "$token" --all 2>&1 | grep -v '^re-hashed' | tr '\r' '\n' | grep -v '^re-hashed' | tail -3
e=$(date +%s%N)
echo "sourceledger verify --all: $(( (e-s)/1000000 )) ms, $(( size * 1000000000 / (e-s) )) leaves/s"
