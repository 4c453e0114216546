#!/usr/bin/env python3
"""A real Ghost 5 on loopback for tests/api/ghost.rs, with nothing beyond the
Python standard library, npm and the Debian Node headers.

    ghost.py start [HOME]          install Ghost into HOME (once, slow), start it;
                                   prints GHOST_URL, GHOST_PID, GHOST_DB, GHOST_LOG
    ghost.py setup URL             make the owner and an integration; prints
                                   GHOST_ADMIN_KEY=<id>:<hex secret>
    ghost.py webhooks URL KEY TARGET SECRET --events a,b
                                   register webhooks; prints "WEBHOOK <event> <id>"
    ghost.py member-token URL EMAIL --db PATH
                                   a member's identity JWT, as Ghost's own
                                   /members/api/session gives it after a sign-in
                                   link (read from Ghost's database: no mail is sent)

HOME defaults to $GHOST_HOME, else ~/.cache/sourceledger-ci/ghost. The site is
configured for tests: stub mail, no outbound pings, no staff device
verification, sign-in rate limits relaxed. Traffic stays on 127.0.0.1.
"""
import argparse
import base64
import hashlib
import hmac
import http.cookiejar
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request

VERSION = os.environ.get("GHOST_VERSION", "5.130.6")


def log(*parts):
    print("[ghost]", *parts, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- HTTP


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def admin_token(key: str) -> str:
    """Ghost's Admin API token: an HS256 JWT for audience /admin/, keyed by the
    integration key's hex secret, valid five minutes."""
    key_id, secret = key.split(":", 1)
    now = int(time.time())
    head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key_id}).encode())
    body = _b64url(json.dumps({"iat": now, "exp": now + 300, "aud": "/admin/"}).encode())
    mac = hmac.new(bytes.fromhex(secret), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64url(mac)}"


class _Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Site:
    """Requests to one Ghost site, keeping its cookies; never through a proxy."""

    def __init__(self, url, key=None):
        self.url = url.rstrip("/")
        self.key = key
        self.jar = http.cookiejar.CookieJar()
        self.http = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _Stay(), urllib.request.ProxyHandler({})
        )

    def call(self, method, path, body=None, headers=None):
        """(status, headers, bytes)."""
        sent = {"Origin": self.url, "Accept": "application/json", "Accept-Version": "v5.0"}
        if self.key:
            sent["Authorization"] = "Ghost " + admin_token(self.key)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        request = urllib.request.Request(self.url + path, data=data, headers=sent, method=method)
        try:
            with self.http.open(request, timeout=30) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as refused:
            return refused.code, dict(refused.headers), refused.read()

    def json(self, method, path, body=None):
        status, _, raw = self.call(method, path, body)
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def cookie_names(self):
        return {c.name for c in self.jar}


# ---------------------------------------------------------------- start


def _run(args, cwd=None, env=None):
    subprocess.run(args, cwd=cwd, env=env, check=True, stdout=sys.stderr)


