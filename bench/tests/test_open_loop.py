"""Open-loop arrivals: the schedule, the latency from each customer's arrival, the
kinds of connection errors, and a small run of the load generator's open mode
against loopback servers (one that answers, one that never does, one that hangs
up, and a port where nothing listens)."""

import asyncio
import errno
import json
import subprocess
import sys
import threading

import pytest

from bench.loadgen import (
    _NothingRead,
    arrival_offsets,
    classify,
    latencies_from_arrival,
    parse_answer,
)
from bench.scenarios import ROOT, load_shape
from couponsite.testing.live_server import free_port


def test_arrivals_within_a_window_are_even_and_all_inside_it():
    offsets = arrival_offsets(4, within=1.0)

    assert offsets == [0.0, 0.25, 0.5, 0.75]
    assert arrival_offsets(30_000, within=1.0)[-1] < 1.0
    assert arrival_offsets(3) == [0.0, 0.0, 0.0]  # no window: all at once
    assert arrival_offsets(0, within=1.0) == []


def test_a_ramp_grows_the_arrival_rate_linearly():
    offsets = arrival_offsets(10_000, ramp=4.0)

    # By time t, count * (t / ramp)^2 have arrived: a quarter in the first half.
    assert sum(1 for t in offsets if t < 2.0) == 2_500
    assert offsets[0] == 0.0 and offsets[-1] < 4.0
    assert offsets == sorted(offsets)
    # The second half of the ramp brings three times the first half's customers.
    assert sum(1 for t in offsets if t >= 2.0) == 3 * 2_500


def test_latency_is_counted_from_the_scheduled_arrival_not_the_connection():
    records = [
        # (arrival, answered at, status, code): a customer set off 2 s late (a
        # slow generator or a full listen queue) waited all of it.
        (10.0, 10.05, 201, ""),
        (10.5, 12.6, 409, "SOLD_OUT"),
        (11.0, None, None, "timed_out"),  # no answer: no latency
    ]

    assert latencies_from_arrival(records) == pytest.approx([0.05, 2.1])


@pytest.mark.parametrize(
    "exc, kind",
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "refused"),
        (ConnectionResetError(errno.ECONNRESET, "reset"), "reset"),
        (BrokenPipeError(errno.EPIPE, "pipe"), "reset"),
        (asyncio.IncompleteReadError(b"HTTP/1.1 2", None), "reset"),
        (_NothingRead(), "reset"),
        (TimeoutError(), "timed_out"),
        (OSError(errno.ETIMEDOUT, "connect timed out"), "timed_out"),
        (OSError(errno.EMFILE, "too many open files"), "EMFILE"),
        (OSError(errno.EADDRNOTAVAIL, "no source port"), "EADDRNOTAVAIL"),
    ],
)
def test_connection_errors_are_told_apart(exc, kind):
    assert classify(exc) == kind


def test_a_failure_before_any_byte_is_classified_by_its_cause():
    wrapped = _NothingRead()
    wrapped.__cause__ = ConnectionResetError(errno.ECONNRESET, "reset")

    assert classify(wrapped) == "reset"


