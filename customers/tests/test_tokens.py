"""Tokens end, and a revoked token is refused on the next request in every mode:
no Redis (nothing cached), Redis (shared cache), Redis down (the database)."""

import socket
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connections
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from couponsite.redis_client import get_redis
from customers import authentication
from customers.authentication import token_cache_key
from customers.models import ApiToken
from customers.services import email_verification_start, token_create, token_revoke

ME = "/api/v1/me"


def _bearer(token: ApiToken) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
    return client


def _elsewhere(work) -> None:
    """Run ``work`` on another thread with its own database connection, as another
    worker process would: nothing it does reaches this process's memory."""
    errors = []

    def run():
        try:
            work()
        except Exception as exc:  # handed back to the test
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


@pytest.fixture
def no_redis(settings):
    """The embedded default: no REDIS_URL, a per-process local-memory cache."""
    settings.REDIS_URL = ""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "tokens-no-redis",
        }
    }
    cache.clear()


class TestLifetime:
    pytestmark = pytest.mark.django_db

    def test_customer_and_staff_tokens_get_their_lifetimes(
        self, customer, staff_user, settings
    ):
        settings.TOKEN_TTL_SECONDS = 3600
        settings.STAFF_TOKEN_TTL_SECONDS = 7200
        now = timezone.now()

        mine = token_create(customer=customer)
        staff = token_create(user=staff_user)

        assert abs(mine.expires_at - (now + timedelta(hours=1))) < timedelta(seconds=5)
        assert abs(staff.expires_at - (now + timedelta(hours=2))) < timedelta(seconds=5)

    @pytest.mark.parametrize("cached", [True, False], ids=["cached", "first-use"])
    def test_an_expired_token_is_refused(self, customer, cached):
        token = token_create(
            customer=customer, expires_at=timezone.now() + timedelta(hours=1)
        )
        client = _bearer(token)
        if cached:
            assert client.get(ME).status_code == 200

        with time_machine.travel(token.expires_at + timedelta(seconds=1)):
            response = client.get(ME)

        assert response.status_code == 401
        assert response.json()["code"] == "TOKEN_EXPIRED"
        assert response["WWW-Authenticate"].startswith("Bearer")

    @pytest.mark.redis
    def test_the_cache_keeps_an_owner_no_longer_than_the_token_lives(self, customer):
        token = token_create(
            customer=customer, expires_at=timezone.now() + timedelta(seconds=10)
        )
        assert _bearer(token).get(ME).status_code == 200

        ttl = get_redis().ttl(cache.make_key(token_cache_key(token.digest)))

        assert 0 < ttl <= 10


@pytest.mark.django_db
def test_without_redis_each_request_costs_one_query(
    no_redis, customer_client, django_assert_num_queries
):
    customer_client.get(ME)

    with django_assert_num_queries(1):  # the token, its customer and their email
        assert customer_client.get(ME).status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestRevocation:
    def test_without_redis_nothing_is_cached_in_the_process(self, no_redis, customer):
        token = token_create(customer=customer)

        assert _bearer(token).get(ME).status_code == 200

        assert cache.get(token_cache_key(token.digest)) is None

    def test_without_redis_a_token_revoked_by_another_process_is_refused(
        self, no_redis, customer
    ):
        token = token_create(customer=customer)
        client = _bearer(token)
        assert client.get(ME).status_code == 200

        _elsewhere(
            lambda: ApiToken.objects.filter(pk=token.pk).update(
                revoked_at=timezone.now()
            )
        )

        assert client.get(ME).json()["code"] == "INVALID_TOKEN"

    @pytest.mark.redis
    def test_with_redis_a_token_revoked_by_another_process_is_refused(self, customer):
        token = token_create(customer=customer)
        client = _bearer(token)
        assert client.get(ME).status_code == 200  # now cached in Redis
        assert isinstance(
            cache.get(token_cache_key(token.digest)), authentication.TokenOwner
        )

        _elsewhere(lambda: token_revoke(token=ApiToken.objects.get(pk=token.pk)))

        assert client.get(ME).json()["code"] == "INVALID_TOKEN"

    @pytest.mark.redis
    def test_a_lookup_that_raced_the_revocation_cannot_cache_the_old_answer(
        self, customer, monkeypatch
    ):
        token = token_create(customer=customer)
        read_from_database = authentication._from_database

        def read_then_revocation_commits(digest):
            found = read_from_database(digest)  # still valid when read...
            _elsewhere(lambda: token_revoke(token=ApiToken.objects.get(pk=token.pk)))
            return found  # ...and cached only after the revocation

        monkeypatch.setattr(
            authentication, "_from_database", read_then_revocation_commits
        )
        assert _bearer(token).get(ME).status_code == 200  # the racing request
        monkeypatch.undo()

        assert _bearer(token).get(ME).json()["code"] == "INVALID_TOKEN"

    def test_with_redis_down_tokens_are_checked_in_the_database(
        self, redis_down, customer
    ):
        token = token_create(customer=customer)
        client = _bearer(token)
        assert client.get(ME).status_code == 200

        token_revoke(token=token)

        assert client.get(ME).json()["code"] == "INVALID_TOKEN"

    @pytest.mark.redis
    def test_a_revocation_redis_missed_holds_within_the_cache_lifetime(
        self, customer, settings
    ):
        """Redis unreachable while revoking: its old entry ends by TOKEN_CACHE_SECONDS."""
        settings.TOKEN_CACHE_SECONDS = 1
        token = token_create(customer=customer)
        client = _bearer(token)
        assert client.get(ME).status_code == 200  # cached in Redis

        with override_settings(**_unreachable_redis(settings)):
            token_revoke(token=token)  # committed; Redis cannot be told

        assert get_redis().ttl(cache.make_key(token_cache_key(token.digest))) <= 1
        time.sleep(1.1)
        assert client.get(ME).json()["code"] == "INVALID_TOKEN"


