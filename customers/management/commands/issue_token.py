from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from customers import services
from customers.phones import normalize_phone


class Command(BaseCommand):
    help = (
        "Print a new API token for a customer (--phone, created if new) or a staff "
        "user (--staff, created without a password if new)."
    )

    def add_arguments(self, parser):
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--phone", help="The customer's phone number.")
        who.add_argument("--staff", metavar="USERNAME", help="A staff username.")
        parser.add_argument(
            "--name", default="issue_token", help="A label for the token."
        )

    def handle(self, *args, phone=None, staff=None, name="", **options):
        if phone:
            try:
                phone = normalize_phone(phone)
            except ValidationError as exc:
                raise CommandError(exc.messages[0]) from None
            customer = services.customer_get_or_create(phone=phone)
            token = services.token_create(customer=customer, name=name)
        else:
            user = services.staff_user_get_or_create(username=staff)
            token = services.token_create(user=user, name=name)
        self.stdout.write(token.key)
