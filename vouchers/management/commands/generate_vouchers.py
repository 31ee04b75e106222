import csv
import datetime as dt
import sys
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from tqdm import tqdm

from couponsite.codes import display_code
from vouchers.forms import emails_from_csv
from vouchers.services import vouchers_generate

CHUNK = 5_000


class Command(BaseCommand):
    help = (
        "Generate one voucher per email of an offer (created if new), in chunks with a "
        "progress bar; writes email,code CSV to --output (default: standard output)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--offer", required=True, help="Offer name.")
        parser.add_argument(
            "--discount", required=True, help="Percentage off, e.g. 22.1"
        )
        parser.add_argument(
            "--expires",
            required=True,
            help="Expiry: YYYY-MM-DD (end of that day, UTC) or ISO datetime.",
        )
        parser.add_argument(
            "--emails-file",
            required=True,
            help="CSV or text file; every cell with an email counts.",
        )
        parser.add_argument("--output", help="Where to write the email,code CSV.")
        parser.add_argument(
            "--no-emails",
            action="store_true",
            help="Do not email each customer their code (by default the emails are "
            "queued with the vouchers and the task worker sends them).",
        )
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            help="The emails' language for addresses whose customer saved none "
            f"(default: {settings.LANGUAGE_CODE}).",
        )

    def handle(
        self,
        *args,
        offer,
        discount,
        expires,
        emails_file,
        output=None,
        no_emails=False,
        language=None,
        **options,
    ):
        try:
            discount = Decimal(discount)
        except InvalidOperation:
            raise CommandError(f"--discount {discount!r} is not a number") from None
        if not Decimal(0) < discount <= Decimal(100):
            raise CommandError("--discount must be above 0 and at most 100")
        expires_at = self._expiry(expires)
        try:
            with open(emails_file, encoding="utf-8-sig") as handle:
                emails = list(
                    dict.fromkeys(e.lower() for e in emails_from_csv(handle.read()))
                )
        except OSError as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:
            raise CommandError(f"not an email: {exc.messages[0]}") from None
        if not emails:
            raise CommandError("no email found in the file")

        out = open(output, "w", newline="") if output else sys.stdout  # noqa: SIM115
        try:
            writer = csv.writer(out)
            writer.writerow(["email", "code"])
            with tqdm(total=len(emails), unit="voucher", file=sys.stderr) as progress:
                for start in range(0, len(emails), CHUNK):
                    chunk = emails[start : start + CHUNK]
                    for voucher in vouchers_generate(
                        acting_user=None,  # a command: no user is known
                        emails=chunk,
                        offer_name=offer,
                        discount=discount,
                        expires_at=expires_at,
                        send_emails=not no_emails,
                        language=language,
                    ):
                        writer.writerow([voucher.email, display_code(voucher.code)])
                    progress.update(len(chunk))
        finally:
            if output:
                out.close()
        queued = "" if no_emails else "; their emails are queued for the task worker"
        self.stderr.write(f"Generated {len(emails)} vouchers for {offer!r}{queued}.")

    @staticmethod
    def _expiry(text: str):
        moment = parse_datetime(text)
        if moment is None:
            day = parse_date(text)
            if day is None:
                raise CommandError(f"--expires {text!r} is not a date or datetime")
            moment = dt.datetime(day.year, day.month, day.day, 23, 59, 59)
        if timezone.is_naive(moment):
            moment = moment.replace(tzinfo=dt.UTC)
        if moment <= timezone.now():
            raise CommandError("--expires must be in the future")
        return moment
