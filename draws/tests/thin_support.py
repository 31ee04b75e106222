"""What the modes' thin-path tests share: a signed-in customer seen from both
paths, and a campaign this process holds (couponsite.testing.thin sends the
requests)."""

import json

import pytest
from rest_framework.test import APIClient

from campaigns.selectors import campaign_by_slug
from couponsite.localcache import local_clear
from customers.services import token_create
from customers.tests.factories import CustomerFactory
from webhooks.subscriptions import subscribed_types

# How a customer asks in Chinese, and the language Django answers in: by
# ``Accept-Language`` (LocaleMiddleware), or by their saved language, which
# wins over the request's (customers.authentication).
IN_CHINESE = [
    pytest.param("zh-hant", {"Accept-Language": "zh-TW"}, "", id="zh-TW"),
    pytest.param("zh-hans", {"Accept-Language": "zh-CN,en;q=0.5"}, "", id="zh-CN"),
    pytest.param("zh-hant", {}, "zh-hant", id="saved-zh-hant"),
    pytest.param("zh-hans", {"Accept-Language": "en"}, "zh-hans", id="saved-zh-hans"),
]


def in_language(answer: dict, language: str) -> str:
    """The refusal's ``code``, once it is said to be, and is, in ``language``
    (not in English)."""
    assert answer["headers"]["content-language"] == language
    assert answer["headers"]["vary"] == "Accept-Language"
    refusal = json.loads(answer["body"])
    assert not refusal["detail"].isascii()
    return refusal["code"]


def signed_in(language: str = "") -> tuple[str, APIClient]:
    """A customer's token (for the thin path) and a client of theirs (for
    Django); ``language``: their saved one."""
    customer = CustomerFactory(language=language)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {token_create(customer=customer).key}"
    )
    client.customer = customer
    return token_create(customer=customer).key, client


def held(slug: str) -> None:
    """This process holds the campaign, as after Django served it a moment ago."""
    local_clear()
    assert campaign_by_slug(slug) is not None
    subscribed_types(reload=True)  # the webhooks' subscriptions, read by Django too
