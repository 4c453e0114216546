"""Seed a fresh sourceledger server with one of everything, for schemathesis.

Usage: seed.py BASE_URL ADMIN_KEY. Prints shell assignments of bearer tokens
(ADMIN_TOKEN, EDITOR_TOKEN, SUBSCRIBER_TOKEN) on stdout. Uses only the
standard library, so it runs in the same venv as schemathesis.
"""

import json
import sys
import urllib.error
import urllib.request

BASE, ADMIN_KEY = sys.argv[1].rstrip("/"), sys.argv[2]


def call(method, path, body=None, token=None, expect=(200, 201)):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    if status not in expect:
        sys.exit(f"seed: {method} {path} answered {status}: {text[:500]!r}")
    return json.loads(text) if text else None


def token_for(api_key):
    return call("POST", "/v1/auth/token", {"api_key": api_key})["access_token"]


admin = token_for(ADMIN_KEY)
keys = {
    role: call("POST", "/v1/keys", {"role": role, "name": f"seed {role}"}, admin)["key"]
    for role in ("journalist", "editor", "auditor", "integration", "admin")
}
journalist, editor = token_for(keys["journalist"]), token_for(keys["editor"])
# A revoked key: listed, and its id answers DELETE with a conflict-free 404/200 path.
spare = call("POST", "/v1/keys", {"role": "auditor", "name": "seed revoked"}, admin)
call("DELETE", f"/v1/keys/{spare['id']}", token=admin, expect=(200, 204))

sources = []
for n, kind in enumerate(("official_statement", "dataset", "academic")):
    source = call("POST", "/v1/sources", {
        "url": f"https://example.org/source/{n}",
        "title": f"Seed source {n}",
        "publisher": "Example Publisher",
        "kind": kind,
        "language": "en",
        "published_at": "2026-11-01",
        "accessed_at": "2026-11-02T10:00:00Z",
        "snapshot_sha256": "ab" * 32,
        "doi": f"10.1000/seed{n}",
    }, journalist)
    sources.append(source)
# A second version of the first source.
call("PATCH", f"/v1/sources/{sources[0]['id']}", {"title": "Seed source 0, corrected"}, journalist)

for status in ("draft", "published", "retracted"):
    slug = f"seed-{status}"
    call("POST", "/v1/articles", {
        "slug": slug,
        "title": f"A {status} article",
        "url": f"https://news.example/{slug}",
        "language": "en",
        "authors": ["Seed Author"],
    }, journalist)
    batch = call("POST", f"/v1/articles/{slug}/citations", {"citations": [
        {"source_id": s["id"], "claim": f"Claim {i}", "locator": f"paragraph {i}",
         "quote": "Quoted words", "note": "A note"}
        for i, s in enumerate(sources)
    ]}, journalist)
    citations = batch["citations"] if isinstance(batch, dict) else batch
    call("POST", f"/v1/citations/{citations[0]['id']}/verify", token=editor)
    call("POST", f"/v1/citations/{citations[1]['id']}/retract", {"reason": "Seeded retraction"}, editor)
    if status != "draft":
        call("POST", f"/v1/articles/{slug}/publish", token=editor)
    if status == "retracted":
        call("POST", f"/v1/articles/{slug}/retract", {"reason": "Seeded"}, editor)

subscriber = call("POST", "/v1/subscribers", {"external_id": "seed-member", "email": "member@example.org", "tier": "member"}, admin)
call("POST", "/v1/subscribers", {"external_id": "seed-free", "tier": "free"}, admin)
subscriber_token = call("POST", f"/v1/subscribers/{subscriber['id']}/token", token=admin)["access_token"]

call("POST", "/v1/platforms", {"kind": "ghost", "name": "seed ghost", "site": "https://members.example"}, admin)
call("POST", "/v1/platforms", {"kind": "oidc", "name": "seed oidc", "issuer": "https://id.example",
                               "jwks_url": "https://id.example/jwks.json", "audience": "seed"}, admin)
call("POST", "/v1/platforms", {"kind": "standard-webhooks", "name": "seed letters"}, admin)

print(f"ADMIN_TOKEN={admin}")
print(f"EDITOR_TOKEN={editor}")
print(f"SUBSCRIBER_TOKEN={subscriber_token}")
