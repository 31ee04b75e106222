"""Claim and hold: staff release coupons, a customer claims one and redeems it.

Also: a second claim the same day, a pool with nothing free, a hold that lapses
(the coupon is no longer the former holder's), and the release's refusals.
"""

import time
from datetime import timedelta

from couponsite_client.api.claims import (
    campaigns_claims_create,
    campaigns_releases_create,
)
from couponsite_client.api.vouchers import vouchers_redeem_create, vouchers_retrieve
from couponsite_client.models import (
    CampaignDetail,
    Claim,
    Release,
    ReleaseInputRequest,
    VoucherCheckResult,
    VoucherRedeemRequest,
)

from contract.flow import Flow, iso, now
from contract.flow.draw import check_figures, create_campaign

HOLD_SECONDS = 2


def claim_campaign(slug: str, *, hold_seconds: int = 300) -> dict:
    start = now() - timedelta(minutes=1)
    return {
        "name": f"Contract claim {slug}",
        "slug": slug,
        "kind": "claim",
        "timezone": "UTC",
        "starts_at": iso(start),
        "ends_at": iso(start + timedelta(days=2)),
        "coupon_types": [
            {
                "name": "Free coffee",
                "benefit_kind": "free_item",
                "free_item": "Coffee",
                "hold_seconds": hold_seconds,
            }
        ],
    }


def release(
    flow: Flow, step: str, slug: str, campaign: CampaignDetail, count: int
) -> Release | None:
    h = flow.h
    coupon_type = campaign.coupon_types[0].id
    released = h.call(
        f"{step} (note left unset)",
        lambda: campaigns_releases_create.sync_detailed(
            slug,
            client=flow.staff,
            body=ReleaseInputRequest(coupon_type=coupon_type, count=count),
        ),
        expect=201,
        want=Release,
    )
    if released is None:
        released = h.call(
            f"{step} with a note (after the natural call failed)",
            lambda: campaigns_releases_create.sync_detailed(
                slug,
                client=flow.staff,
                body=ReleaseInputRequest(
                    coupon_type=coupon_type, count=count, note="contract"
                ),
            ),
            expect=201,
            want=Release,
        )
    return released


def run(flow: Flow) -> None:
    flow.part("claim and hold: claim and redeem", claim_and_redeem)
    flow.part("claim and hold: a hold that lapses", lapsed_hold)


def claim_and_redeem(flow: Flow) -> None:
    h = flow.h
    alice = flow.customer("alice")
    slug = "contract-claim"
    campaign = flow.need(
        create_campaign(flow, "claim: staff create a campaign", claim_campaign(slug)),
        "claim campaign",
    )
    flow.need(
        release(flow, "claim: staff release 20 coupons", slug, campaign, 20), "release"
    )
    claim = flow.need(
        h.call(
            "claim: alice claims",
            lambda: campaigns_claims_create.sync_detailed(slug, client=alice),
            expect=201,
            want=Claim,
        ),
        "claim",
    )
    h.same("claim: alice claims", "voucher.status", claim.voucher.status, "held")
    h.same(
        "claim: alice claims",
        "voucher.held_until vs claim.held_until",
        claim.voucher.held_until,
        claim.held_until,
    )
    h.call(
        "claim: alice claims again today",
        lambda: campaigns_claims_create.sync_detailed(slug, client=alice),
        expect=429,
        code="ALREADY_CLAIMED_TODAY",
    )
    h.call(
        "claim: alice redeems inside the hold",
        lambda: vouchers_redeem_create.sync_detailed(
            client=alice,
            body=VoucherRedeemRequest(code=claim.voucher.code, order_ref="ORDER-C1"),
        ),
        expect=200,
        want=VoucherCheckResult,
    )
    check_figures(flow, "claim: campaign figures after one claim", slug, issued=1)
    release_refusals(flow, slug, campaign)


def release_refusals(flow: Flow, slug: str, campaign: CampaignDetail) -> None:
    h = flow.h
    coupon_type = campaign.coupon_types[0].id
    h.call(
        "claim: release 0 coupons",
        lambda: campaigns_releases_create.sync_detailed(
            slug,
            client=flow.staff,
            body=ReleaseInputRequest(coupon_type=coupon_type, count=0, note="x"),
        ),
        expect=400,
        code="VALIDATION_ERROR",
        natural=False,
    )
    h.call(
        "claim: release into a coupon type of no such id",
        lambda: campaigns_releases_create.sync_detailed(
            slug,
            client=flow.staff,
            body=ReleaseInputRequest(coupon_type=999_999, count=1, note="x"),
        ),
        expect=400,
        code="VALIDATION_ERROR",
        natural=False,
    )
    h.call(
        "claim: a customer releases",
        lambda: campaigns_releases_create.sync_detailed(
            slug,
            client=flow.customer("alice"),
            body=ReleaseInputRequest(coupon_type=coupon_type, count=1, note="x"),
        ),
        expect=403,
        code="PERMISSION_DENIED",
    )


def lapsed_hold(flow: Flow) -> None:
    """One coupon, held for two seconds: nothing free while held; once the hold
    lapses it is the next claimer's and no longer the former holder's."""
    h = flow.h
    bob, carol = flow.customer("bob"), flow.customer("carol")
    slug = "contract-claim-short"
    campaign = flow.need(
        create_campaign(
            flow,
            "claim: staff create a campaign with a 2-second hold",
            claim_campaign(slug, hold_seconds=HOLD_SECONDS),
        ),
        "short-hold campaign",
    )
    flow.need(
        release(flow, "claim: staff release 1 coupon", slug, campaign, 1), "release"
    )
    held = flow.need(
        h.call(
            "claim: bob claims the only coupon",
            lambda: campaigns_claims_create.sync_detailed(slug, client=bob),
            expect=201,
            want=Claim,
        ),
        "bob's claim",
    )
    h.call(
        "claim: carol claims while it is held",
        lambda: campaigns_claims_create.sync_detailed(slug, client=carol),
        expect=409,
        code="SOLD_OUT",
    )
    time.sleep(HOLD_SECONDS + 0.5)
    code = held.voucher.code
    h.call(
        "claim: bob reads the coupon after his hold lapsed",
        lambda: vouchers_retrieve.sync_detailed(code, client=bob),
        expect=404,
        code="NOT_FOUND",
    )
    h.call(
        "claim: carol claims the coupon that came back",
        lambda: campaigns_claims_create.sync_detailed(slug, client=carol),
        expect=201,
        want=Claim,
    )
    h.call(
        "claim: bob reads the coupon now held by carol",
        lambda: vouchers_retrieve.sync_detailed(code, client=bob),
        expect=404,
        code="NOT_FOUND",
    )
