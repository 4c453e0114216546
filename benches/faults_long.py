#!/usr/bin/env python3
"""The load and the measures of benches/faults_long.sh (issue 29's long run).

Run by the shell script, which starts the server and the loopback site; this
prepares the newsroom, drives the mixed load for --minutes, samples the
server process every --sample-every seconds, then prints the tables and the
summary and writes every figure as JSON to --out. Exit status 1 when a 5xx
was answered or the server went away, else 0.

Only the standard library: threads, and http.client connections kept alive
(one per load thread). Latencies are the client's, from the request's start
to the last byte of its answer, so they include this client's own overhead
(Python, the GIL) on a machine it shares with the server.
"""
import argparse
import array
import collections
import http.client
import json
import os
import random
import re
import sys
import threading
import time

# What the readers ask for, and how often (weights).
READS = (
    ("list_sub", 30),  # the reader's list of a published article, as a subscriber
    ("list_staff", 10),  # the same list as a journalist
    ("teaser", 10),  # the same list, anonymous: the teaser
    ("articles", 5),  # GET /v1/articles?limit=50, as a journalist (drafts too)
    ("checkpoint", 20),  # GET /v1/ledger/checkpoint
    ("inclusion", 20),  # an inclusion proof of a random entry
    ("consistency", 5),  # a consistency proof from a random older size
)
WRITES = ("source", "citation", "article")
PERIODIC = ("export", "capture")
KINDS = WRITES + tuple(k for k, _ in READS) + PERIODIC
# The kinds whose work does not grow with the log: their p99 should stay put.
# (An export reads the whole log, which grows the whole run.)
STEADY = tuple(k for k in KINDS if k not in ("export", "capture", "article"))
# Drafts take this many citations each before a writer starts another, so no
# list grows without bound.
CITATIONS_PER_DRAFT = 500
TOKEN_REFRESH_S = 20 * 60  # tokens minted from keys last an hour


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


