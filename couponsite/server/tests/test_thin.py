"""``couponsite.server.thin.refuse`` against the one exception handler, error by
error (the routes' own tests compare whole answers through Django's stack)."""

import asyncio

import pytest
from rest_framework.renderers import JSONRenderer

from couponsite.api.exceptions import RateLimited, ServiceUnavailable, exception_handler
from couponsite.errors import DomainError, NotFound
from couponsite.server import thin


class _TooSoon(DomainError):
    """A 429 that does not declare ``sends_retry_after``."""

    code = "OTP_RESEND_TOO_SOON"
    detail = "Wait a little — «ünïcode» stays as it is."


def _refused(error: DomainError) -> tuple[int, dict[str, str], bytes]:
    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(thin.refuse(send, error))
    headers = {name.decode(): value.decode() for name, value in sent[0]["headers"]}
    return sent[0]["status"], headers, sent[1]["body"]


@pytest.mark.parametrize(
    "error",
    [
        RateLimited(retry_after=2.2),
        ServiceUnavailable(retry_after=3),
        _TooSoon(retry_after=61.5),  # Retry-After whenever raised with one
        _TooSoon(),  # and on every 429
        NotFound(),
    ],
    ids=repr,
)
def test_refuse_answers_what_the_exception_handler_answers(error):
    response = exception_handler(error, {})

    status, headers, body = _refused(error)

    assert status == response.status_code
    assert body == JSONRenderer().render(response.data)
    assert headers.get("retry-after") == response.headers.get("Retry-After")
    assert headers["content-type"] == "application/json"
