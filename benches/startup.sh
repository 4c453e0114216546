#!/usr/bin/env bash
# Start-up on an existing log: from exec to the first answered /readyz and
# /v1/ledger/checkpoint. The log: cargo bench --bench ledger -- --dir /tmp/final1m
#   cargo build --release && bash benches/startup.sh /tmp/final1m
dir=$1
start=$(date +%s%N)
SOURCELEDGER_DATA_DIR=$dir SOURCELEDGER_ORIGIN=bench.sourceledger.example/ledger SOURCELEDGER_BIND=127.0.0.1:18080 RUST_LOG=warn "$(cd "$(dirname "$0")/.." && pwd)/target/release/sourceledger" serve & pid=$!
until curl -sf http://127.0.0.1:18080/readyz >/dev/null; do sleep 0.005; done
ready=$(date +%s%N)
size=$(curl -sf http://127.0.0.1:18080/v1/ledger/checkpoint | sed -n 2p)
done_=$(date +%s%N)
echo "size $size: ready after $(( (ready-start)/1000000 )) ms, first checkpoint after $(( (done_-start)/1000000 )) ms"
kill -TERM $pid; wait $pid
