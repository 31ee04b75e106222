"""HAProxy (deploy/haproxy/couponsite.cfg.template) bounds what a node holds at
once and queues the rest: a stampede waits in the proxy, and is answered, instead
of a 502 (free nginx's ``max_conns`` has no queue) or a pile-up in gunicorn."""

import http.client
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from couponsite.testing.proxy import HAProxy

pytestmark = [pytest.mark.haproxy, pytest.mark.timeout(60)]


class SlowNode(ThreadingHTTPServer):
    """An upstream that takes a while per request and records the most it held."""

    daemon_threads = True

    def __init__(self):
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.served = 0
        super().__init__(("127.0.0.1", 0), self.Handler)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            node = self.server
            with node.lock:
                node.in_flight += 1
                node.most = max(node.most, node.in_flight)
            time.sleep(0.05)
            with node.lock:
                node.in_flight -= 1
                node.served += 1
            body = self.headers.get("X-Forwarded-For", "").encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass


def _get(port: int) -> tuple[int, bytes]:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        client.request("GET", "/", headers={"Connection": "close"})
        answer = client.getresponse()
        return answer.status, answer.read()
    finally:
        client.close()


def test_past_a_nodes_maxconn_requests_wait_in_the_proxy_and_are_all_answered():
    node = SlowNode()
    threading.Thread(target=node.serve_forever, daemon=True).start()
    try:
        with (
            HAProxy([node.server_address[1]], server_maxconn=2, threads=1) as proxy,
            ThreadPoolExecutor(40) as clients,
        ):
            answers = list(clients.map(lambda _: _get(proxy.port), range(40)))
    finally:
        node.shutdown()
        node.server_close()

    assert [status for status, _ in answers] == [200] * 40
    assert node.served == 40
    assert node.most <= 2  # the other 38 waited in HAProxy's queue
    # The proxy names the client; a client's own header would be replaced.
    assert {body for _, body in answers} == {b"127.0.0.1"}
