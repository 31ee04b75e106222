"""The load generator against small HTTP/1.1 servers on loopback: one that keeps
connections alive, one that closes each after its answer (as gunicorn's sync
workers do), and one that drops idle connections without a word."""

import asyncio
import json

import pytest

from bench.loadgen import _run

REQUESTS = 60


class Server:
    """Answers POST /grab: 201 for even tokens, 409 SOLD_OUT for odd ones, and
    records every request it read (so a request sent twice would show)."""

    def __init__(self, *, close_after: int | None, say_close: bool, chunked=False):
        self.close_after = close_after  # answers per connection, then close
        self.say_close = say_close  # with a Connection: close header
        self.chunked = chunked
        self.tokens_read: list[str] = []
        self.connections = 0

    async def handle(self, reader, writer) -> None:
        self.connections += 1
        answered = 0
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                lines = head.decode().split("\r\n")
                headers = dict(
                    line.lower().split(": ", 1) for line in lines[1:] if ": " in line
                )
                await reader.readexactly(int(headers.get("content-length", 0)))
                token = headers["authorization"].split()[-1]
                self.tokens_read.append(token)
                answered += 1
                last = self.close_after is not None and answered >= self.close_after
                if int(token) % 2 == 0:
                    status, body = "201 Created", json.dumps({"won": True})
                else:
                    status, body = "409 Conflict", json.dumps({"code": "SOLD_OUT"})
                head = [f"HTTP/1.1 {status}", "Content-Type: application/json"]
                if last and self.say_close:
                    head.append("Connection: close")
                if self.chunked:
                    head.append("Transfer-Encoding: chunked")
                    half = len(body) // 2
                    payload = "".join(
                        f"{len(part):x}\r\n{part}\r\n"
                        for part in (body[:half], body[half:])
                    )
                    payload += "0\r\n\r\n"
                else:
                    head.append(f"Content-Length: {len(body)}")
                    payload = body
                writer.write(("\r\n".join(head) + "\r\n\r\n" + payload).encode())
                await writer.drain()
                if last:
                    return
        finally:
            writer.close()


def drive(server: Server, tmp_path, **plan) -> dict:
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("\n".join(str(n) for n in range(REQUESTS)))

    async def main() -> dict:
        listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        port = listening.sockets[0].getsockname()[1]
        async with listening:
            return await _run(
                {
                    "host": "127.0.0.1",
                    "port": port,
                    "tokens_file": str(tokens),
                    "method": "POST",
                    "path": "/grab",
                    "timeout": 5,
                    "max_seconds": 30,
                    **plan,
                }
            )

    return asyncio.run(main())


def assert_every_request_answered_once(result: dict, server: Server) -> None:
    assert result["answered"] == REQUESTS
    assert result["unanswered"] == {}
    assert result["statuses"] == {"201": REQUESTS // 2, "409": REQUESTS // 2}
    assert result["error_codes"] == {"SOLD_OUT": REQUESTS // 2}
    assert sorted(server.tokens_read, key=int) == [str(n) for n in range(REQUESTS)]
    assert len(result["answer_times"]) == REQUESTS
    assert 0 < result["last_answer_seconds"] <= result["seconds"]


@pytest.mark.parametrize("chunked", [False, True])
def test_keep_alive_sends_every_request_over_the_pool_of_connections(tmp_path, chunked):
    server = Server(close_after=None, say_close=False, chunked=chunked)

    result = drive(server, tmp_path, keep_alive=True, concurrency=4)

    assert_every_request_answered_once(result, server)
    assert server.connections == 4
    assert result["connections"] == {
        "clients": 4,
        "keep_alive": True,
        "opened": 4,
        "closed_by_server": 0,
        "stale_retries": 0,
    }


def test_keep_alive_reopens_what_a_sync_worker_closes_after_each_answer(tmp_path):
    server = Server(close_after=1, say_close=True)

    result = drive(server, tmp_path, keep_alive=True, concurrency=4)

    assert_every_request_answered_once(result, server)
    assert server.connections == REQUESTS
    assert result["connections"]["opened"] == REQUESTS
    assert result["connections"]["closed_by_server"] == REQUESTS
    assert result["connections"]["stale_retries"] == 0


def test_keep_alive_resends_once_what_met_a_connection_closed_while_idle(tmp_path):
    # The server drops each connection after 3 answers without saying so: the next
    # request on it finds it closed before any answer, and goes out again.
    server = Server(close_after=3, say_close=False)

    result = drive(server, tmp_path, keep_alive=True, concurrency=4)

    assert_every_request_answered_once(result, server)
    connections = result["connections"]
    assert connections["stale_retries"] > 0
    assert connections["closed_by_server"] == connections["stale_retries"]
    assert connections["opened"] == server.connections >= REQUESTS // 3


def test_default_opens_a_connection_per_request_and_says_close(tmp_path):
    server = Server(close_after=None, say_close=False)

    result = drive(server, tmp_path, concurrency=4)

    assert_every_request_answered_once(result, server)
    assert server.connections == REQUESTS
    assert result["connections"]["keep_alive"] is False
    assert result["connections"]["opened"] == REQUESTS


def test_loopback_only(tmp_path):
    with pytest.raises(SystemExit):
        asyncio.run(_run({"host": "10.0.0.1", "port": 80}))
