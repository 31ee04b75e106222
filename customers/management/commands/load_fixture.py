import secrets
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from customers.authentication import remember_tokens
from customers.models import ApiToken, Customer
from customers.services import token_lifetime

# +1 415 2xx-xxxx: valid numbers, apart from the demo customers' 555-01xx.
PHONE_BASE = 14_152_000_000
CHUNK = 2_000


def load_phone(n: int) -> str:
    return f"+{PHONE_BASE + n}"


class Command(BaseCommand):
    help = (
        "Load N customers (phones +1415200xxxx, emails loadN@example.com) with one API "
        "token each, in bulk, for load tests; writes the tokens, one per line, to "
        "--tokens-file. Idempotent: existing load customers are reused, new tokens made."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, required=True)
        parser.add_argument("--tokens-file", required=True)

    def handle(self, *args, customers: int, tokens_file: str, **options):
        if not 0 < customers <= 1_000_000:
            raise CommandError("--customers must be between 1 and 1,000,000")
        tokens: list[str] = []
        with tqdm(total=customers, unit="customer") as progress:
            for start in range(0, customers, CHUNK):
                numbers = range(start, min(start + CHUNK, customers))
                tokens.extend(self._load_chunk(numbers))
                progress.update(len(numbers))
        Path(tokens_file).write_text("\n".join(tokens) + "\n")
        self.stderr.write(f"{customers} customers ready; tokens in {tokens_file}")

    @transaction.atomic
    def _load_chunk(self, numbers: range) -> list[str]:
        Customer.objects.bulk_create(
            [
                Customer(
                    phone=load_phone(n), email=f"load{n}@example.com", name=f"Load {n}"
                )
                for n in numbers
            ],
            ignore_conflicts=True,
            batch_size=CHUNK,
        )
        ids = dict(
            Customer.objects.filter(
                phone__in=[load_phone(n) for n in numbers]
            ).values_list("phone", "pk")
        )
        raws = [secrets.token_urlsafe(32) for _ in numbers]
        expires_at = timezone.now() + token_lifetime(staff=False)
        tokens = ApiToken.objects.bulk_create(
            [
                ApiToken(
                    digest=ApiToken.digest_of(raw),
                    prefix=raw[:8],
                    customer_id=ids[load_phone(n)],
                    name="load_fixture",
                    expires_at=expires_at,
                )
                for n, raw in zip(numbers, raws, strict=True)
            ],
            batch_size=CHUNK,
        )
        # As sign-in does (token_create): the thin path knows them from the start.
        transaction.on_commit(
            lambda: remember_tokens(
                [(t.digest, t.customer_id, t.expires_at) for t in tokens], create=True
            )
        )
        return raws