def install(home):
    app = os.path.join(home, "ghost")
    done = os.path.join(app, f".installed-{VERSION}")
    if os.path.exists(done):
        return app
    started = time.time()
    log(f"installing ghost@{VERSION} into {app}: several minutes, once")
    tools = os.path.join(home, "tools")
    yarn = os.path.join(tools, "node_modules", ".bin", "yarn")
    if not os.path.exists(yarn):
        _run(["npm", "install", "--prefix", tools, "yarn@1.22.22", "--no-audit", "--no-fund"])
    subprocess.run(["rm", "-rf", app], check=True)
    _run(["npm", "pack", f"ghost@{VERSION}"], cwd=home)
    _run(["tar", "xzf", f"ghost-{VERSION}.tgz"], cwd=home)
    os.rename(os.path.join(home, "package"), app)
    os.remove(os.path.join(home, f"ghost-{VERSION}.tgz"))
    # The package's devDependencies include git URLs no registry serves, and
    # its lockfile is the monorepo's: install the production tree only.
    manifest = os.path.join(app, "package.json")
    with open(manifest) as f:
        package = json.load(f)
    package.pop("devDependencies", None)
    with open(manifest, "w") as f:
        json.dump(package, f, indent=2)
    # Native modules (sqlite3) build against Debian's Node headers: their
    # prebuilt binaries would be downloaded from outside the registries.
    env = dict(os.environ, npm_config_nodedir=os.environ.get("npm_config_nodedir", "/usr"),
               JOBS="2", YARN_CACHE_FOLDER=os.path.join(home, "yarn-cache"))
    _run([yarn, "install", "--production", "--non-interactive", "--no-progress",
          "--network-timeout", "120000"], cwd=app, env=env)
    probe = subprocess.run(["node", "-e", "require('sqlite3')"], cwd=app, capture_output=True)
    if probe.returncode != 0:
        log("building the sqlite3 binding from source")
        _run(["npx", "--yes", "node-gyp@10", "rebuild", f"--nodedir={env['npm_config_nodedir']}"],
             cwd=os.path.join(app, "node_modules", "sqlite3"), env=env)
    open(done, "w").close()
    log(f"installed in {time.time() - started:.0f} s")
    return app


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(home):
    app = install(home)
    # The site's own content and database, apart from the installed app.
    content = os.path.join(home, "sourceledger-content")
    if not os.path.isdir(os.path.join(content, "themes", "casper")):
        subprocess.run(["cp", "-r", os.path.join(app, "content"), content], check=True)
    for sub in ("data", "logs", "images", "files", "media", "settings", "adapters", "public"):
        os.makedirs(os.path.join(content, sub), exist_ok=True)
    port = int(os.environ.get("GHOST_PORT") or free_port())
    url = f"http://127.0.0.1:{port}"
    relaxed = {"minWait": 1000, "maxWait": 1000, "lifetime": 60, "freeRetries": 10000}
    config = {
        "url": url,
        "server": {"host": "127.0.0.1", "port": port},
        "database": {"client": "sqlite3", "useNullAsDefault": True,
                     "connection": {"filename": os.path.join(content, "data", "ghost.db")}},
        "mail": {"transport": "stub", "from": "ghost@example.com"},
        "logging": {"level": "info", "transports": ["stdout"]},
        "process": "local",
        "paths": {"contentPath": content},
        "privacy": {"useTinfoil": True},
        "security": {"staffDeviceVerification": False},
        "spam": {"user_login": relaxed, "member_login": relaxed, "global_block": relaxed,
                 "send_verification_code": relaxed},
    }
    # Ghost reads config.production.json from its working directory.
    with open(os.path.join(app, "config.production.json"), "w") as f:
        json.dump(config, f, indent=2)
    log_path = os.path.join(home, "ghost.log")
    with open(log_path, "wb") as out:
        ghost = subprocess.Popen(["node", "index.js"], cwd=app, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=dict(os.environ, NODE_ENV="production"),
                                 start_new_session=True)
    deadline = time.time() + int(os.environ.get("GHOST_READY_TIMEOUT", "240"))
    site = Site(url)
    while True:
        if ghost.poll() is not None:
            sys.exit(f"Ghost stopped; see {log_path}")
        try:
            if site.call("GET", "/ghost/api/admin/site/")[0] == 200:
                break
        except OSError:
            pass
        if time.time() > deadline:
            sys.exit(f"Ghost was not ready in time; see {log_path}")
        time.sleep(1)
    log(f"ready at {url} (pid {ghost.pid})")
    print(f"GHOST_URL={url}")
    print(f"GHOST_PID={ghost.pid}")
    print(f"GHOST_DB={os.path.join(content, 'data', 'ghost.db')}")
    print(f"GHOST_LOG={log_path}")


# ---------------------------------------------------------------- setup


