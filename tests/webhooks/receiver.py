"""A loopback receiver of Standard Webhooks for tests/api/notifications.rs.

Usage: receiver.py PORT LOG   (PORT 0: any free port; the first line written
to stdout is "port N").

Every request to any path but /_control is checked with the reference
library (standardwebhooks' Webhook.verify, not this repository's code). A
verified one is appended to LOG as a JSON line {"id", "timestamp",
"payload", "received_at"} and answered 200 "ok", as a Slack incoming webhook
answers; one that does not verify is logged with "rejected" and answered 400.

POST /_control {"secret", "mode"} sets the secret (kept in LOG.secret, so a
restarted receiver has it) and the mode: "up", "redirect" (307 to /elsewhere),
"slow" (answer after 3 s),
"fail" (answer 500) or "close" (close the connection without an answer).
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

PORT, LOG = int(sys.argv[1]), sys.argv[2]
SECRET_FILE = LOG + ".secret"
LOCK = threading.Lock()
STATE = {"mode": "up", "secret": None}
if os.path.exists(SECRET_FILE):
    with open(SECRET_FILE) as f:
        STATE["secret"] = f.read().strip() or None


def append(record):
    with LOCK, open(LOG, "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Head and body go out as they are written: no 40 ms wait for an ACK.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        received_at = time.time()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/_control":
            change = json.loads(body)
            with LOCK:
                if "secret" in change:
                    STATE["secret"] = change["secret"]
                    with open(SECRET_FILE, "w") as f:
                        f.write(change["secret"])
                if "mode" in change:
                    STATE["mode"] = change["mode"]
            return self.answer(204)
        mode, secret = STATE["mode"], STATE["secret"]
        if mode == "fail":
            return self.answer(500, b"down")
        if mode == "redirect" and self.path != "/elsewhere":
            # A 307 keeps the method and body: a client that followed it
            # would deliver here, at /elsewhere, and take it for done.
            self.send_response(307)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "slow":
            time.sleep(3)
        if mode == "close":
            self.close_connection = True
            self.connection.close()
            return
        if secret is None:
            return self.answer(503, b"no secret yet")
        headers = {k: v for k, v in self.headers.items()}
        try:
            payload = Webhook(secret).verify(body, headers)
        except WebhookVerificationError as e:
            append({"rejected": str(e), "id": headers.get("webhook-id")})
            return self.answer(400, b"bad signature")
        append(
            {
                "id": self.headers["webhook-id"],
                "timestamp": self.headers["webhook-timestamp"],
                "path": self.path,
                "payload": payload,
                "received_at": received_at,
            }
        )
        self.answer(200, b"ok")


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print("port", server.server_address[1], flush=True)
server.serve_forever()
