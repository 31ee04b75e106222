"""``couponsite.server.thin.refuse`` against the one exception handler, error by
error (the routes' own tests compare whole answers through Django's stack)."""

import asyncio
import json

import pytest
from django.utils import translation
from rest_framework.renderers import JSONRenderer

from couponsite.api.exceptions import RateLimited, ServiceUnavailable, exception_handler
from couponsite.errors import DomainError, NotFound
from couponsite.server import thin


class _TooSoon(DomainError):
    """A 429 that does not declare ``sends_retry_after``."""

    code = "OTP_RESEND_TOO_SOON"
    detail = "Wait a little — «ünïcode» stays as it is."


def _refused(
    error: DomainError, language: str = "en"
) -> tuple[int, dict[str, str], bytes]:
    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(thin.refuse(send, error, language=language))
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
@pytest.mark.parametrize("language", ["en", "zh-hant", "zh-hans"])
def test_refuse_answers_what_the_exception_handler_answers(error, language):
    with translation.override(language):
        response = exception_handler(error, {})
        rendered = JSONRenderer().render(response.data)

    status, headers, body = _refused(error, language)

    assert status == response.status_code
    assert body == rendered
    assert headers.get("retry-after") == response.headers.get("Retry-After")
    assert headers["content-type"] == "application/json"
    assert headers["content-language"] == language


def test_a_refusal_is_rendered_once_per_language():
    refusal = RateLimited(retry_after=1)

    english = thin.refusal_body(refusal, "en")
    chinese = thin.refusal_body(refusal, "zh-hant")

    # the class's own text: the same bytes object again, in each language
    assert thin.refusal_body(RateLimited(), "en") is english
    assert thin.refusal_body(RateLimited(), "zh-hant") is chinese
    assert english != chinese
    assert json.loads(chinese)["code"] == json.loads(english)["code"]
