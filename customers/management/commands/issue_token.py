import re
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from customers import services
from customers.phones import normalize_phone

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str) -> timedelta:
    """``3600``, ``90m``, ``12h`` or ``30d``: a positive lifetime."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*([smhd]?)\s*", text.lower())
    if not match or int(match[1]) == 0:
        raise CommandError(
            f"--ttl {text!r}: use seconds, or a number and s, m, h or d (e.g. 30d)"
        )
    return timedelta(seconds=int(match[1]) * _UNITS[match[2] or "s"])


class Command(BaseCommand):
    help = (
        "Print a new API token for a customer (--phone, created if new) or a staff "
        "user (--staff, created without a password if new). It ends after --ttl, "
        "by default TOKEN_TTL_SECONDS (customers) or STAFF_TOKEN_TTL_SECONDS (staff)."
    )

    def add_arguments(self, parser):
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--phone", help="The customer's phone number.")
        who.add_argument("--staff", metavar="USERNAME", help="A staff username.")
        parser.add_argument(
            "--name", default="issue_token", help="A label for the token."
        )
        parser.add_argument(
            "--ttl",
            type=parse_ttl,
            default=None,
            help="Lifetime: seconds, or e.g. 90m, 12h, 30d.",
        )

    def handle(self, *args, phone=None, staff=None, name="", ttl=None, **options):
        expires_at = timezone.now() + ttl if ttl else None
        if phone:
            try:
                phone = normalize_phone(phone)
            except ValidationError as exc:
                raise CommandError(exc.messages[0]) from None
            customer = services.customer_get_or_create(phone=phone)
            token = services.token_create(
                customer=customer, name=name, expires_at=expires_at
            )
        else:
            user = services.staff_user_get_or_create(username=staff)
            token = services.token_create(user=user, name=name, expires_at=expires_at)
        self.stdout.write(token.key)
