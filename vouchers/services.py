"""Every write about vouchers: issuing, redeeming, voiding.

Redemption is one conditional UPDATE (``status`` usable, unexpired, in the
caller's scope) whose row count decides: two checkouts redeeming one code
cannot both succeed, and nothing is read and then written in Python.
"""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from campaigns.models import RULES_FIELDS, CouponType
from couponsite import metrics
from couponsite.codes import generate_code, generate_codes
from couponsite.errors import DomainError
from customers.models import Customer
from customers.services import verified_owners
from vouchers.errors import (
    AlreadyVoid,
    HoldExpired,
    NotRedeemed,
    OrderRequired,
    RedemptionLimitReached,
)
from vouchers.models import Offer, Voucher, VoucherEvent
from vouchers.pricing import Order, Terms, price
from vouchers.selectors import (
    limit_scope,
    redemptions_counted,
    voucher_for_use,
    voucher_refusal,
)
from vouchers.tasks import voucher_emails_enqueue
from vouchers.webhook_payloads import voucher_payload
from webhooks.events import EventType
from webhooks.services import emit, emit_many

CODE_ATTEMPTS = 5


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

    Codes are not pre-generated: the voucher and its code are made here; the
    ``voucher.issued`` webhook goes out with it.
    """
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        voucher = _voucher_create(coupon_type=coupon_type, owner=owner, now=now)
        emit(EventType.VOUCHER_ISSUED, lambda: voucher_payload(voucher), now=now)
    return voucher


def _voucher_create(*, coupon_type: CouponType, owner: Customer, now) -> Voucher:
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


def voucher_redeem(
    *,
    code: str,
    customer: Customer | None = None,
    acting_user: AbstractBaseUser | None = None,
    email: str | None = None,
    order_ref: str = "",
    order: Order | None = None,
    now: dt.datetime | None = None,
) -> Voucher:
    """Use a voucher once: by its owner, or by staff at checkout (``acting_user``,
    optionally naming the email), recorded as the redeemer and in its history.

    Valid while issued (or held by the caller, inside the hold), unexpired and
    unused. Exactly one of any number of parallel redemptions succeeds.

    With an ``order``, the voucher's rules must accept it (``vouchers.pricing``)
    and the redemption records the order and the money taken off
    (``order_amount``, ``order_currency``, ``discount_granted``); a voucher
    whose rules read the order refuses a redemption without one
    (``ORDER_REQUIRED``). A ``per_customer_limit`` is counted under a lock of
    the customer's scope (``_limit_lock``) after the voucher's update, in its
    transaction: two redemptions racing past the limit cannot both commit.
    """
    now = now or timezone.now()
    voucher = voucher_for_use(code=code, customer=customer, email=email, now=now)
    terms = Terms.of(voucher)
    try:
        if order is None and terms.needs_order:
            raise OrderRequired()
        priced = price(terms, order) if order is not None else None
    except DomainError:
        # A voucher that cannot be used at all says so first, as check does.
        if not Voucher.objects.usable(now).filter(pk=voucher.pk).exists():
            raise voucher_refusal(voucher=voucher, now=now) from None
        raise
    recorded = {
        "order_amount": order.amount if order is not None else None,
        "order_currency": order.currency if order is not None else "",
        "discount_granted": priced.discount if priced is not None else None,
    }
    limit_key = None
    if terms.per_customer_limit is not None:
        scope = limit_scope(voucher)
        limit_key = scope[0] if scope is not None else None
    with transaction.atomic():
        if limit_key is not None:
            _limit_lock(limit_key)
        redeemed = (
            Voucher.objects.usable(now)
            # Pinned to the holder we looked up: a lapsed hold re-claimed by
            # someone else in between must not be redeemed for the old holder.
            .filter(pk=voucher.pk, owner_id=voucher.owner_id)
            .update(
                status=Voucher.Status.REDEEMED,
                used_at=now,
                redeemed_by=acting_user,
                order_ref=order_ref,
                **recorded,
            )
        )
        if redeemed:
            if (
                limit_key is not None
                and redemptions_counted(voucher) > terms.per_customer_limit
            ):
                raise RedemptionLimitReached()  # and the UPDATE rolls back
            data = {"order_ref": order_ref} if order_ref else {}
            if order is not None:
                data["order"] = {
                    "amount": str(order.amount),
                    "currency": order.currency,
                    "categories": list(order.categories),
                }
                data["discount"] = priced.discount_text
            VoucherEvent.objects.create(
                voucher=voucher,
                kind=VoucherEvent.Kind.REDEEMED,
                campaign_id=voucher.campaign_id,
                customer_id=voucher.owner_id,
                actor=acting_user,
                data=data,
                created_at=now,
            )

            def payload() -> dict:
                voucher.status, voucher.used_at = Voucher.Status.REDEEMED, now
                voucher.order_ref = order_ref
                for name, value in recorded.items():
                    setattr(voucher, name, value)
                return voucher_payload(voucher)

            emit(EventType.VOUCHER_REDEEMED, payload, now=now)
            metrics.count_on_commit(metrics.REDEMPTIONS)
    if redeemed:
        # We know what the UPDATE wrote; no need to read the row (and its
        # relations, for the answer) again.
        voucher.status, voucher.used_at = Voucher.Status.REDEEMED, now
        voucher.redeemed_by, voucher.order_ref = acting_user, order_ref
        for name, value in recorded.items():
            setattr(voucher, name, value)
        return voucher
    holder_id = voucher.owner_id
    voucher.refresh_from_db(
        fields=["status", "owner", "held_until", "expires_at", "used_at"]
    )
    if voucher.owner_id != holder_id:
        raise HoldExpired()  # the hold lapsed and the coupon left this holder
    raise voucher_refusal(voucher=voucher, now=now)


def _limit_lock(key: str) -> None:
    """Serialize the redemptions of one customer's scope (``limit_scope``) for
    the rest of the transaction: Postgres's transaction-level advisory lock on
    the key's hash (a collision only makes two scopes wait for each other).
    SQLite (the embedded mode) runs one writing transaction at a time anyway."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def voucher_void(
    *, voucher: Voucher, acting_user: AbstractBaseUser | None, reason: str
) -> Voucher:
    """Staff take a voucher out of use for good (fraud, mistake); recorded with who and why."""
    return _voucher_staff_change(
        voucher=voucher,
        matching=Voucher.objects.exclude(status=Voucher.Status.VOID),
        update={"status": Voucher.Status.VOID},
        kind=VoucherEvent.Kind.VOIDED,
        event_type=EventType.VOUCHER_VOIDED,
        acting_user=acting_user,
        reason=reason,
        refused=AlreadyVoid,
    )


