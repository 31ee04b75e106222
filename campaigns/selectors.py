"""Reads about campaigns that a use case needs together."""

import datetime as dt

from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone

from campaigns.models import Campaign, CouponType
from campaigns.services import odds_cache_key
from couponsite.localcache import local_cached

ODDS_CACHE_SECONDS = 600
CAMPAIGN_CACHE_SECONDS = 300


def campaign_cache_key(slug: str) -> str:
    return f"campaign:slug:{slug}"


def campaign_by_slug(slug: str) -> Campaign | None:
    """The campaign with this slug, cached: every participation request starts here.

    An edit of the campaign drops the entry (``campaigns.signals``).
    """
    key = campaign_cache_key(slug)

    def load():
        campaign = cache.get(key)
        if campaign is None:
            campaign = Campaign.objects.filter(slug=slug).first()
            cache.set(key, campaign or False, CAMPAIGN_CACHE_SECONDS)
        return campaign

    return local_cached(key, load) or None


def campaign_odds(campaign: Campaign) -> list[tuple[int, float]]:
    """The draw distribution ``[(coupon type id, probability), …]``, cached.

    Cached in Redis (or the local cache) so a draw reads no coupon type rows;
    an edit of a type invalidates it (``campaigns.signals``).
    """
    key = odds_cache_key(campaign.pk)

    def load():
        odds = cache.get(key)
        if odds is None:
            odds = [
                (pk, float(probability))
                for pk, probability in CouponType.objects.filter(
                    campaign=campaign, probability__gt=0
                )
                .order_by("id")
                .values_list("id", "probability")
            ]
            cache.set(key, odds, ODDS_CACHE_SECONDS)
        return [tuple(pair) for pair in odds]

    return local_cached(key, load)


def campaign_figures(campaign: Campaign, now: dt.datetime | None = None) -> dict:
    """Today's and all-time figures of a campaign, in its local day."""
    from draws.models import Draw
    from vouchers.models import Voucher

    now = now or timezone.now()
    day = campaign.local_day(now)
    draws = Draw.objects.filter(campaign=campaign, day=day).aggregate(
        draws=Count("id"), wins=Count("id", filter=Q(won=True))
    )
    vouchers = Voucher.objects.filter(campaign=campaign).aggregate(
        issued=Count("id", filter=~Q(status=Voucher.Status.AVAILABLE)),
        redeemed=Count("id", filter=Q(status=Voucher.Status.REDEEMED)),
        held=Count("id", filter=Q(status=Voucher.Status.HELD, held_until__gt=now)),
    )
    types = [
        {
            "id": coupon_type.pk,
            "name": coupon_type.name,
            "issued_today": coupon_type.issued_on(day),
            "left_today": coupon_type.left_on(day),
            "issued_total": coupon_type.issued_total,
            "left_total": None
            if coupon_type.total_quota is None
            else coupon_type.total_quota - coupon_type.issued_total,
        }
        for coupon_type in campaign.coupon_types.all()
    ]
    return {
        "day": day,
        "rush": _rush_figures(campaign, now)
        if campaign.kind == Campaign.Kind.RUSH
        else None,
        "draws_today": draws["draws"],
        "wins_today": draws["wins"],
        "vouchers_issued": vouchers["issued"],
        "vouchers_redeemed": vouchers["redeemed"],
        "holds_now": vouchers["held"],
        "coupon_types": types,
    }


def _rush_figures(campaign: Campaign, now: dt.datetime) -> dict:
    """The latest rush cycle that opened: its day, reservations, coupons and grabs."""
    from campaigns.schedule import RushWindows
    from draws.models import Grab, RushDay

    cycle = RushWindows.of(campaign).latest_cycle(campaign.tz, now)
    rush_day = RushDay.objects.filter(campaign=campaign, day=cycle.day).first()
    grabs = Grab.objects.filter(campaign=campaign, day=cycle.day)
    grab_count = grabs.count()
    coupons = rush_day.coupons if rush_day else 0
    return {
        "day": cycle.day,
        "reservation_opens": cycle.reservation_opens,
        "rush_opens": cycle.rush_opens,
        "rush_closes": cycle.rush_ends,
        "reservations": rush_day.reservations if rush_day else 0,
        "coupons": coupons,
        "grabs": grab_count,
        "sold_out_at": grabs.order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
        if coupons and grab_count >= coupons
        else None,
    }
