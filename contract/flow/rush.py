"""Flash-sale rush: a campaign whose windows open seconds from now.

Reservations open 3 s after the campaign is created and stay open 4 s; the
rush opens 2 s later. Two customers reserve at a ratio of 0.5, so there is one
coupon: the first grab wins it, the second finds it sold out, and a customer
who did not reserve is told so (the documented order of the checks: window,
reservation, already received, sold out).
"""

import math
import time
from datetime import UTC, datetime, timedelta

from couponsite_client.api.campaigns import campaigns_retrieve
from couponsite_client.api.rush import (
    campaigns_grabs_create,
    campaigns_reservations_create,
)
from couponsite_client.api.vouchers import vouchers_retrieve
from couponsite_client.models import CampaignDetail, Grab, Reservation, Voucher

from contract.flow import Flow, iso
from contract.flow.draw import check_figures, create_campaign

RESERVATIONS_IN = 3  # seconds from creation
RESERVATIONS_LAST = 4  # seconds the reservation window lasts (inclusive to the second)
RUSH_AFTER = 2  # seconds from reservations closing to the rush opening
RUSH_LAST = 30


def _clock(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S")


def _sleep_until(epoch: float) -> None:
    time.sleep(max(0.0, epoch - time.time()))


def run(flow: Flow) -> None:
    h = flow.h
    alice, bob, carol = (flow.customer(n) for n in ("alice", "bob", "carol"))
    slug = "contract-rush"
    base = math.ceil(time.time())
    opens = base + RESERVATIONS_IN
    closes = opens + RESERVATIONS_LAST - 1
    rush_opens = closes + RUSH_AFTER
    start = datetime.fromtimestamp(base, UTC) - timedelta(minutes=1)
    body = {
        "name": "Contract rush",
        "slug": slug,
        "kind": "rush",
        "timezone": "UTC",
        "starts_at": iso(start),
        "ends_at": iso(start + timedelta(days=1)),
        "reservation_opens": _clock(opens),
        "reservation_closes": _clock(closes),
        "rush_opens": _clock(rush_opens),
        "rush_closes": _clock(rush_opens + RUSH_LAST - 1),
        "ratio": "0.5",
        "coupon_types": [
            {"name": "Free cake", "benefit_kind": "free_item", "free_item": "Cake"}
        ],
    }
    campaign = create_campaign(
        flow, "rush: staff create a rush starting in seconds", body
    )
    flow.need(campaign, "rush campaign")
    h.call(
        "rush: alice reserves before the window",
        lambda: campaigns_reservations_create.sync_detailed(slug, client=alice),
        expect=403,
        code="NOT_IN_ACTIVE_TIME",
    )

    _sleep_until(opens + 0.2)
    for name, client in (("alice", alice), ("bob", bob)):
        h.call(
            f"rush: {name} reserves",
            lambda client=client: campaigns_reservations_create.sync_detailed(
                slug, client=client
            ),
            expect=201,
            want=Reservation,
        )
    h.call(
        "rush: alice reserves again",
        lambda: campaigns_reservations_create.sync_detailed(slug, client=alice),
        expect=409,
        code="ERROR_DUPLICATED_RESERVATION",
    )
    h.call(
        "rush: alice grabs while reservations are open",
        lambda: campaigns_grabs_create.sync_detailed(slug, client=alice),
        expect=403,
        code="NOT_IN_ACTIVE_TIME",
    )

    _sleep_until(rush_opens + 0.2)
    key = "contract-grab-1"
    grab = h.call(
        "rush: alice grabs, with an Idempotency-Key",
        lambda: campaigns_grabs_create.sync_detailed(
            slug, client=alice, idempotency_key=key
        ),
        expect=201,
        want=Grab,
    )
    if grab is not None:
        h.call(
            "rush: alice's grab retried with its Idempotency-Key",
            lambda: campaigns_grabs_create.sync_detailed(
                slug, client=alice, idempotency_key=key
            ),
            expect=201,
            want=Grab,
        )
        h.call(
            "rush: alice reads the coupon she grabbed",
            lambda: vouchers_retrieve.sync_detailed(grab.voucher.code, client=alice),
            expect=200,
            want=Voucher,
        )
    h.call(
        "rush: alice grabs again",
        lambda: campaigns_grabs_create.sync_detailed(slug, client=alice),
        expect=409,
        code="ALREADY_RECEIVED",
    )
    h.call(
        "rush: bob grabs after the only coupon went",
        lambda: campaigns_grabs_create.sync_detailed(slug, client=bob),
        expect=409,
        code="SOLD_OUT",
    )
    h.call(
        "rush: carol, who did not reserve, grabs after it sold out",
        lambda: campaigns_grabs_create.sync_detailed(slug, client=carol),
        expect=403,
        code="NOT_RESERVATION",
    )
    h.call(
        "rush: carol reserves during the rush",
        lambda: campaigns_reservations_create.sync_detailed(slug, client=carol),
        expect=403,
        code="NOT_IN_ACTIVE_TIME",
    )
    check_figures(flow, "rush: campaign figures after one grab", slug, issued=1)
    detail = h.call(
        "rush: today's rush figures",
        lambda: campaigns_retrieve.sync_detailed(slug, client=flow.staff),
        expect=200,
        want=CampaignDetail,
    )
    if detail is not None and detail.today.rush is not None:
        rush = detail.today.rush
        h.same("rush: figures", "today.rush.reservations", rush.reservations, 2)
        h.same("rush: figures", "today.rush.coupons", rush.coupons, 1)
        h.same("rush: figures", "today.rush.grabs", rush.grabs, 1)