def voucher_rollback_redemption(
    *, voucher: Voucher, acting_user: AbstractBaseUser | None, reason: str
) -> Voucher:
    """Staff undo a redemption (order cancelled): the voucher is usable again."""
    return _voucher_staff_change(
        voucher=voucher,
        matching=Voucher.objects.filter(status=Voucher.Status.REDEEMED),
        update={
            "status": Voucher.Status.ISSUED,
            "used_at": None,
            "redeemed_by": None,
            "order_ref": "",
            "order_amount": None,
            "order_currency": "",
            "discount_granted": None,
        },
        kind=VoucherEvent.Kind.REDEMPTION_ROLLED_BACK,
        event_type=EventType.VOUCHER_ROLLED_BACK,
        acting_user=acting_user,
        reason=reason,
        data={"order_ref": voucher.order_ref},
        refused=NotRedeemed,
    )


def _voucher_staff_change(
    *,
    voucher: Voucher,
    matching: QuerySet[Voucher],
    update: dict,
    kind: VoucherEvent.Kind,
    event_type: EventType,
    acting_user: AbstractBaseUser | None,
    reason: str,
    data: dict | None = None,
    refused: type[DomainError],
) -> Voucher:
    """One conditional UPDATE of the voucher (if it is still ``matching``) and, if
    it matched, its history event naming who and why (the voucher's audit row),
    in one transaction with its webhook (``event_type``); ``refused`` if it no
    longer matched."""
    with transaction.atomic():
        changed = matching.filter(pk=voucher.pk).update(**update)
        if changed:
            VoucherEvent.objects.create(
                voucher=voucher,
                kind=kind,
                campaign_id=voucher.campaign_id,
                customer_id=voucher.owner_id,
                actor=acting_user,
                reason=reason,
                data=data or {},
            )

            def payload() -> dict:
                voucher.refresh_from_db()
                # The staff's reason stays in the history: free text may name people.
                return {**voucher_payload(voucher), "before": data or {}}

            emit(event_type, payload)
    voucher.refresh_from_db()
    if not changed:
        raise refused()
    return voucher