def _unreachable_redis(settings) -> dict:
    """Settings pointing Redis at a local port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    return {
        "REDIS_URL": url,
        "CACHES": {
            "default": {
                **settings.CACHES["default"],
                "LOCATION": url,
                "OPTIONS": {
                    "SOCKET_CONNECT_TIMEOUT": 0.2,
                    "SOCKET_TIMEOUT": 0.2,
                    "IGNORE_EXCEPTIONS": True,
                },
            }
        },
    }


@pytest.mark.django_db
class TestLookup:
    """The token lookup reads plain rows; what it builds is what the ORM builds."""

    def test_a_customer_token_gives_the_customer_and_their_pending_email(
        self, customer, django_assert_num_queries
    ):
        # given a customer who asked to add an email
        email_verification_start(customer=customer, email="ann@example.com")
        token = token_create(customer=customer)

        # when
        with django_assert_num_queries(1):
            found = authentication._from_database(token.digest)
            verification = found.owner.email_verification  # no second query

        # then the instances hold the ORM's values, datetimes aware
        expected = (
            ApiToken.objects.select_related("customer__email_verification")
            .get(pk=token.pk)
            .customer
        )
        assert found.expires_at == token.expires_at
        assert timezone.is_aware(found.expires_at)
        for field in type(expected)._meta.concrete_fields:
            assert getattr(found.owner, field.attname) == getattr(
                expected, field.attname
            )
        for field in type(verification)._meta.concrete_fields:
            assert getattr(verification, field.attname) == getattr(
                expected.email_verification, field.attname
            )
        assert verification.customer is found.owner
        assert not found.owner._state.adding

    def test_a_customer_without_a_pending_email_costs_no_second_query(
        self, customer, django_assert_num_queries
    ):
        token = token_create(customer=customer)

        with django_assert_num_queries(1):
            found = authentication._from_database(token.digest)
            assert not hasattr(found.owner, "email_verification")

    def test_unknown_revoked_and_deactivated_owners_are_nobody(self, customer):
        revoked = token_create(customer=customer)
        token_revoke(token=revoked)
        live = token_create(customer=customer)
        customer.is_active = False
        customer.save(update_fields=["is_active"])

        assert authentication._from_database("0" * 64).owner is None
        assert authentication._from_database(revoked.digest).owner is None
        found = authentication._from_database(live.digest)
        assert found.owner is None
        assert found.expires_at == live.expires_at

    def test_a_staff_token_gives_the_user_while_they_are_staff(self, staff_user):
        token = token_create(user=staff_user)

        assert authentication._from_database(token.digest).owner == staff_user
        staff_user.is_staff = False
        staff_user.save(update_fields=["is_staff"])
        assert authentication._from_database(token.digest).owner is None
