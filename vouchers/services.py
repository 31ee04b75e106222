"""Every write about vouchers: issuing, redeeming, voiding.

Redemption is one conditional UPDATE (``status`` usable, unexpired, in the
caller's scope) whose row count decides: two checkouts redeeming one code
cannot both succeed, and nothing is read and then written in Python.
"""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework import status

from campaigns.models import CouponType
from couponsite.api.exceptions import DomainError, NotFound
from couponsite.codes import (
    generate_code,
    generate_codes,
    is_well_formed,
    normalize_code,
)
from customers.models import Customer
from customers.services import verified_owners
from vouchers.models import Offer, Voucher, VoucherEvent

CODE_ATTEMPTS = 5


class VoucherNotFound(NotFound):
    detail = "No such voucher."


class AlreadyRedeemed(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "ALREADY_REDEEMED"
    detail = "This voucher was already redeemed."


class VoucherExpired(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "EXPIRED"
    detail = "This voucher has expired."


class VoucherVoid(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "VOID"
    detail = "This voucher was voided."


class HoldExpired(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "HOLD_EXPIRED"
    detail = "Your hold on this coupon ran out and it went back to the pool."


class NotRedeemed(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "NOT_REDEEMED"
    detail = "Only a redeemed voucher's redemption can be rolled back."


class AlreadyVoid(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "VOID"
    detail = "This voucher is already void."


def with_unique_codes[T](create: Callable[[], T]) -> T:
    """Run ``create`` (which draws fresh codes each call) until no code collides.

    Collisions are astronomically rare at 50 bits; the unique constraint catches
    them and a savepoint lets us draw again. Only a collision of voucher codes
    is retried: any other ``IntegrityError`` is raised at once.
    """
    for attempt in range(CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                return create()
        except IntegrityError as exc:
            diag = getattr(exc.__cause__, "diag", None)
            if diag is not None:
                # Postgres names the constraint that failed; ``Voucher.code``'s
                # ``unique=True`` got Postgres's default name, <table>_<column>_key.
                collided = diag.constraint_name == "vouchers_voucher_code_key"
            else:
                # SQLite names no constraint, only the column(s) of the UNIQUE.
                collided = str(exc) == "UNIQUE constraint failed: vouchers_voucher.code"
            if not collided or attempt == CODE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def voucher_issue(
    *,
    coupon_type: CouponType,
    owner: Customer,
    now: dt.datetime | None = None,
) -> Voucher:
    """Create a coupon of ``coupon_type`` owned by ``owner`` (draw wins, grabs).

    Codes are not pre-generated: the voucher and its code are made here.
    """
    now = now or timezone.now()
    return with_unique_codes(
        lambda: Voucher.objects.create(
            code=generate_code(
                length=coupon_type.code_length, prefix=coupon_type.code_prefix
            ),
            status=Voucher.Status.ISSUED,
            campaign_id=coupon_type.campaign_id,
            coupon_type=coupon_type,
            owner=owner,
            email=owner.email or "",
            issued_at=now,
            expires_at=coupon_type.expiry_from(now),
            **coupon_type.benefit_fields(),
        )
    )


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


def _voucher_to_use(
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


def _refusal(voucher: Voucher, now: dt.datetime) -> DomainError:
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
    now: dt.datetime | None = None,
) -> Voucher:
    """Whether the voucher could be redeemed now; consumes nothing."""
    now = now or timezone.now()
    voucher = _voucher_to_use(code=code, customer=customer, email=email, now=now)
    if not Voucher.objects.usable(now).filter(pk=voucher.pk).exists():
        raise _refusal(voucher, now)
    return voucher


def voucher_redeem(
    *,
    code: str,
    customer: Customer | None = None,
    staff=None,
    email: str | None = None,
    order_ref: str = "",
    now: dt.datetime | None = None,
) -> Voucher:
    """Use a voucher once: by its owner, or by staff at checkout (optionally naming the email).

    Valid while issued (or held by the caller, inside the hold), unexpired and
    unused. Exactly one of any number of parallel redemptions succeeds.
    """
    now = now or timezone.now()
    voucher = _voucher_to_use(code=code, customer=customer, email=email, now=now)
    with transaction.atomic():
        redeemed = (
            Voucher.objects.usable(now)
            # Pinned to the holder we looked up: a lapsed hold re-claimed by
            # someone else in between must not be redeemed for the old holder.
            .filter(pk=voucher.pk, owner_id=voucher.owner_id)
            .update(
                status=Voucher.Status.REDEEMED,
                used_at=now,
                redeemed_by=staff,
                order_ref=order_ref,
            )
        )
        if redeemed:
            VoucherEvent.objects.create(
                voucher=voucher,
                kind=VoucherEvent.Kind.REDEEMED,
                campaign_id=voucher.campaign_id,
                customer_id=voucher.owner_id,
                actor=staff,
                data={"order_ref": order_ref} if order_ref else {},
                created_at=now,
            )
    if redeemed:
        # We know what the UPDATE wrote; no need to read the row (and its
        # relations, for the answer) again.
        voucher.status, voucher.used_at = Voucher.Status.REDEEMED, now
        voucher.redeemed_by, voucher.order_ref = staff, order_ref
        return voucher
    holder_id = voucher.owner_id
    voucher.refresh_from_db(
        fields=["status", "owner", "held_until", "expires_at", "used_at"]
    )
    if voucher.owner_id != holder_id:
        raise HoldExpired()  # the hold lapsed and the coupon left this holder
    raise _refusal(voucher, now)


def voucher_void(*, voucher: Voucher, actor, reason: str) -> Voucher:
    """Staff take a voucher out of use for good (fraud, mistake); recorded with who and why."""
    with transaction.atomic():
        voided = (
            Voucher.objects.filter(pk=voucher.pk)
            .exclude(status=Voucher.Status.VOID)
            .update(status=Voucher.Status.VOID)
        )
        if voided:
            VoucherEvent.objects.create(
                voucher=voucher,
                kind=VoucherEvent.Kind.VOIDED,
                campaign_id=voucher.campaign_id,
                customer_id=voucher.owner_id,
                actor=actor,
                reason=reason,
            )
    voucher.refresh_from_db()
    if not voided:
        raise AlreadyVoid()
    return voucher


def voucher_rollback_redemption(*, voucher: Voucher, actor, reason: str) -> Voucher:
    """Staff undo a redemption (order cancelled): the voucher is usable again."""
    with transaction.atomic():
        restored = Voucher.objects.filter(
            pk=voucher.pk, status=Voucher.Status.REDEEMED
        ).update(
            status=Voucher.Status.ISSUED, used_at=None, redeemed_by=None, order_ref=""
        )
        if restored:
            VoucherEvent.objects.create(
                voucher=voucher,
                kind=VoucherEvent.Kind.REDEMPTION_ROLLED_BACK,
                campaign_id=voucher.campaign_id,
                customer_id=voucher.owner_id,
                actor=actor,
                reason=reason,
                data={"order_ref": voucher.order_ref},
            )
    voucher.refresh_from_db()
    if not restored:
        raise NotRedeemed()
    return voucher


def _normalize_emails(emails: list[str]) -> list[str]:
    """Lower-cased, stripped, duplicates dropped, order kept."""
    return list(dict.fromkeys(email.strip().lower() for email in emails))


def offer_upsert(*, name: str, discount: Decimal) -> Offer:
    """The offer by this name (any case), created if new; its current discount set.

    Unlike seed 001, this changes no voucher already issued: vouchers carry
    their own copy of the discount.
    """
    name = name.strip()
    offer, created = Offer.objects.get_or_create(
        name__iexact=name, defaults={"name": name, "discount": discount}
    )
    if not created and offer.discount != discount:
        Offer.objects.filter(pk=offer.pk).update(
            discount=discount, updated_at=timezone.now()
        )
        offer.refresh_from_db()
    return offer


def vouchers_generate(
    *,
    emails: list[str],
    offer_name: str,
    discount: Decimal,
    expires_at: dt.datetime,
    actor=None,
    now: dt.datetime | None = None,
) -> list[Voucher]:
    """One voucher per email for the offer (seed 001's generate), in one bulk insert.

    Each voucher keeps ``discount`` as issued. A voucher belongs to the customer
    who verified that email, now or when one does later (``vouchers_link_email``).
    """
    now = now or timezone.now()
    emails = _normalize_emails(emails)
    with transaction.atomic():
        offer = offer_upsert(name=offer_name, discount=discount)
        owners = verified_owners(emails=emails)

        def insert() -> list[Voucher]:
            codes = generate_codes(
                len(emails), length=offer.code_length, prefix=offer.code_prefix
            )
            return Voucher.objects.bulk_create(
                [
                    Voucher(
                        code=code,
                        status=Voucher.Status.ISSUED,
                        offer=offer,
                        owner_id=owners.get(email),
                        email=email,
                        issued_at=now,
                        expires_at=expires_at,
                        benefit_kind=Voucher.Kind.PERCENT,
                        percent=offer.discount,
                        created_at=now,
                    )
                    for code, email in zip(codes, emails, strict=True)
                ],
                batch_size=2000,
            )

        vouchers = with_unique_codes(insert)
        VoucherEvent.objects.create(
            kind=VoucherEvent.Kind.ISSUED,
            actor=actor,
            data={
                "offer": offer.name,
                "discount": str(offer.discount),
                "count": len(vouchers),
                "expires_at": expires_at.isoformat(),
            },
            created_at=now,
        )
    for voucher in vouchers:
        voucher.offer = offer
    return vouchers


def vouchers_link_email(*, customer: Customer) -> int:
    """Give a customer the unowned vouchers issued to their email.

    Called when the customer has just verified it (``customers.services.email_verify``),
    in that transaction: ``Customer.email`` is always a verified email.
    """
    if not customer.email:
        return 0
    return Voucher.objects.filter(owner__isnull=True, email=customer.email).update(
        owner=customer
    )
