"""The thin path's pipelined Redis connection, against the real Redis."""

import asyncio
import hashlib

import pytest
from django.conf import settings

from couponsite.server.loop_redis import LoopRedis, RedisReplyError, pack

pytestmark = pytest.mark.redis

SOURCE = b"return {ARGV[1], redis.call('INCR', KEYS[1])}"
SHA = hashlib.sha1(SOURCE).hexdigest().encode()


@pytest.fixture
def url():
    if not settings.REDIS_URL:
        pytest.skip("needs Redis")
    if settings.REDIS_CLUSTER:
        pytest.skip("the thin path's connection talks to a single Redis")
    return settings.REDIS_URL


def _key(name: str) -> str:
    return f"test:loop-redis:{name}"


def test_many_commands_in_flight_get_their_own_replies_in_order(url):
    async def main():
        redis = LoopRedis(url, timeout=2)
        await redis.evalsha(SHA, SOURCE, [_key("order")], ["warm"])
        replies = await asyncio.gather(
            *(
                redis.evalsha(SHA, SOURCE, [_key("order")], [f"n{n}"])
                for n in range(500)
            )
        )
        redis.close()
        return replies

    replies = asyncio.run(main())
    assert [reply[0] for reply in replies] == [f"n{n}".encode() for n in range(500)]
    counts = [reply[1] for reply in replies]
    assert counts == sorted(counts) and len(set(counts)) == 500


def test_a_script_redis_forgot_is_sent_again_whole(url):
    async def main():
        redis = LoopRedis(url, timeout=2)
        await redis.evalsha(SHA, SOURCE, [_key("flush")], ["a"])
        await redis._command(b"*2\r\n$6\r\nSCRIPT\r\n$5\r\nFLUSH\r\n")
        reply = await redis.evalsha(SHA, SOURCE, [_key("flush")], ["b"])
        redis.close()
        return reply

    assert asyncio.run(main())[0] == b"b"


def test_a_script_error_is_raised_not_returned(url):
    source = b"return redis.call('NOSUCHCOMMAND')"

    async def main():
        redis = LoopRedis(url, timeout=2)
        try:
            await redis.evalsha(
                hashlib.sha1(source).hexdigest().encode(), source, [], []
            )
        finally:
            redis.close()

    with pytest.raises(RedisReplyError):
        asyncio.run(main())


def test_a_killed_connection_fails_its_waiting_commands_and_the_next_reconnects(url):
    async def main():
        redis = LoopRedis(url, timeout=5)
        await redis.evalsha(SHA, SOURCE, [_key("kill")], ["x"])
        # BLPOP on an empty list: waits on the server for up to a second.
        waiting = asyncio.ensure_future(
            redis._command(pack("BLPOP", _key("empty-list"), 1))
        )
        await asyncio.sleep(0.05)
        redis.transport.abort()  # as if the server went away mid-command
        with pytest.raises(ConnectionError):
            await waiting
        reply = await redis.evalsha(SHA, SOURCE, [_key("kill")], ["again"])
        redis.close()
        return reply

    assert asyncio.run(main())[0] == b"again"


def test_a_server_that_never_answers_fails_within_the_timeout():
    async def main():
        server = await asyncio.start_server(
            lambda reader, writer: None, "127.0.0.1", 0
        )  # accepts, reads nothing, answers nothing
        port = server.sockets[0].getsockname()[1]
        redis = LoopRedis(f"redis://127.0.0.1:{port}/0", timeout=0.3)
        try:
            async with asyncio.timeout(5):
                with pytest.raises(ConnectionError):
                    await redis.evalsha(SHA, SOURCE, [_key("never")], ["x"])
        finally:
            redis.close()
            server.close()

    asyncio.run(main())
