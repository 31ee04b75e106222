"""The email that brings a customer their voucher's code (seed 001's generate).

Rendered from ``vouchers/email/issued.{txt,html}`` in the owner's saved language
(``Customer.language``); for an email no customer owns yet, or an owner who
follows each request's language, in the language the sender chose (the
generate call's or page's ``language``; English when none: the email is sent
by the worker, with no request). The expiry is written in the site's time zone
(``TIME_ZONE``), with the zone named, since the customer's own is unknown.
"""

from django.conf import settings
from django.template.loader import get_template
from django.utils import timezone, translation

from couponsite.codes import display_code
from couponsite.languages import format_datetime
from messaging.services import OutgoingEmail
from vouchers.models import Voucher

KIND = "voucher_code"


def voucher_emails(
    vouchers: list[Voucher], *, offer_name: str, language: str | None = None
) -> list[OutgoingEmail]:
    """One email per voucher, in its owner's saved language, else ``language``
    (the sender's choice), else the default; the templates are loaded once for
    the whole batch."""
    subject = get_template("vouchers/email/issued_subject.txt")
    text = get_template("vouchers/email/issued.txt")
    html = get_template("vouchers/email/issued.html")
    zone = timezone.get_default_timezone()
    emails = []
    for voucher in vouchers:
        saved = voucher.owner.language if voucher.owner else ""
        with translation.override(saved or language or settings.LANGUAGE_CODE):
            emails.append(_email(voucher, offer_name, zone, subject, text, html))
    return emails


def _email(
    voucher: Voucher, offer_name: str, zone, subject, text, html
) -> OutgoingEmail:
    context = {
        "retailer": settings.RETAILER_NAME,
        "offer": offer_name,
        "percent": f"{voucher.percent.normalize():f}",
        "code": display_code(voucher.code),
        "expires": format_datetime(voucher.expires_at, zone)
        + timezone.localtime(voucher.expires_at, zone).strftime(" %Z"),
        "email": voucher.email,
        "owned": voucher.owner_id is not None,
    }
    return OutgoingEmail(
        kind=KIND,
        to=voucher.email,
        subject=" ".join(subject.render(context).split()),
        text=text.render(context),
        html=html.render(context),
    )