class Conn:
    """One kept-alive HTTP/1.1 connection; opened again (and the request sent
    once more) when the server closed it between two requests."""

    def __init__(self, host, port, timeout=120.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn = None
        self.reconnects = []  # when (time.monotonic()) the server had closed it

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, token=None, body=None, sink=None):
        """(status, body bytes, ms). With `sink`, the body is read in chunks
        and handed to sink(chunk) instead of being kept."""
        headers = {}
        if token:
            headers["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            start = time.perf_counter()
            try:
                self.conn.request(method, path, body=data, headers=headers)
                answer = self.conn.getresponse()
                if sink is None:
                    payload = answer.read()
                else:
                    payload = b""
                    while True:
                        chunk = answer.read(65536)
                        if not chunk:
                            break
                        sink(chunk)
                ms = (time.perf_counter() - start) * 1000
                if answer.will_close:
                    self.close()
                return answer.status, payload, ms
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if reused and attempt == 0:
                    self.reconnects.append(time.monotonic())
                    continue
                raise
            except Exception:
                self.close()
                raise


class Record:
    """Latencies per minute and kind; statuses; errors."""

    def __init__(self, t0):
        self.t0 = t0
        self.lock = threading.Lock()
        self.latency = collections.defaultdict(lambda: array.array("d"))  # (minute, kind) -> ms
        self.statuses = collections.Counter()  # (kind, status)
        self.by_minute = collections.Counter()  # (minute, "requests"|"non2xx"|"5xx")
        self.errors = collections.Counter()  # (kind, exception name)
        self.examples = {}  # (kind, status) -> the first answer's start
        self.reconnects = collections.Counter()  # minute -> count

    def minute(self, at=None):
        return int(((time.monotonic() if at is None else at) - self.t0) // 60)

    def add(self, kind, status, ms, started, payload=b""):
        m = self.minute(started)
        with self.lock:
            self.latency[(m, kind)].append(ms)
            self.statuses[(kind, status)] += 1
            self.by_minute[(m, "requests")] += 1
            if not 200 <= status < 300:
                self.by_minute[(m, "non2xx")] += 1
                self.examples.setdefault((kind, status), payload[:300].decode("utf-8", "replace"))
            if status >= 500:
                self.by_minute[(m, "5xx")] += 1

    def error(self, kind, exc, started):
        with self.lock:
            self.errors[(kind, type(exc).__name__)] += 1
            self.by_minute[(self.minute(started), "errors")] += 1
            self.examples.setdefault((kind, type(exc).__name__), str(exc)[:300])


def call(conn, rec, kind, method, path, token=None, body=None, sink=None):
    """One recorded request; (status, payload), or (None, b"") on a transport error."""
    started = time.monotonic()
    try:
        status, payload, ms = conn.request(method, path, token, body, sink)
    except Exception as exc:  # noqa: BLE001 - every failure is counted
        rec.error(kind, exc, started)
        return None, b""
    rec.add(kind, status, ms, started, payload)
    return status, payload


class Tokens:
    """Access tokens minted from API keys, minted again before they expire."""

    def __init__(self, host, port, keys):
        self.host, self.port, self.keys = host, port, keys
        self.lock = threading.Lock()
        self.minted = {}

    def get(self, role):
        with self.lock:
            token, at = self.minted.get(role, (None, 0))
            if token is None or time.monotonic() - at > TOKEN_REFRESH_S:
                conn = Conn(self.host, self.port)
                status, payload, _ = conn.request("POST", "/v1/auth/token", body={"api_key": self.keys[role]})
                conn.close()
                if status != 200:
                    raise SystemExit(f"minting a {role} token: {status} {payload[:200]!r}")
                token = json.loads(payload)["access_token"]
                self.minted[role] = (token, time.monotonic())
            return token


def must(conn, method, path, token=None, body=None, ok=(200, 201)):
    status, payload, _ = conn.request(method, path, token, body)
    if status not in ok:
        raise SystemExit(f"preparing: {method} {path}: {status} {payload[:300]!r}")
    return json.loads(payload) if payload and payload[:1] in b"{[" else payload


def write_pages(site_dir, pages):
    os.makedirs(os.path.join(site_dir, "pages"), exist_ok=True)
    for n in range(pages):
        words = " ".join(f"figure-{n}-{i}" for i in range(800))
        with open(os.path.join(site_dir, "pages", f"page-{n}.html"), "w") as f:
            f.write(f"<html><head><title>Page {n}</title></head><body><h1>Page {n}</h1><p>{words}</p></body></html>\n")
    change_page(site_dir, 0)


def change_page(site_dir, n):
    """The one page that changes every minute: the monitor should find it `changed`."""
    path = os.path.join(site_dir, "changing.html")
    with open(path + ".new", "w") as f:
        f.write(f"<html><head><title>Live figures</title></head><body><p>Revision {n} at {time.time()}</p></body></html>\n")
    os.replace(path + ".new", path)


def prepare(args, host, port):
    """Keys, a subscriber, two published articles citing loopback pages (20
    and 6 sources; one that changes, one that is missing), half of the first's
    citations verified. Returns the keys, the subscriber's token and the slugs."""
    conn = Conn(host, port)
    with open(args.admin_key_file) as f:
        admin_key = f.read().strip()
    admin = must(conn, "POST", "/v1/auth/token", body={"api_key": admin_key})["access_token"]
    keys = {"admin": admin_key}
    for role in ("journalist", "editor", "auditor"):
        keys[role] = must(conn, "POST", "/v1/keys", admin, {"role": role, "name": f"long run {role}"})["key"]
    subscriber = must(conn, "POST", "/v1/subscribers", admin, {"external_id": "long-run-reader", "tier": "member"})
    reader = must(conn, "POST", f"/v1/subscribers/{subscriber['id']}/token", admin, {})["access_token"]
    tokens = Tokens(host, port, keys)
    journalist, editor = tokens.get("journalist"), tokens.get("editor")

    def source(url, title):
        made = must(conn, "POST", "/v1/sources", journalist,
                    {"url": url, "title": title, "publisher": "Loopback Gazette", "kind": "document", "language": "en"})
        # Captured before it is cited, so the monitor compares the page with
        # the archived copy (the missing page has none to take).
        if not url.endswith("/missing.html"):
            must(conn, "POST", f"/v1/sources/{made['id']}/capture", journalist, {}, ok=(201,))
        return made["id"]

    published = []
    for slug, urls in (
        ("long-read", [f"{args.site}/pages/page-{n}.html" for n in range(18)]
         + [f"{args.site}/changing.html", f"{args.site}/missing.html"]),
        ("long-brief", [f"{args.site}/pages/page-{n}.html" for n in range(18, 24)]),
    ):
        must(conn, "POST", "/v1/articles", journalist,
             {"slug": slug, "title": slug.replace("-", " ").title(), "url": f"https://news.example/{slug}",
              "language": "en", "authors": ["Long Run"]})
        ids = [source(u, f"Page {i}") for i, u in enumerate(urls)]
        made = must(conn, "POST", f"/v1/articles/{slug}/citations", journalist,
                    {"citations": [{"source_id": s, "claim": f"Claim {i} of {slug}.", "quote": f"figure-{i}-1",
                                    "locator": f"paragraph {i + 1}"} for i, s in enumerate(ids)]})
        for c in made["citations"][::2]:
            must(conn, "POST", f"/v1/citations/{c['id']}/verify", editor)
        must(conn, "POST", f"/v1/articles/{slug}/publish", editor, {})
        published.append(slug)
    conn.close()
    return tokens, reader, published


class Shared:
    def __init__(self):
        self.tree_size = 1
        self.stop = threading.Event()


def paced(rate, stop):
    """Yields while not stopped, at most `rate` times a second (0: no pause).
    Late by more than a second, the schedule starts over: no bursts."""
    gap = 1.0 / rate if rate > 0 else 0.0
    due = time.monotonic()
    while not stop.is_set():
        if gap:
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            elif now - due > 1.0:
                due = now
            due += gap
        yield


def writer(n, args, host, port, rec, tokens, shared, conns):
    conn = Conn(host, port)
    conns.append(conn)
    rng = random.Random(n)
    draft, attached, drafts = None, 0, 0
    for _ in paced(args.write_rate, shared.stop):
        token = tokens.get("journalist")
        if draft is None or attached >= CITATIONS_PER_DRAFT:
            slug = f"long-draft-{n}-{drafts}"
            status, _ = call(conn, rec, "article", "POST", "/v1/articles", token,
                             {"slug": slug, "title": f"Draft {n}.{drafts}", "url": f"https://news.example/{slug}",
                              "language": "en", "authors": ["Long Run"]})
            drafts += 1
            if status in (201, 409):
                draft, attached = slug, 0
            continue
        status, payload = call(conn, rec, "source", "POST", "/v1/sources", token,
                               {"url": f"https://source.example/long/{n}/{rng.getrandbits(48):x}",
                                "title": "A document", "publisher": "Publisher", "kind": "document", "language": "en"})
        if status != 201:
            continue
        source_id = json.loads(payload)["id"]
        status, _ = call(conn, rec, "citation", "POST", f"/v1/articles/{draft}/citations", token,
                         {"source_id": source_id, "claim": f"Claim {attached}.", "locator": f"p{attached}"})
        if status == 201:
            attached += 1


def reader(n, args, host, port, rec, tokens, subscriber, published, shared, conns):
    conn = Conn(host, port)
    conns.append(conn)
    rng = random.Random(1000 + n)
    kinds = [k for k, _ in READS]
    weights = [w for _, w in READS]
    for _ in paced(args.read_rate, shared.stop):
        kind = rng.choices(kinds, weights)[0]
        slug = published[0] if rng.random() < 0.75 else published[-1]
        if kind == "list_sub":
            call(conn, rec, kind, "GET", f"/v1/articles/{slug}/sources", subscriber)
        elif kind == "list_staff":
            call(conn, rec, kind, "GET", f"/v1/articles/{slug}/sources", tokens.get("journalist"))
        elif kind == "teaser":
            call(conn, rec, kind, "GET", f"/v1/articles/{slug}/sources")
        elif kind == "articles":
            call(conn, rec, kind, "GET", "/v1/articles?limit=50", tokens.get("journalist"))
        elif kind == "checkpoint":
            status, payload = call(conn, rec, kind, "GET", "/v1/ledger/checkpoint")
            if status == 200:
                lines = payload.decode("utf-8", "replace").split("\n")
                if len(lines) > 1 and lines[1].isdigit():
                    shared.tree_size = max(shared.tree_size, int(lines[1]))
        elif kind == "inclusion":
            call(conn, rec, kind, "GET", f"/v1/ledger/proof/inclusion?index={rng.randrange(shared.tree_size)}")
        elif kind == "consistency":
            call(conn, rec, kind, "GET", f"/v1/ledger/proof/consistency?first={rng.randint(1, shared.tree_size)}")


def exporter(args, host, port, rec, tokens, shared, exports):
    """The whole log as NDJSON every --export-every seconds, on a connection
    of its own (opened each time: the server closes idle ones)."""
    while not shared.stop.wait(args.export_every):
        conn = Conn(host, port, timeout=900)
        got = {"bytes": 0, "lines": 0, "tail": b""}

        def sink(chunk):
            got["bytes"] += len(chunk)
            got["lines"] += chunk.count(b"\n")
            got["tail"] = (got["tail"] + chunk)[-4096:]

        started = time.monotonic()
        status, _ = call(conn, rec, "export", "GET", "/v1/audit/export?format=ndjson", tokens.get("auditor"), sink=sink)
        conn.close()
        last = got["tail"].rstrip(b"\n").rsplit(b"\n", 1)[-1]
        complete = b'"export":"complete"' in last.replace(b" ", b"")
        exports.append({"at_s": round(started - rec.t0, 1), "status": status, "bytes": got["bytes"],
                        "lines": got["lines"], "complete": complete,
                        "ms": round((time.monotonic() - started) * 1000, 1)})


def capturer(args, host, port, rec, tokens, shared, captures):
    """A new source for a loopback page, then its capture, every --capture-every s."""
    n = 0
    while not shared.stop.wait(args.capture_every):
        conn = Conn(host, port)
        token = tokens.get("journalist")
        page = n % args.pages
        status, payload = call(conn, rec, "source", "POST", "/v1/sources", token,
                               {"url": f"{args.site}/pages/page-{page}.html?capture={n}", "title": f"Page {page}",
                                "publisher": "Loopback Gazette", "kind": "document", "language": "en"})
        if status == 201:
            source_id = json.loads(payload)["id"]
            status, payload = call(conn, rec, "capture", "POST", f"/v1/sources/{source_id}/capture", token, {})
            captures.append({"status": status,
                             "sha256": json.loads(payload).get("snapshot_sha256") if status == 201 else None})
        conn.close()
        n += 1


# --- the server process, seen from /proc --------------------------------

TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
              "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}


def proc_sample(pid):
    status = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            status[key] = value.strip()
    inodes = set()
    fds = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        fds += 1
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    tcp = collections.Counter()
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[9] in inodes:
                        tcp[TCP_STATES.get(cols[3], cols[3])] += 1
        except FileNotFoundError:
            pass
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    with open("/proc/loadavg") as f:
        load1 = float(f.read().split()[0])
    return {
        # CPU seconds the server used (user + system), and the machine's busy
        # and total time (all cores), to tell its share of a busy machine.
        "cpu_s": (int(fields[11]) + int(fields[12])) / CLK_TCK,
        "machine_busy_s": (sum(cpu[:8]) - cpu[3] - cpu[4]) / CLK_TCK,
        "machine_total_s": sum(cpu[:8]) / CLK_TCK,
        "load1": load1,
        "rss_kib": int(status["VmRSS"].split()[0]),
        "hwm_kib": int(status["VmHWM"].split()[0]),
        "threads": int(status["Threads"]),
        "fds": fds,
        "sockets": len(inodes),
        "tcp": dict(tcp),
    }


CLK_TCK = os.sysconf("SC_CLK_TCK")
METRIC = re.compile(r'^(\w+)(?:\{state="(\w+)"\})? (\S+)')


def metrics_sample(host, port):
    """The pool's connections, the log's size and the monitor's link states from /metrics."""
    conn = Conn(host, port, timeout=30)
    try:
        status, payload, _ = conn.request("GET", "/metrics")
    except Exception as exc:  # noqa: BLE001
        return {"error": type(exc).__name__}
    finally:
        conn.close()
    if status != 200:
        return {"error": status}
    out = {}
    for line in payload.decode("utf-8", "replace").splitlines():
        m = METRIC.match(line)
        if not m:
            continue
        name, state, value = m.groups()
        if name.endswith("db_pool_connections") and state:
            out[f"pool_{state}"] = int(float(value))
        elif name.endswith("links") and state:
            out.setdefault("links", {})[state] = int(float(value))
        elif name.endswith("ledger_size"):
            out["ledger_size"] = int(float(value))
    return out


def sampler(args, host, port, rec, shared, samples, alive):
    k = 0
    changes = 0
    while True:
        due = rec.t0 + k * args.sample_every
        if shared.stop.wait(max(0.0, due - time.monotonic())):
            return
        at = time.monotonic() - rec.t0
        if at >= (changes + 1) * 60:
            changes += 1
            change_page(args.site_dir, changes)
        try:
            s = proc_sample(args.pid)
        except (FileNotFoundError, ProcessLookupError, KeyError):
            alive.clear()
            log(f"!! the server (pid {args.pid}) is gone at {at:.0f} s")
            shared.stop.set()
            return
        s.update(metrics_sample(host, port))
        s["at_s"] = round(at, 1)
        samples.append(s)
        k += 1


# --- the figures ----------------------------------------------------------

def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def pooled(rec, kinds, minutes):
    out = []
    for m in minutes:
        for k in kinds:
            out.extend(rec.latency.get((m, k), ()))
    return out


def r1(x, nd=1):
    return None if x is None else round(x, nd)


def sample_at(samples, t, since=None):
    """The last sample taken at or before t seconds (and after `since`)."""
    before = [s for s in samples if s["at_s"] <= t + 1 and (since is None or s["at_s"] > since + 1)]
    return before[-1] if before else (samples[0] if samples and since is None else None)


def tcp_est(s):
    return s["tcp"].get("ESTABLISHED", 0) if s else None


def slope_per_10min(samples, key, after):
    pts = [(s["at_s"], s[key]) for s in samples if s["at_s"] >= after]
    if len(pts) < 3:
        return None
    n = len(pts)
    mx = sum(p[0] for p in pts) / n
    my = sum(p[1] for p in pts) / n
    den = sum((p[0] - mx) ** 2 for p in pts)
    return None if den == 0 else sum((p[0] - mx) * (p[1] - my) for p in pts) / den * 600


def report(args, rec, samples, idle, exports, captures, link_entries, alive, started_size):
    minutes = args.minutes
    warm = args.warmup
    rows = []
    for m in range(minutes):
        s = sample_at(samples, (m + 1) * 60, since=m * 60)
        p = sample_at(samples, m * 60, since=(m - 1) * 60) if m else samples[0]
        cpu = machine = None
        if s and p and s is not p:
            cpu = (s["cpu_s"] - p["cpu_s"]) / (s["at_s"] - p["at_s"]) * 100
            total = s["machine_total_s"] - p["machine_total_s"]
            machine = (s["machine_busy_s"] - p["machine_busy_s"]) / total * 100 if total else None
        row = {
            "minute": m + 1,
            "requests": rec.by_minute[(m, "requests")],
            "non2xx": rec.by_minute[(m, "non2xx")],
            "5xx": rec.by_minute[(m, "5xx")],
            "errors": rec.by_minute[(m, "errors")],
            "reconnects": rec.reconnects[m],
            "server_cpu_pct": r1(cpu, 0),
            "machine_busy_pct": r1(machine, 0),
            "rss_mib": r1(s["rss_kib"] / 1024) if s else None,
            "fds": s["fds"] if s else None,
            "threads": s["threads"] if s else None,
            "tcp": s["tcp"] if s else None,
            "pool_in_use": s.get("pool_in_use") if s else None,
            "pool_idle": s.get("pool_idle") if s else None,
            "kinds": {},
        }
        for k in KINDS:
            v = rec.latency.get((m, k))
            if v:
                row["kinds"][k] = {"n": len(v), "p50_ms": r1(pct(v, 50), 2), "p99_ms": r1(pct(v, 99), 2)}
        rows.append(row)

    print(f"\n== per minute ({args.writers} writers at {args.write_rate or 'max'}/s each, "
          f"{args.readers} readers at {args.read_rate or 'max'}/s each, {args.database})")
    print(f"{'min':>3} {'requests':>8} {'req/s':>6} {'non2xx':>6} {'5xx':>4} {'err':>4} {'RSS MiB':>8} {'fds':>5} "
          f"{'thr':>4} {'tcp est':>7} {'c_wait':>6} {'pool use/idle':>13} {'srv cpu%':>8} {'machine%':>8}")
    for r in rows:
        head = (f"{r['minute']:>3} {r['requests']:>8} {r['requests'] / 60:>6.0f} {r['non2xx']:>6} {r['5xx']:>4} "
                f"{r['errors']:>4}")
        if r["tcp"] is None:
            print(f"{head} {'(no sample)':>8}")
            continue
        tcp = r["tcp"]
        pool = f"{r['pool_in_use']}/{r['pool_idle']}" if r["pool_in_use"] is not None else "-"
        print(f"{head} {r['rss_mib']:>8.1f} {r['fds']:>5} {r['threads']:>4} "
              f"{tcp.get('ESTABLISHED', 0):>7} {tcp.get('CLOSE_WAIT', 0):>6} {pool:>13} "
              f"{r['server_cpu_pct'] if r['server_cpu_pct'] is not None else '-':>8} "
              f"{r['machine_busy_pct'] if r['machine_busy_pct'] is not None else '-':>8}")
    print("(err: requests with no answer; RSS, fds, threads, TCP sockets of the server by state and the pool at the "
          "minute's last sample; srv cpu%: the server's CPU, 100 = one core; machine%: every core's busy time, "
          "whatever ran it)")
    shown = [k for k in KINDS if any(k in r["kinds"] for r in rows)]
    print("\n== p50/p99 ms per kind per minute (n: requests in the run)")
    width = 13
    print(f"{'min':>3} " + " ".join(f"{k[:width]:>{width}}" for k in shown))
    for r in rows:
        cells = []
        for k in shown:
            c = r["kinds"].get(k)
            cells.append(f"{c['p50_ms']:.1f}/{c['p99_ms']:.1f}" if c else "-")
        print(f"{r['minute']:>3} " + " ".join(f"{c:>{width}}" for c in cells))
    totals = {k: sum(r["kinds"].get(k, {}).get("n", 0) for r in rows) for k in shown}
    print(f"{'n':>3} " + " ".join(f"{totals[k]:>{width}}" for k in shown))

    # Memory, descriptors, connections: after the warm-up against the end.
    after = sample_at(samples, warm * 60)
    end = samples[-1] if samples else None
    later = [s for s in samples if s["at_s"] >= warm * 60 - 1] or samples
    summary = {"warmup_minutes": warm}
    span = (end["at_s"] - warm * 60) if end else 0
    trend = slope_per_10min(samples, "rss_kib", warm * 60) if span >= 300 else None
    if after and end:
        summary["rss"] = {
            "after_warmup_mib": r1(after["rss_kib"] / 1024), "after_warmup_at_s": after["at_s"],
            "end_mib": r1(end["rss_kib"] / 1024), "end_at_s": end["at_s"],
            "ratio_end_to_warmup": r1(end["rss_kib"] / after["rss_kib"], 3),
            "max_after_warmup_mib": r1(max(s["rss_kib"] for s in later) / 1024),
            "slope_mib_per_10min": r1(trend / 1024, 2) if trend is not None else None,
            "peak_hwm_mib": r1(end["hwm_kib"] / 1024),
            "idle_after_load_mib": r1(idle["rss_kib"] / 1024) if idle else None,
        }
        summary["fds"] = {
            "after_warmup": after["fds"], "max": max(s["fds"] for s in samples),
            "max_after_warmup": max(s["fds"] for s in later), "end": end["fds"],
            "idle_after_load": idle["fds"] if idle else None,
        }
        summary["threads"] = {"after_warmup": after["threads"], "max": max(s["threads"] for s in samples),
                              "end": end["threads"], "idle_after_load": idle["threads"] if idle else None}
        summary["tcp"] = {
            "established_after_warmup": tcp_est(after),
            "established_max": max(tcp_est(s) for s in samples),
            "established_end": tcp_est(end),
            "established_idle_after_load": tcp_est(idle),
            "close_wait_max": max(s["tcp"].get("CLOSE_WAIT", 0) for s in samples),
            "idle_after_load": idle["tcp"] if idle else None,
            "client_connections": args.writers + args.readers,
        }
        summary["pool"] = {k: (s.get(f"pool_{st}") if s else None)
                           for k, s, st in (("in_use_end", end, "in_use"), ("idle_end", end, "idle"),
                                            ("in_use_idle_after_load", idle, "in_use"),
                                            ("idle_idle_after_load", idle, "idle"))}

    post = list(range(warm, minutes))
    n = max(1, min(5, len(post) // 2)) if post else 0
    first, last = post[:n], post[-n:] if n else []
    p99 = {"window_minutes": n, "first": [m + 1 for m in first], "last": [m + 1 for m in last], "kinds": {}}
    for k in list(shown) + ["steady"]:
        kinds = STEADY if k == "steady" else (k,)
        a, b = pct(pooled(rec, kinds, first), 99), pct(pooled(rec, kinds, last), 99)
        p99["kinds"][k] = {"first_ms": r1(a, 2), "last_ms": r1(b, 2), "ratio": r1(b / a, 3) if a and b else None}
    summary["p99"] = p99

    statuses = collections.defaultdict(dict)
    for (k, st), c in sorted(rec.statuses.items()):
        statuses[k][str(st)] = c
    non2xx = {f"{k} {st}": c for (k, st), c in sorted(rec.statuses.items()) if not 200 <= st < 300}
    fivexx = {key: c for key, c in non2xx.items() if int(key.rsplit(" ", 1)[1]) >= 500}
    errors = {f"{k} {e}": c for (k, e), c in sorted(rec.errors.items())}
    summary["statuses"] = statuses
    summary["non2xx"] = non2xx
    summary["5xx"] = fivexx
    summary["transport_errors"] = errors
    summary["examples"] = {f"{k} {s}": v for (k, s), v in rec.examples.items()}
    summary["reconnects"] = sum(rec.reconnects.values())
    summary["exports"] = {
        "count": len(exports), "complete": sum(1 for e in exports if e["complete"]),
        "ms_first": exports[0]["ms"] if exports else None, "ms_last": exports[-1]["ms"] if exports else None,
        "bytes_last": exports[-1]["bytes"] if exports else None,
        "lines_last": exports[-1]["lines"] if exports else None,
    }
    summary["captures"] = {"count": len(captures), "stored": sum(1 for c in captures if c["status"] == 201)}
    summary["monitor"] = {"links_by_state_end": (end or {}).get("links"), "source_link_entries": link_entries}
    summary["ledger"] = {"size_before_load": started_size, "size_end": (end or {}).get("ledger_size")}
    summary["server_alive"] = alive

    # --- printed
    print("\n== summary (the numbers are the client's; see the header of benches/faults_long.sh)")
    if "rss" in summary:
        r = summary["rss"]
        print(f"memory: RSS {r['after_warmup_mib']} MiB after the warm-up (t={r['after_warmup_at_s']:.0f} s), "
              f"{r['end_mib']} MiB at the end (t={r['end_at_s']:.0f} s): ratio {r['ratio_end_to_warmup']}; "
              f"max after warm-up {r['max_after_warmup_mib']} MiB; trend "
              + (f"{r['slope_mib_per_10min']:+} MiB per 10 min; " if r["slope_mib_per_10min"] is not None
                 else "not fitted (under 5 minutes after the warm-up); ")
              + f"peak (VmHWM) {r['peak_hwm_mib']} MiB; idle after the load {r['idle_after_load_mib']} MiB")
        f = summary["fds"]
        print(f"file descriptors: {f['after_warmup']} after the warm-up, max {f['max']} "
              f"(max after warm-up {f['max_after_warmup']}), {f['end']} at the end, {f['idle_after_load']} idle after the load")
        t = summary["threads"]
        print(f"threads: {t['after_warmup']} after the warm-up, max {t['max']}, {t['end']} at the end, "
              f"{t['idle_after_load']} idle after the load")
        c = summary["tcp"]
        print(f"TCP connections of the server (ESTABLISHED, both ends it owns; {c['client_connections']} load "
              f"connections): {c['established_after_warmup']} after the warm-up, max {c['established_max']}, "
              f"{c['established_end']} at the end, {c['established_idle_after_load']} idle after the load "
              f"({c['idle_after_load']}); CLOSE_WAIT at most {c['close_wait_max']}")
        p = summary["pool"]
        print(f"database pool (/metrics): in use/idle {p['in_use_end']}/{p['idle_end']} at the end, "
              f"{p['in_use_idle_after_load']}/{p['idle_idle_after_load']} idle after the load")
    print(f"p99, minutes {p99['first']} against minutes {p99['last']} (ratio last/first)"
          + (": the same minutes, the run is too short to compare" if p99["first"] == p99["last"] else ":"))
    for k, v in p99["kinds"].items():
        print(f"  {k:<12} {v['first_ms']} ms -> {v['last_ms']} ms: {v['ratio']}")
    e = summary["exports"]
    print(f"exports: {e['count']}, {e['complete']} complete; the last {e['lines_last']} lines, {e['bytes_last']} bytes "
          f"in {e['ms_last']} ms (the first in {e['ms_first']} ms)")
    cs = summary["captures"]
    print(f"captures of loopback pages: {cs['count']}, {cs['stored']} stored")
    mo = summary["monitor"]
    print(f"link monitor: links by state {mo['links_by_state_end']}; {mo['source_link_entries']} source.link entries")
    print(f"ledger: {summary['ledger']['size_before_load']} entries before the load, {summary['ledger']['size_end']} at the end")
    print(f"non-2xx by kind and status: {non2xx or 'none'}")
    if errors:
        print(f"!! TRANSPORT ERRORS (no answer): {errors}")
    if rec.reconnects:
        print(f"load connections the server had closed, opened again (by minute): {dict(sorted((m + 1, c) for m, c in rec.reconnects.items()))}")
    for key, text in summary["examples"].items():
        print(f"   first answer of {key}: {text[:200]}")
    failed = False
    if fivexx:
        print(f"!!!!!!!! 5xx ANSWERED: {fivexx} !!!!!!!!")
        failed = True
    if not alive:
        print("!!!!!!!! THE SERVER WENT AWAY DURING THE RUN !!!!!!!!")
        failed = True
    if e["count"] and e["complete"] < e["count"]:
        print(f"!! {e['count'] - e['complete']} exports ended without their closing record")
    summary["failed"] = failed
    return rows, summary, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--admin-key-file", required=True)
    ap.add_argument("--site", required=True, help="the loopback site's base URL")
    ap.add_argument("--site-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--readers", type=int, default=8)
    ap.add_argument("--write-rate", type=float, default=20, help="writes a second per writer (0: as fast as it goes)")
    ap.add_argument("--read-rate", type=float, default=40, help="reads a second per reader (0: as fast as it goes)")
    ap.add_argument("--export-every", type=float, default=30)
    ap.add_argument("--capture-every", type=float, default=10)
    ap.add_argument("--sample-every", type=float, default=10)
    ap.add_argument("--pages", type=int, default=50)
    ap.add_argument("--idle-wait", type=float, default=8, help="seconds idle after the load before the last sample")
    ap.add_argument("--database", default="SQLite")
    args = ap.parse_args()
    if args.warmup is None:
        args.warmup = 2 if args.minutes >= 6 else (1 if args.minutes >= 2 else 0)
    host, _, port = args.base.split("//", 1)[1].partition(":")
    port = int(port)

    write_pages(args.site_dir, args.pages)
    tokens, subscriber, published = prepare(args, host, port)
    probe = Conn(host, port)
    started_size = metrics_sample(host, port).get("ledger_size")
    status, payload, _ = probe.request("GET", "/v1/ledger/checkpoint")
    shared = Shared()
    shared.tree_size = max(1, int(payload.decode().split("\n")[1]))
    probe.close()
    log(f"prepared: articles {published} published, log of {started_size} entries; "
        f"{args.minutes} min of load, warm-up {args.warmup} min")

    rec = Record(time.monotonic())
    samples, exports, captures, conns = [], [], [], []
    alive = threading.Event()
    alive.set()
    threads = [threading.Thread(target=sampler, args=(args, host, port, rec, shared, samples, alive), daemon=True)]
    threads += [threading.Thread(target=writer, args=(n, args, host, port, rec, tokens, shared, conns), daemon=True)
                for n in range(args.writers)]
    threads += [threading.Thread(target=reader, args=(n, args, host, port, rec, tokens, subscriber, published,
                                                      shared, conns), daemon=True) for n in range(args.readers)]
    threads.append(threading.Thread(target=exporter, args=(args, host, port, rec, tokens, shared, exports), daemon=True))
    threads.append(threading.Thread(target=capturer, args=(args, host, port, rec, tokens, shared, captures), daemon=True))
    for t in threads:
        t.start()
    end_at = rec.t0 + args.minutes * 60
    last_note = 0
    while time.monotonic() < end_at and not shared.stop.is_set():
        time.sleep(1)
        m = rec.minute()
        if m != last_note and m < args.minutes:
            last_note = m
            s = samples[-1] if samples else {}
            log(f"  minute {m}: {rec.by_minute[(m - 1, 'requests')]} requests, "
                f"{rec.by_minute[(m - 1, 'non2xx')]} non-2xx; RSS {s.get('rss_kib', 0) / 1024:.1f} MiB, "
                f"{s.get('fds')} fds, {s.get('tcp', {}).get('ESTABLISHED')} TCP established")
    shared.stop.set()
    for t in threads:
        t.join(timeout=900)
    for c in conns:
        for at in c.reconnects:
            rec.reconnects[rec.minute(at)] += 1
    idle = None
    if alive.is_set():
        try:
            s = proc_sample(args.pid)
            s.update(metrics_sample(host, port))
            s["at_s"] = round(time.monotonic() - rec.t0, 1)
            samples.append(s)  # the end of the load
        except (FileNotFoundError, ProcessLookupError):
            alive.clear()
    for c in conns:
        c.close()
    link_entries = None
    if alive.is_set():
        time.sleep(args.idle_wait)
        try:
            idle = proc_sample(args.pid)
            # One /metrics request opens a connection of its own, after the count.
            idle.update(metrics_sample(host, port))
            conn = Conn(host, port)
            status, payload, _ = conn.request("GET", "/v1/audit/events?kind=source.link&limit=1000",
                                              tokens.get("auditor"))
            conn.close()
            if status == 200:
                link_entries = len(json.loads(payload)["events"])
        except (FileNotFoundError, ProcessLookupError):
            alive.clear()

    rows, summary, failed = report(args, rec, samples, idle, exports, captures, link_entries,
                                   alive.is_set(), started_size)
    out = {
        "config": {k: v for k, v in vars(args).items()},
        "kinds": {"steady": list(STEADY), "all": list(KINDS)},
        "minutes": rows,
        "samples": samples,
        "idle_after_load": idle,
        "exports": exports,
        "captures": captures,
        "summary": summary,
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"\nall figures: {args.out}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
