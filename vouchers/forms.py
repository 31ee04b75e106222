import csv
import io
from dataclasses import dataclass, field

from django import forms
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vouchers.serializers import MAX_EMAILS_PER_CALL


@dataclass(frozen=True)
class SkippedLine:
    """A line of an uploaded file that gave no voucher, and why."""

    number: int
    why: str

    def __str__(self) -> str:
        return f"Line {self.number}: {self.why}"


@dataclass
class EmailsRead:
    emails: list[str] = field(default_factory=list)  # lower-cased, each once, in order
    skipped: list[SkippedLine] = field(default_factory=list)


def emails_read(text: str) -> EmailsRead:
    """Every cell that looks like an email (has an "@"), line by line, and each line
    that gave none, or a cell that is no valid email, or an email already read,
    with why. A first line without an email is a header, and not reported; nor
    are blank lines."""
    read, seen = EmailsRead(), {}
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        number = reader.line_num
        cells = [cell.strip() for cell in row if cell.strip()]
        candidates = [cell for cell in cells if "@" in cell]
        if not candidates:
            if cells and number > 1:
                read.skipped.append(SkippedLine(number, "no email in this line."))
            continue
        for cell in candidates:
            email = cell.lower()
            try:
                validate_email(cell)
            except forms.ValidationError:
                read.skipped.append(
                    SkippedLine(number, f"“{cell}” is not a valid email address.")
                )
            else:
                if email in seen:
                    read.skipped.append(
                        SkippedLine(number, f"{email} repeats line {seen[email]}.")
                    )
                else:
                    seen[email] = number
                    read.emails.append(email)
    return read


def emails_from_csv(text: str) -> list[str]:
    """The file's emails (``emails_read``); a cell that is no valid email is refused."""
    read = emails_read(text)
    refused = [line for line in read.skipped if "not a valid email" in line.why]
    if refused:
        raise forms.ValidationError(str(refused[0]))
    return read.emails


class GenerateVouchersForm(forms.Form):
    offer_name = forms.CharField(max_length=120)
    discount = forms.DecimalField(min_value=0.01, max_value=100, decimal_places=2)
    expires_at = forms.DateTimeField(
        help_text="In the site's time zone (UTC), e.g. 2027-01-31 23:59."
    )
    emails_csv = forms.FileField(
        label="Emails (CSV)", help_text="A CSV file; every cell with an email counts."
    )
    send_emails = forms.BooleanField(
        required=False,
        initial=True,
        label="Email each customer their code",
        help_text="Queued with the vouchers; the task worker sends them.",
    )

    def clean_expires_at(self):
        value = self.cleaned_data["expires_at"]
        if value <= timezone.now():
            raise forms.ValidationError(_("The expiry must be in the future."))
        return value

    skip_bad_lines = forms.BooleanField(
        required=False,
        label="Skip bad lines",
        help_text="Generate for the good lines even if some lines have no usable "
        "email (each is listed).",
    )

    def clean_emails_csv(self) -> EmailsRead:
        upload = self.cleaned_data["emails_csv"]
        try:
            read = emails_read(upload.read().decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        except csv.Error as exc:
            raise forms.ValidationError(f"Not a CSV file: {exc}") from None
        if not read.emails:
            raise forms.ValidationError(
                ["No email found in the file.", *map(str, read.skipped)]
            )
        if len(read.emails) > MAX_EMAILS_PER_CALL:
            raise forms.ValidationError(
                f"{len(read.emails):,} emails; at most {MAX_EMAILS_PER_CALL:,} per "
                "file (use manage.py generate_vouchers for more)."
            )
        return read

    def clean(self):
        cleaned = super().clean()
        read = cleaned.get("emails_csv")
        if read and read.skipped and not cleaned.get("skip_bad_lines"):
            self.add_error(
                "emails_csv",
                [
                    f"{len(read.skipped)} line(s) give no voucher. Fix them, or tick "
                    "“Skip bad lines” and send the file again:",
                    *map(str, read.skipped),
                ],
            )
        return cleaned
