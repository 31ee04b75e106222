"""A receiver of Couponsite's webhooks, Python standard library only.

Quoted by docs/webhooks.md, and tested against real deliveries
(``webhooks/tests``): copy it as a start. Run it with the endpoint's secret:

    COUPONSITE_WEBHOOK_SECRET=whsec_... python receiver_example.py 8080
"""

import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A delivery signed longer ago than this is refused (a replayed request).
TOLERANCE_SECONDS = 300


def verify(
    *,
    secret: str,
    header: str,
    body: bytes,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether ``header`` (``Couponsite-Signature: t=<unix>,v1=<hex>``) signs
    ``body`` (the raw bytes, before any JSON parsing) with ``secret``, at most
    ``tolerance`` seconds ago."""
    timestamp, signatures = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            timestamp = value
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not timestamp.isdigit() or not signatures:
        return False
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > tolerance:
        return False
    signed = timestamp.encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, signature) for signature in signatures)


class Receiver(BaseHTTPRequestHandler):
    secret = os.environ.get("COUPONSITE_WEBHOOK_SECRET", "")
    seen: set[str] = set()  # event ids handled (use your database: at least once!)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        header = self.headers.get("Couponsite-Signature", "")
        if not verify(secret=self.secret, header=header, body=body):
            self.send_response(400)
            self.end_headers()
            return
        event = json.loads(body)
        if event["id"] not in self.seen:  # a repeat is answered 2xx, not handled
            self.seen.add(event["id"])
            print(event["type"], event["data"], flush=True)
        self.send_response(204)
        self.end_headers()


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()
