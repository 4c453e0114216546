#!/usr/bin/env bash
# The transparency page on a large log: a log of about a million entries (the
# ledger benchmark's, plus a newsroom made through the API: articles
# published with thousands of citations, some retracted), then the server
# time of GET /v1/transparency and GET /transparency next to GET /healthz in
# the same run (p50/p99 and their ratio), idle and while writers append, and
# how long one count takes (the first request after start, when nothing is
# counted yet).
#
#   cargo bench --bench ledger -- --entries 1000000 --singles 0 --dir /tmp/transparency1m
#   cargo build --release && bash benches/transparency.sh /tmp/transparency1m
#
# Timings are the client's, on loopback, over one kept-alive connection
# (Python's http.client), so they include the client's own overhead; the
# /healthz baseline has the same overhead.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/common.sh
. "$here/benches/common.sh"
data=$1
articles=${ARTICLES:-100}
per_article=${PER_ARTICLE:-1000}
bench_setup 18291

serve "$data" "${SOURCELEDGER_BENCH_POSTGRES:-}" SOURCELEDGER_ORIGIN=bench.sourceledger.example/ledger
admin=$(admin_token "$data")
journalist=$(token_for journalist)
editor=$(token_for editor)

if [ ! -f "$data/.newsroom-made" ]; then
  echo "== making $articles articles of $per_article citations each"
  python3 - "$base" "$journalist" "$editor" "$articles" "$per_article" <<'PY'
import http.client, json, sys, urllib.parse
base, journalist, editor, articles, per = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
u = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(u.hostname, u.port)
def call(method, path, token, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    r = conn.getresponse(); data = r.read()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {data[:300]!r}")
    return json.loads(data) if data else None
sources = [call("POST", "/v1/sources", journalist,
                {"url": f"https://source{n % 97}.example/doc/{n}", "title": f"Document {n}",
                 "publisher": "Publisher", "kind": "document", "language": "en"})["id"]
           for n in range(200)]
for a in range(articles):
    slug = f"bench-{a}"
    call("POST", "/v1/articles", journalist, {"slug": slug, "title": f"Story {a}", "url": f"https://news.example/{slug}",
                                               "language": "en", "authors": ["Bench"]})
    made = call("POST", f"/v1/articles/{slug}/citations", journalist,
                {"citations": [{"source_id": sources[(a * 7 + n) % len(sources)], "claim": f"Claim {n}", "locator": f"p{n}"}
                               for n in range(per)]})
    call("POST", f"/v1/articles/{slug}/publish", editor, {})
    # A correction in every tenth article.
    if a % 10 == 0:
        call("POST", f"/v1/citations/{made['citations'][0]['id']}/retract", editor, {"reason": "a correction"})
PY
  touch "$data/.newsroom-made"
fi
size=$(curl -sf "$base/v1/ledger/checkpoint" | sed -n 2p)
echo "== log of $size entries"

# One count: the first request of a fresh server waits for it.
stop_server
serve "$data" "${SOURCELEDGER_BENCH_POSTGRES:-}" SOURCELEDGER_ORIGIN=bench.sourceledger.example/ledger
s=$(date +%s%N)
curl -sf -o /dev/null "$base/v1/transparency"
e=$(date +%s%N)
echo "one count (the first request after start): $(( (e - s) / 1000000 )) ms"
curl -sf "$base/v1/transparency" | python3 -c 'import json,sys; f=json.load(sys.stdin); print("figures:", json.dumps({k: f[k] for k in ("articles", "citations")}))'

measure() {
  python3 - "$base" "$1" <<'PY'
import http.client, sys, time, urllib.parse
base, label = sys.argv[1], sys.argv[2]
u = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(u.hostname, u.port)
def times(path, n=3000):
    out = []
    for _ in range(n):
        s = time.perf_counter()
        conn.request("GET", path)
        r = conn.getresponse(); r.read()
        out.append((time.perf_counter() - s) * 1000)
        assert r.status == 200, (path, r.status)
    out.sort()
    return out[len(out) // 2], out[int(len(out) * 0.99)]
base_p50, base_p99 = times("/healthz")
for path in ("/v1/transparency", "/transparency"):
    p50, p99 = times(path)
    print(f"{label}: GET {path}: p50 {p50:.2f} ms, p99 {p99:.2f} ms; /healthz p50 {base_p50:.2f} ms, p99 {base_p99:.2f} ms; p99 ratio {p99 / base_p99:.2f}")
PY
}
measure idle

# Writers append the whole time: the log grows, the figures are counted
# again in the background, requests are still answered from the last count.
python3 - "$base" "$journalist" <<'PY' &
import http.client, json, sys, time, urllib.parse
base, token = sys.argv[1], sys.argv[2]
u = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(u.hostname, u.port)
end = time.time() + 60
while time.time() < end:
    conn.request("POST", "/v1/sources", body=json.dumps({"url": "https://w.example/", "title": "W", "publisher": "P", "kind": "other", "language": "en"}),
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    conn.getresponse().read()
    time.sleep(0.02)
PY
writer=$!
sites+=("$writer")
counted() { curl -sf "$base/v1/transparency" | json '["counted"]["entries"]'; }
sleep 6
before=$(counted)
measure "while writing"
echo "while writing: the figures counted $before entries before the requests, $(counted) after"
kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null || true
