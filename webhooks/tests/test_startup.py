"""The served application learns at start-up whether anyone listens, so its thin
routes take their first requests instead of leaving them to Django."""

import asyncio
import contextlib

import pytest

from couponsite.asgi import application
from couponsite.localcache import MISSING, local_forget, local_peek_stale
from couponsite.server import thin
from webhooks.events import EventType
from webhooks.models import Endpoint
from webhooks.subscriptions import SUBSCRIPTIONS_KEY, thin_may_take

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _refresh_thread_closes():
    yield
    thin.reset()  # the start-up load ran there, on its own connection


def _start_up() -> None:
    """What uvicorn does when a worker starts: the ASGI lifespan's startup."""
    messages = [{"type": "lifespan.startup"}]
    sent: list[dict] = []

    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)
        if message["type"] == "lifespan.startup.complete":
            raise asyncio.CancelledError  # stop the lifespan loop here

    async def run():
        with contextlib.suppress(asyncio.CancelledError):
            await application({"type": "lifespan"}, receive, send)

    asyncio.run(run())
    assert sent == [{"type": "lifespan.startup.complete"}]


def test_with_nobody_listening_the_first_request_may_take_the_thin_path():
    local_forget(SUBSCRIPTIONS_KEY)
    assert not thin_may_take(EventType.VOUCHER_REDEEMED)  # unknown: Django's

    _start_up()

    assert thin_may_take(EventType.VOUCHER_REDEEMED)


def test_with_a_listener_the_first_request_is_left_to_django():
    Endpoint.objects.create(
        url="https://hooks.example.com/in", events=[EventType.VOUCHER_REDEEMED]
    )
    local_forget(SUBSCRIPTIONS_KEY)

    _start_up()

    value, stale_for = local_peek_stale(SUBSCRIPTIONS_KEY)
    assert value is not MISSING and stale_for < 0
    assert EventType.VOUCHER_REDEEMED in value
    assert not thin_may_take(EventType.VOUCHER_REDEEMED)
    assert thin_may_take(EventType.DRAW_WON)
