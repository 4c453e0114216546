#!/usr/bin/env bash
# Notifications (issue 28), on a release build, SQLite: the time from an
# event's write to its arrival at a receiver (goal: p95 <= 2 s).
#
# A loopback receiver (tests/webhooks/receiver.py, which checks each
# request's Standard Webhooks signature with the PyPI `standardwebhooks`
# package) is subscribed to `article.published`; then $1 articles (default
# 200) are published one after another, $2 ms apart (default 50). For each,
# the latency is from the publish request's response (and, beside it, from
# the request's start) to the receiver's reading of the delivery. Prints
# p50, p95 and the largest.
#
#   cargo build --release && bash benches/notifications.sh [events] [gap_ms]
#
# The venv with `standardwebhooks` is $SOURCELEDGER_TEST_WEBHOOK_TOOLS, or the
# one .ci/run makes (~/.cache/sourceledger-ci/webhooks-1), made here if absent.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/common.sh
. "$here/benches/common.sh"
bench_setup 18346
need curl=curl
events=${1:-200}
gap_ms=${2:-50}

tools=${SOURCELEDGER_TEST_WEBHOOK_TOOLS:-${SOURCELEDGER_CI_CACHE:-$HOME/.cache/sourceledger-ci}/webhooks-1}
if [ ! -x "$tools/bin/python" ] || ! "$tools/bin/python" -c 'import standardwebhooks' 2>/dev/null; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install -q standardwebhooks==1.3.0
  touch "$tools/.installed"
fi
received=$work/received.jsonl
"$tools/bin/python" "$here/tests/webhooks/receiver.py" 18347 "$received" >"$work/receiver.out" &
sites+=($!)
until grep -q '^port' "$work/receiver.out" 2>/dev/null; do sleep 0.05; done

serve "$work/data" "" SOURCELEDGER_FETCH_ALLOW=127.0.0.1
journalist=$(token_for journalist)
editor=$(token_for editor)
secret=$(post /v1/notifications "$admin" '{"url": "http://127.0.0.1:18347/hook", "events": ["article.published"]}' | json '["secret"]')
curl -sf -X POST http://127.0.0.1:18347/_control -d "{\"secret\": \"$secret\"}"

python3 - "$base" "$journalist" "$editor" "$events" "$gap_ms" "$received" <<'PY'
import json, sys, time, urllib.request

base, journalist, editor, events, gap_ms, received = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]

def post(path, token, body):
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        answer.read()

sent = {}
for n in range(events):
    slug = f"story-{n}"
    post("/v1/articles", journalist, {"slug": slug, "title": f"Story {n}", "url": f"https://news.example/{slug}", "language": "en", "authors": ["A"]})
    started = time.time()
    post(f"/v1/articles/{slug}/publish", editor, {})
    sent[slug] = (started, time.time())
    time.sleep(gap_ms / 1000)

deadline = time.time() + 120
while True:
    lines = [json.loads(l) for l in open(received)] if __import__("os").path.exists(received) else []
    if len(lines) >= events or time.time() > deadline:
        break
    time.sleep(0.1)
assert not any("rejected" in l for l in lines), "a signature did not verify"
by_slug = {l["payload"]["data"]["article"]["slug"]: l["received_at"] for l in lines}
missing = [s for s in sent if s not in by_slug]
from_response = sorted(by_slug[s] - sent[s][1] for s in sent if s in by_slug)
from_request = sorted(by_slug[s] - sent[s][0] for s in sent if s in by_slug)

def pct(values, p):
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000

print(f"{len(by_slug)} of {events} events received ({len(lines)} deliveries, {len(missing)} missing), signatures verified")
for name, values in (("from the write's response", from_response), ("from the write's request", from_request)):
    print(f"latency {name}: p50 {pct(values, 50):.1f} ms, p95 {pct(values, 95):.1f} ms, max {values[-1] * 1000:.1f} ms")
PY
