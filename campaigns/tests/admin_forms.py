"""The admin's add-campaign form as a browser posts it, for tests."""

import datetime as dt

from django.utils import timezone


def campaign_add_form(**overrides) -> dict:
    """A draw campaign with one coupon type, running from yesterday for 30 days;
    ``overrides`` replace or add form fields."""
    now = timezone.now()
    data = {
        "name": "Admin Draw",
        "slug": "admin-draw",
        "kind": "draw",
        "status": "active",
        "description": "",
        "timezone": "Europe/Paris",
        "starts_at_0": (now - dt.timedelta(days=1)).strftime("%Y-%m-%d"),
        "starts_at_1": "00:00:00",
        "ends_at_0": (now + dt.timedelta(days=30)).strftime("%Y-%m-%d"),
        "ends_at_1": "00:00:00",
        "reservation_opens": "22:55:00",
        "reservation_closes": "22:59:59",
        "rush_opens": "23:00:00",
        "rush_closes": "23:00:59",
        "ratio": "0.2",
        "coupon_types-TOTAL_FORMS": "1",
        "coupon_types-INITIAL_FORMS": "0",
        "coupon_types-MIN_NUM_FORMS": "0",
        "coupon_types-MAX_NUM_FORMS": "1000",
        "coupon_types-0-name": "$2 Cash Coupon",
        "coupon_types-0-benefit_kind": "amount",
        "coupon_types-0-amount": "2",
        "coupon_types-0-currency": "USD",
        "coupon_types-0-probability": "0.5",
        "coupon_types-0-hold_seconds": "300",
        "coupon_types-0-valid_days": "30",
        "coupon_types-0-code_length": "10",
    }
    data.update(overrides)
    return data