def setup(url):
    site = Site(url)
    owner = {"email": "owner@example.com", "password": "owner-of-a-test-site-7Q"}
    status, body = site.json("GET", "/ghost/api/admin/authentication/setup/")
    if status != 200:
        sys.exit(f"setup state: {status} {body}")
    if not body["setup"][0]["status"]:
        status, body = site.json("POST", "/ghost/api/admin/authentication/setup/", {"setup": [{
            "name": "Test Owner", "blogTitle": "Test site", **owner}]})
        if status not in (200, 201):
            sys.exit(f"setup: {status} {body}")
    status, body = site.json("POST", "/ghost/api/admin/session/",
                             {"username": owner["email"], "password": owner["password"]})
    if status not in (200, 201):
        sys.exit(f"sign-in: {status} {body}")
    status, body = site.json("GET", "/ghost/api/admin/integrations/?include=api_keys&limit=all")
    if status != 200:
        sys.exit(f"integrations: {status} {body}")
    found = [i for i in body["integrations"] if i["name"] == "sourceledger tests"]
    if found:
        integration = found[0]
    else:
        status, body = site.json("POST", "/ghost/api/admin/integrations/?include=api_keys",
                                 {"integrations": [{"name": "sourceledger tests"}]})
        if status not in (200, 201):
            sys.exit(f"integration: {status} {body}")
        integration = body["integrations"][0]
    admin = next(k for k in integration["api_keys"] if k["type"] == "admin")
    # Ghost writes an admin key's secret as "<id>:<hex>" already.
    key = admin["secret"] if ":" in admin["secret"] else f"{admin['id']}:{admin['secret']}"
    status, body = Site(url, key).json("GET", "/ghost/api/admin/members/?limit=1")
    if status != 200:
        sys.exit(f"the integration key does not work: {status} {body}")
    print(f"GHOST_ADMIN_KEY={key}")


# ---------------------------------------------------------------- webhooks


def webhooks(url, key, target, secret, events):
    site = Site(url, key)
    failed = False
    for event in [e.strip() for e in events.split(",") if e.strip()]:
        status, body = site.json("POST", "/ghost/api/admin/webhooks/", {"webhooks": [{
            "event": event, "target_url": target, "secret": secret, "name": f"sourceledger {event}"}]})
        if status in (200, 201):
            print(f"WEBHOOK {event} {body['webhooks'][0]['id']}")
        else:
            log(f"webhook {event}: {status} {body}")
            failed = True
    sys.exit(1 if failed else 0)


# ---------------------------------------------------------------- member token


def newest_link_token(db, email):
    """The newest magic-link token Ghost stored for `email`."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = connection.execute(
            "SELECT token, data FROM tokens ORDER BY created_at DESC, id DESC LIMIT 50").fetchall()
    finally:
        connection.close()
    for token, data in rows:
        try:
            meta = json.loads(data or "{}")
        except ValueError:
            continue
        if str(meta.get("email", "")).lower() == email.lower():
            return token, meta.get("type") or "signin"
    return None, None


def member_token(url, email, db):
    site = Site(url)
    for kind in ("signin", "signup"):
        request = {"email": email, "emailType": kind, "autoRedirect": False}
        status, _, integrity = site.call("GET", "/members/api/integrity-token/")
        if status == 200 and integrity:
            request["integrityToken"] = integrity.decode().strip()
        status, _, answer = site.call("POST", "/members/api/send-magic-link/", request,
                                      {"Referer": site.url + "/"})
        if status in (200, 201):
            break
        log(f"send-magic-link ({kind}): {status} {answer[:200]!r}")
    else:
        sys.exit("Ghost sent no sign-in link")
    token = None
    for _ in range(50):
        token, action = newest_link_token(db, email)
        if token:
            break
        time.sleep(0.2)
    if not token:
        sys.exit(f"no sign-in link for {email} in {db}")
    site.call("GET", f"/members/?token={token}&action={action}", headers={"Accept": "text/html"})
    if "ghost-members-ssr" not in site.cookie_names():
        sys.exit("Ghost set no member session for the link")
    status, _, jwt = site.call("GET", "/members/api/session")
    if status != 200 or not jwt:
        sys.exit(f"/members/api/session: {status}")
    print(jwt.decode().strip())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("start")
    p.add_argument("home", nargs="?", default=os.environ.get("GHOST_HOME") or os.path.expanduser(
        "~/.cache/sourceledger-ci/ghost"))
    p = commands.add_parser("setup")
    p.add_argument("url")
    p = commands.add_parser("webhooks")
    p.add_argument("url")
    p.add_argument("key")
    p.add_argument("target")
    p.add_argument("secret")
    p.add_argument("--events", required=True)
    p = commands.add_parser("member-token")
    p.add_argument("url")
    p.add_argument("email")
    p.add_argument("--db", required=True)
    a = parser.parse_args()
    if a.command == "start":
        os.makedirs(a.home, exist_ok=True)
        start(a.home)
    elif a.command == "setup":
        setup(a.url)
    elif a.command == "webhooks":
        webhooks(a.url, a.key, a.target, a.secret, a.events)
    else:
        member_token(a.url, a.email, a.db)


if __name__ == "__main__":
    main()
