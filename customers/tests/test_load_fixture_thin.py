"""Load-test customers are signed in as sign-in leaves them: the thin path knows
their tokens from the first request (no query), as it does after token_create."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from couponsite.redis_client import get_redis
from couponsite.server.thin import token_entry_key
from customers.models import ApiToken

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


def test_load_fixture_writes_each_tokens_thin_entry(tmp_path: Path, settings):
    if not settings.REDIS_URL:
        pytest.skip("thin entries live in Redis")
    tokens_file = tmp_path / "tokens.txt"
    call_command(
        "load_fixture", customers=30, tokens_file=str(tokens_file), stderr=io.StringIO()
    )
    raws = tokens_file.read_text().split()
    assert len(raws) == 30
    redis = get_redis()
    for raw in raws:
        token = ApiToken.objects.get(digest=ApiToken.digest_of(raw))
        entry = redis.get(token_entry_key(token.digest)).decode()
        assert (
            entry == f"{token.customer_id}:{int(token.expires_at.timestamp() * 1000)}"
        )
