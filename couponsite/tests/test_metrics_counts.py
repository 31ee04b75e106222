"""What the plumbing counts (couponsite.metrics): rate-limit refusals by scope,
refusals by code, Redis fallbacks by place. Values are this process's registry's
(no PROMETHEUS_MULTIPROC_DIR in the test run): read before and after."""

import pytest
from django.core.cache import cache
from prometheus_client import REGISTRY

pytestmark = pytest.mark.django_db


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _otp(client, n: int) -> int:
    return client.post(
        "/api/v1/auth/otp",
        {"phone": f"+141555502{n:02d}"},
        content_type="application/json",
    ).status_code


def test_a_rate_limit_refusal_is_counted_by_scope_and_code(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "otp_ip": "1/hour"}
    limited = value("couponsite_rate_limit_refusals_total", scope="otp")
    refused = value("couponsite_refusals_total", code="RATE_LIMITED")

    answers = [_otp(client, n) for n in range(3)]

    assert answers == [202, 429, 429]
    assert value("couponsite_rate_limit_refusals_total", scope="otp") == limited + 2
    assert value("couponsite_refusals_total", code="RATE_LIMITED") == refused + 2


@pytest.mark.postgres
def test_redis_down_is_counted_where_the_code_went_on_without_it(client, redis_down):
    rate_limits = value("couponsite_redis_fallbacks_total", where="rate_limit")
    cache_misses = value("couponsite_redis_fallbacks_total", where="cache")

    assert _otp(client, 50) == 202  # answered all the same
    assert cache.get("anything") is None  # django-redis answers a miss

    assert value("couponsite_redis_fallbacks_total", where="rate_limit") > rate_limits
    assert value("couponsite_redis_fallbacks_total", where="cache") > cache_misses
