"""Shared set-up for the rush tests: a campaign, its moments, many customers."""

import datetime as dt
import zoneinfo
from decimal import Decimal

from rest_framework.test import APIClient

from campaigns.models import Campaign, CouponType
from campaigns.services import campaign_create
from customers.models import Customer
from customers.services import token_create
from draws.rush.services import rush_grab, rush_local_state_clear, rush_reserve

ZONE = "Asia/Taipei"  # UTC+8: the local day differs from the UTC day at 23:00
DAY = dt.date(2026, 4, 24)


def at(day: dt.date, clock: str, zone: str = ZONE) -> dt.datetime:
    """An aware instant from a local date and "HH:MM:SS[.ffffff]" in ``zone``."""
    return dt.datetime.combine(day, dt.time.fromisoformat(clock)).replace(
        tzinfo=zoneinfo.ZoneInfo(zone)
    )


RESERVING = at(DAY, "22:57:00")
RUSHING = at(DAY, "23:00:10")


def rush_campaign(**fields) -> Campaign:
    """A running rush with seed 003's defaults: reserve 22:55-22:59:59, rush 23:00-23:00:59."""
    defaults = {
        "acting_user": None,
        "name": "Rush",
        "kind": Campaign.Kind.RUSH,
        "timezone": ZONE,
        "starts_at": at(DAY - dt.timedelta(days=30), "00:00:00"),
        "ends_at": at(DAY + dt.timedelta(days=30), "00:00:00"),
        "coupon_types": [
            {
                "name": "$10 off",
                "benefit_kind": CouponType.Kind.AMOUNT,
                "amount": Decimal(10),
                "currency": "USD",
                "valid_days": 7,
            }
        ],
    }
    return campaign_create(**{**defaults, **fields})


def rush_with_one_grab() -> Campaign:
    """A rush whose day has five reservations and one grab (one coupon for five
    reservations), written through the services; Redis's local state cleared."""
    rush_local_state_clear()
    campaign = rush_campaign()
    people = customers(5)
    for person in people:
        rush_reserve(campaign=campaign, customer=person, now=RESERVING)
    rush_grab(campaign=campaign, customer=people[0], now=RUSHING)
    rush_local_state_clear()
    return campaign


def customers(count: int, *, start: int = 0) -> list[Customer]:
    return Customer.objects.bulk_create(
        Customer(phone=f"+1415556{start + n:04d}", name=f"Customer {start + n}")
        for n in range(count)
    )


def client_for(customer: Customer) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {token_create(customer=customer).key}"
    )
    return client


def in_batches(items: list, size: int = 150) -> list[list]:
    """The calls of a long race in waves of at most 150 (``race`` further bounds each
    wave to the connections the server has free)."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def roomy_redis_pool(settings) -> None:
    """150 threads in one process need more than redis-py's 100 pooled connections
    (a gunicorn sync worker needs one). django-redis keeps a pool per URL, so the
    size goes in the URL."""
    cache = settings.CACHES["default"]
    if cache["BACKEND"] != "django_redis.cache.RedisCache" or "?" in cache["LOCATION"]:
        return
    settings.CACHES = {
        "default": {**cache, "LOCATION": f"{cache['LOCATION']}?max_connections=400"}
    }
