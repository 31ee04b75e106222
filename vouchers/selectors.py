"""Every read about vouchers: whose they are, and whether one can be used now.

Unknown and not-yours look alike (``NOT_FOUND``): a lookup never tells a caller
that a code exists outside their scope.
"""

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from couponsite.codes import is_well_formed, normalize_code
from couponsite.errors import DomainError
from customers.models import Customer
from vouchers.errors import (
    AlreadyRedeemed,
    HoldExpired,
    RedemptionLimitReached,
    VoucherExpired,
    VoucherNotFound,
    VoucherVoid,
)
from vouchers.models import Voucher, VoucherEvent
from vouchers.pricing import Order, Priced, Terms, price


def email_scope(email: str) -> Q:
    """Vouchers issued to an email, or owned by the customer with that email."""
    return Q(email__iexact=email) | Q(owner__email__iexact=email)


def _scope(*, customer: Customer | None, email: str | None, now: dt.datetime) -> Q:
    """Which vouchers the caller may see: a customer their own; staff any, or an email's.

    A claimed coupon whose hold ran out is back in the pool, nobody's, even
    before the sweeper clears its holder: not its former holder's any more.
    """
    if customer is not None:
        return Q(owner=customer) & ~Q(status=Voucher.Status.HELD, held_until__lte=now)
    if email:
        return email_scope(email)
    return Q()


def voucher_list(
    *, customer: Customer | None = None, email: str | None = None, now: dt.datetime
) -> QuerySet[Voucher]:
    """The vouchers still usable now: a customer's own, or (for staff) an email's;
    soonest to expire first."""
    if customer is not None:
        return Voucher.objects.valid_for(customer, now)
    if email is None:
        raise ValueError("voucher_list needs a customer or an email")
    return (
        Voucher.objects.usable(now)
        .filter(email_scope(email))
        .select_related("offer", "coupon_type", "campaign")
        .order_by("expires_at", "id")
    )


def voucher_get(
    *,
    code: str,
    customer: Customer | None = None,
    email: str | None = None,
    now: dt.datetime | None = None,
) -> Voucher:
    """The voucher with this code in the caller's scope; unknown and not-yours look alike."""
    canonical = normalize_code(code)
    if not is_well_formed(canonical):
        raise VoucherNotFound()
    scope = _scope(customer=customer, email=email, now=now or timezone.now())
    try:
        # get(), not first(): first() adds ORDER BY id, and with a million
        # vouchers the planner may walk the primary key instead of the code index.
        return Voucher.objects.select_related("offer", "coupon_type", "campaign").get(
            scope, code=canonical
        )
    except Voucher.DoesNotExist:
        raise VoucherNotFound() from None


def voucher_for_use(
    *, code: str, customer: Customer | None, email: str | None, now: dt.datetime
) -> Voucher:
    """``voucher_get`` for check and redeem: a customer whose claim's hold ran out
    hears ``HOLD_EXPIRED`` for that coupon (not ``NOT_FOUND``), whether or not the
    sweeper ran or someone else claimed it since; it tells them only what they
    knew, and what to do (claim again tomorrow)."""
    try:
        return voucher_get(code=code, customer=customer, email=email, now=now)
    except VoucherNotFound:
        if customer is not None and _held_by_before(code, customer):
            raise HoldExpired() from None
        raise


def _held_by_before(code: str, customer: Customer) -> bool:
    """Whether ``customer`` once held this coupon by a claim (the claim's history)."""
    canonical = normalize_code(code)
    return is_well_formed(canonical) and (
        VoucherEvent.objects.filter(
            voucher__code=canonical, customer=customer, kind=VoucherEvent.Kind.CLAIMED
        ).exists()
    )


def voucher_refusal(*, voucher: Voucher, now: dt.datetime) -> DomainError:
    """Why a voucher in the caller's scope cannot be used now."""
    if voucher.status == Voucher.Status.REDEEMED:
        return AlreadyRedeemed()
    if voucher.status == Voucher.Status.VOID:
        return VoucherVoid()
    if voucher.status == Voucher.Status.EXPIRED or (
        voucher.expires_at is not None and voucher.expires_at <= now
    ):
        return VoucherExpired()
    if voucher.status == Voucher.Status.HELD and voucher.held_until <= now:
        return HoldExpired()
    return VoucherNotFound()  # in the pool, nobody's yet


def voucher_check(
    *,
    code: str,
    customer: Customer | None = None,
    email: str | None = None,
    order: Order | None = None,
    now: dt.datetime | None = None,
) -> tuple[Voucher, Priced | None]:
    """Whether the voucher could be redeemed now, for ``order`` when given (then
    with the money it would take off); consumes nothing.

    Without an order, a voucher whose rules read the order is still valid
    here: the answer lists its rules, so a checkout knows to send the order
    when it redeems. The per-customer limit is read as committed (the
    redemption counts again, under its lock)."""
    now = now or timezone.now()
    voucher = voucher_for_use(code=code, customer=customer, email=email, now=now)
    if not Voucher.objects.usable(now).filter(pk=voucher.pk).exists():
        raise voucher_refusal(voucher=voucher, now=now)
    terms = Terms.of(voucher)
    priced = price(terms, order) if order is not None else None
    if terms.per_customer_limit is not None and (
        redemptions_counted(voucher) >= terms.per_customer_limit
    ):
        raise RedemptionLimitReached()
    return voucher, priced


def limit_scope(voucher: Voucher) -> tuple[str, Q] | None:
    """Whose redemptions a voucher's ``per_customer_limit`` counts, and where:
    a lock key and the filter of the redeemed vouchers that count.

    The customer is the voucher's owner; a pool voucher nobody owns yet (staff
    redeem it by email) counts by its email. The scope is the campaign, or the
    offer for the voucher pool."""
    if voucher.campaign_id is not None:
        where, place = Q(campaign_id=voucher.campaign_id), f"c{voucher.campaign_id}"
    elif voucher.offer_id is not None:
        where, place = Q(offer_id=voucher.offer_id), f"o{voucher.offer_id}"
    else:
        return None
    if voucher.owner_id is not None:
        who, person = Q(owner_id=voucher.owner_id), f"u{voucher.owner_id}"
    else:
        email = voucher.email.lower()
        who, person = Q(owner__isnull=True, email__iexact=email), f"e{email}"
    return f"redemption-limit:{place}:{person}", where & who


def redemptions_counted(voucher: Voucher) -> int:
    """Redeemed vouchers in ``voucher``'s limit scope (``limit_scope``)."""
    scope = limit_scope(voucher)
    if scope is None:
        return 0
    return Voucher.objects.filter(scope[1], status=Voucher.Status.REDEEMED).count()