def _normalize_emails(emails: list[str]) -> list[str]:
    """Lower-cased, stripped, duplicates dropped, order kept."""
    return list(dict.fromkeys(email.strip().lower() for email in emails))


# A rule left out of ``offer_upsert``'s ``rules``: none.
RULES_DEFAULTS = {
    "min_order_amount": None,
    "max_discount": None,
    "categories": "",
    "per_customer_limit": None,
}


def offer_upsert(
    *,
    name: str,
    discount: Decimal,
    currency: str | None = None,
    rules: dict | None = None,
) -> Offer:
    """The offer by this name (any case), created if new; its current discount set,
    and its currency and redemption rules when given.

    ``rules`` (the ``RULES_FIELDS``, validated by the caller) replace all of the
    offer's rules, a field left out becoming none, as ``discount`` replaces its
    discount; ``None`` keeps the offer's. Unlike seed 001, this changes no
    voucher already issued: vouchers carry their own copy of the discount and rules.
    The change is one conditional update, so a generation racing another sets
    whole values, never a mix.
    """
    name = name.strip()
    values: dict = {"discount": discount}
    if currency is not None:
        values["currency"] = currency
    if rules is not None:
        values.update({field: RULES_DEFAULTS[field] for field in RULES_FIELDS})
        values.update(rules)
    offer, created = Offer.objects.get_or_create(
        name__iexact=name, defaults={"name": name, **values}
    )
    if not created and any(getattr(offer, f) != v for f, v in values.items()):
        Offer.objects.filter(pk=offer.pk).update(**values, updated_at=timezone.now())
        offer.refresh_from_db()
    return offer


def vouchers_generate(
    *,
    emails: list[str],
    offer_name: str,
    discount: Decimal,
    expires_at: dt.datetime,
    acting_user: AbstractBaseUser | None,
    send_emails: bool = False,
    language: str | None = None,
    currency: str | None = None,
    rules: dict | None = None,
    now: dt.datetime | None = None,
) -> list[Voucher]:
    """One voucher per email for the offer (seed 001's generate), in one bulk insert.

    With ``send_emails``, each customer's email with their code is queued in the
    same transaction (``vouchers.tasks.send_voucher_emails``, one task per
    chunk of vouchers: the worker renders and queues the messages), so a failed
    generation emails no one and a committed one emails everyone. An email goes
    out in its owner's saved language, else in ``language`` (the sender's
    choice, one of ``LANGUAGES``), else in the default one.

    Each voucher keeps ``discount`` and the offer's redemption rules as issued
    (``currency`` and ``rules``, when given, set the offer's first: ``offer_upsert``). A voucher belongs to the customer
    who verified that email, now or when one does later (``vouchers_link_email``).
    One ``ISSUED`` history event names ``acting_user`` (None: a command) and
    what was issued: it is the batch's audit row.
    """
    now = now or timezone.now()
    emails = _normalize_emails(emails)
    with transaction.atomic():
        offer = offer_upsert(
            name=offer_name, discount=discount, currency=currency, rules=rules
        )
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
                        currency=offer.currency,
                        **{name: getattr(offer, name) for name in RULES_FIELDS},
                        created_at=now,
                    )
                    for code, email in zip(codes, emails, strict=True)
                ],
                batch_size=2000,
            )

        vouchers = with_unique_codes(insert)
        VoucherEvent.objects.create(
            kind=VoucherEvent.Kind.ISSUED,
            actor=acting_user,
            data={
                "offer": offer.name,
                "discount": str(offer.discount),
                "count": len(vouchers),
                "expires_at": expires_at.isoformat(),
                "emails": send_emails,
            },
            created_at=now,
        )
        for voucher in vouchers:
            voucher.offer = offer
        emit_many(
            EventType.VOUCHER_ISSUED,
            [lambda voucher=voucher: voucher_payload(voucher) for voucher in vouchers],
            now=now,
        )
        if send_emails:
            voucher_emails_enqueue(
                [voucher.pk for voucher in vouchers], language=language
            )
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
