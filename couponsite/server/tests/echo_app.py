"""A WSGI application for the server's own tests: gunicorn's worker wraps it in
the same front as Django (``gunicorn -c gunicorn.conf.py
couponsite.server.tests.echo_app``).

- ``/echo``: the request as the app saw it (JSON), the body's length included;
- ``/sleep?seconds=S``: answers after S seconds, with how many requests this
  process was running at once at most;
- ``/big?bytes=N``: N bytes, produced in 64 KiB chunks (a streamed answer).
Every answer carries the worker's pid.
"""

import json
import os
import threading
import time
from urllib.parse import parse_qs

_lock = threading.Lock()
_running = 0
_most_running = 0


def application(environ, start_response):
    global _running, _most_running
    path = environ["PATH_INFO"]
    query = {
        key: values[0] for key, values in parse_qs(environ["QUERY_STRING"]).items()
    }
    headers = [("X-Pid", str(os.getpid()))]
    if path == "/big":
        size = int(query["bytes"])
        start_response("200 OK", [*headers, ("Content-Type", "text/plain")])
        return (b"x" * min(65536, size - sent) for sent in range(0, size, 65536))
    if path == "/sleep":
        with _lock:
            _running += 1
            _most_running = max(_most_running, _running)
        try:
            time.sleep(float(query["seconds"]))
        finally:
            with _lock:
                _running -= 1
        body = {"most_running": _most_running}
    else:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = {
            "method": environ["REQUEST_METHOD"],
            "path": path,
            "query": environ["QUERY_STRING"],
            "remote_addr": environ["REMOTE_ADDR"],
            "body_length": len(environ["wsgi.input"].read(length)),
            "headers": {
                key: value for key, value in environ.items() if key.startswith("HTTP_")
            },
        }
    content = json.dumps(body).encode()
    start_response("200 OK", [*headers, ("Content-Type", "application/json")])
    return [content]
