"""The voucher room's background work: the emails that bring customers their codes."""

from django.db import transaction
from django.tasks import task

from messaging.services import queue_emails_in_bulk
from vouchers.emails import voucher_emails
from vouchers.models import Voucher

# Vouchers per task: 10,000 emails in one generation are ten tasks in the request,
# each rendering and queueing its thousand messages in the worker.
EMAIL_CHUNK = 1_000


def voucher_emails_enqueue(
    voucher_ids: list[int], *, language: str | None = None
) -> int:
    """Queue the emails of these vouchers, a task per chunk, in the caller's
    transaction; how many tasks. ``language``: the emails' language for owners
    who saved none (``vouchers.emails.voucher_emails``)."""
    chunks = [
        voucher_ids[start : start + EMAIL_CHUNK]
        for start in range(0, len(voucher_ids), EMAIL_CHUNK)
    ]
    for chunk in chunks:
        send_voucher_emails.enqueue(chunk, language=language)
    return len(chunks)


@task
def send_voucher_emails(voucher_ids: list[int], language: str | None = None) -> int:
    """Render each voucher's email (in ``language`` unless its owner saved
    one) and queue it as a message (the messaging room sends it, with retries);
    all of the chunk or none. How many were queued."""
    vouchers = list(
        Voucher.objects.filter(pk__in=voucher_ids)
        .exclude(email="")
        .select_related("offer", "owner")
        .order_by("pk")
    )
    by_offer: dict[str, list[Voucher]] = {}
    for voucher in vouchers:
        by_offer.setdefault(voucher.offer.name, []).append(voucher)
    with transaction.atomic():
        for offer_name, group in by_offer.items():
            queue_emails_in_bulk(
                voucher_emails(group, offer_name=offer_name, language=language)
            )
    return len(vouchers)