class Server:
    """A loopback HTTP server in a thread: ``answer`` (201 for even tokens, 409
    SOLD_OUT for odd), ``silent`` (reads, never answers) or ``hang_up`` (reads,
    closes without a word)."""

    def __init__(self, behaviour: str):
        self.behaviour = behaviour
        self.connections = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    async def handle(self, reader, writer) -> None:
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if self.behaviour == "silent":
                await reader.read()  # until the customer gives up
            if self.behaviour == "hang_up":
                return
            token = next(
                line.split()[-1]
                for line in head.decode().split("\r\n")
                if line.lower().startswith("authorization")
            )
            if int(token) % 2 == 0:
                status, body = "201 Created", b"{}"
            else:
                status, body = "409 Conflict", b'{"code": "SOLD_OUT"}'
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self.handle, "127.0.0.1", 0, backlog=512)
        )
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    def __enter__(self):
        self.thread.start()
        self.ready.wait(5)
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def run_open(tmp_path, port: int, customers: int, **plan) -> dict:
    """The load generator's process in open mode, as the bench starts it."""
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("\n".join(str(n) for n in range(customers)))
    plan_file, result_file = tmp_path / "plan.json", tmp_path / "result.json"
    plan_file.write_text(
        json.dumps(
            {
                "host": "127.0.0.1",
                "port": port,
                "method": "POST",
                "path": "/grab",
                "tokens_file": str(tokens),
                "timeout": 5.0,
                "max_seconds": 20,
                **plan,
                "arrivals": {"mode": "open", "within": 0.3, "processes": 2}
                | plan.get("arrivals", {}),
            }
        )
    )
    subprocess.run(
        [sys.executable, "-m", "bench.loadgen", str(plan_file), str(result_file)],
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    return json.loads(result_file.read_text())


def test_each_customer_arrives_on_its_own_connection_and_is_answered(tmp_path):
    with Server("answer") as server:
        result = run_open(tmp_path, server.port, 60)

    assert server.connections == 60
    assert result["answered"] == 60
    assert result["statuses"] == {"201": 30, "409": 30}
    assert result["error_codes"] == {"SOLD_OUT": 30}
    arrivals = result["arrivals"]
    assert arrivals["connection_errors"] == {"refused": 0, "reset": 0, "timed_out": 0}
    assert arrivals["processes"] == 2
    assert len(arrivals["loadgen_cpu_seconds_by_process"]) == 2
    assert not arrivals["capped_by_file_limit"]
    # The last customer arrives 0.3 s in (less one step): the last answer no sooner.
    assert 0.29 <= result["last_answer_seconds"] < 5
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert len(result["answer_times"]) == 60


def test_a_ramp_is_reported_as_such(tmp_path):
    with Server("answer") as server:
        result = run_open(tmp_path, server.port, 20, arrivals={"ramp": 0.2})

    assert result["answered"] == 20
    assert result["arrivals"]["ramp_seconds"] == 0.2
    assert "within_seconds" not in result["arrivals"]


def test_nothing_listening_is_refused(tmp_path):
    result = run_open(tmp_path, free_port(), 10)

    assert result["answered"] == 0
    assert result["unanswered"] == {"refused": 10}
    assert result["arrivals"]["connection_errors"]["refused"] == 10


def test_a_server_that_hangs_up_resets(tmp_path):
    with Server("hang_up") as server:
        result = run_open(tmp_path, server.port, 10)

    assert result["unanswered"] == {"reset": 10}


def test_a_customer_waits_its_timeout_from_its_arrival_then_gives_up(tmp_path):
    with Server("silent") as server:
        result = run_open(tmp_path, server.port, 6, timeout=0.5)

    assert result["unanswered"] == {"timed_out": 6}
    # Each gave up 0.5 s after its arrival: the phase took about the window and that.
    assert result["seconds"] < 3


def test_customers_arriving_after_the_phase_deadline_are_not_sent(tmp_path):
    with Server("answer") as server:
        result = run_open(
            tmp_path, server.port, 10, max_seconds=0.5, arrivals={"within": 1.0}
        )

    assert server.connections == 5
    assert result["answered"] == 5
    assert result["unanswered"] == {"deadline": 5}


def test_open_loop_is_loopback_only(tmp_path):
    with pytest.raises(subprocess.CalledProcessError):
        run_open(tmp_path, 80, 1, host="192.0.2.1")


def test_the_report_names_the_open_loop_shape():
    shape = load_shape(
        {
            "connections": 32,
            "keep_alive": False,
            "arrivals": {"mode": "open", "within": 1.0, "processes": 2},
        }
    )

    assert "arrives within 1.0 s" in shape and "2 generator process" in shape


@pytest.mark.parametrize(
    "data, ended, answer",
    [
        (b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}", False, (201, b"{}")),
        (b"HTTP/1.1 201 Created\r\nContent-Length: 9\r\n\r\n{}", False, None),
        (b"HTTP/1.1 200 OK\r\nContent-Le", False, None),
        (b"HTTP/1.1 204 No Content\r\n\r\n", False, (204, b"")),
        # A body that ends with the connection, whole only once it closed.
        (b"HTTP/1.1 200 OK\r\n\r\nabc", False, None),
        (b"HTTP/1.1 200 OK\r\n\r\nabc", True, (200, b"abc")),
        (
            b"HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'3\r\n{"c\r\n2\r\n"}\r\n0\r\n\r\n',
            True,
            (409, b'{"c"}'),
        ),
    ],
)
def test_an_answer_is_whole_when_its_length_says_so_or_the_server_closed(
    data, ended, answer
):
    assert parse_answer(data, ended=ended) == answer
