import csv
import io
from dataclasses import dataclass, field

from django import forms
from django.conf import settings
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _

from vouchers.serializers import MAX_EMAILS_PER_CALL


@dataclass(frozen=True)
class SkippedLine:
    """A line of an uploaded file that gave no voucher, and why (``invalid``: a
    cell that looks like an email but is none)."""

    number: int
    why: str
    invalid: bool = False

    def __str__(self) -> str:
        return gettext("Line %(number)s: %(why)s") % {
            "number": self.number,
            "why": self.why,
        }


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
                read.skipped.append(
                    SkippedLine(number, gettext("no email in this line."))
                )
            continue
        for cell in candidates:
            email = cell.lower()
            try:
                validate_email(cell)
            except forms.ValidationError:
                why = gettext("“%(cell)s” is not a valid email address.") % {
                    "cell": cell
                }
                read.skipped.append(SkippedLine(number, why, invalid=True))
            else:
                if email in seen:
                    why = gettext("%(email)s repeats line %(line)s.") % {
                        "email": email,
                        "line": seen[email],
                    }
                    read.skipped.append(SkippedLine(number, why))
                else:
                    seen[email] = number
                    read.emails.append(email)
    return read


def emails_from_csv(text: str) -> list[str]:
    """The file's emails (``emails_read``); a cell that is no valid email is refused."""
    read = emails_read(text)
    refused = [line for line in read.skipped if line.invalid]
    if refused:
        raise forms.ValidationError(str(refused[0]))
    return read.emails


class GenerateVouchersForm(forms.Form):
    offer_name = forms.CharField(max_length=120, label=_("Offer name"))
    discount = forms.DecimalField(
        min_value=0.01, max_value=100, decimal_places=2, label=_("Discount (%)")
    )
    expires_at = forms.DateTimeField(
        label=_("Expires at"),
        help_text=_("In the site's time zone (UTC), e.g. 2027-01-31 23:59."),
    )
    emails_csv = forms.FileField(
        label=_("Emails (CSV)"),
        help_text=_("A CSV file; every cell with an email counts."),
    )
    send_emails = forms.BooleanField(
        required=False,
        initial=True,
        label=_("Email each customer their code"),
        help_text=_("Queued with the vouchers; the task worker sends them."),
    )
    language = forms.ChoiceField(
        choices=settings.LANGUAGES,
        required=False,
        label=_("Language of the emails"),
        help_text=_(
            "For addresses whose customer saved no language; a customer's saved "
            "language wins."
        ),
    )
    skip_bad_lines = forms.BooleanField(
        required=False,
        label=_("Skip bad lines"),
        help_text=_(
            "Generate for the good lines even if some lines have no usable "
            "email (each is listed)."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The employee's own language (the back office's), unless they choose.
        self.fields["language"].initial = get_language()

    def clean_expires_at(self):
        value = self.cleaned_data["expires_at"]
        if value <= timezone.now():
            raise forms.ValidationError(_("The expiry must be in the future."))
        return value

    def clean_language(self) -> str:
        return self.cleaned_data["language"] or get_language()

    def clean_emails_csv(self) -> EmailsRead:
        upload = self.cleaned_data["emails_csv"]
        try:
            read = emails_read(upload.read().decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        except csv.Error as exc:
            raise forms.ValidationError(
                gettext("Not a CSV file: %(error)s") % {"error": exc}
            ) from None
        if not read.emails:
            raise forms.ValidationError(
                [gettext("No email found in the file."), *map(str, read.skipped)]
            )
        if len(read.emails) > MAX_EMAILS_PER_CALL:
            raise forms.ValidationError(
                gettext(
                    "%(count)s emails; at most %(most)s per file (use manage.py "
                    "generate_vouchers for more)."
                )
                % {
                    "count": f"{len(read.emails):,}",
                    "most": f"{MAX_EMAILS_PER_CALL:,}",
                }
            )
        return read

    def clean(self):
        cleaned = super().clean()
        read = cleaned.get("emails_csv")
        if read and read.skipped and not cleaned.get("skip_bad_lines"):
            self.add_error(
                "emails_csv",
                [
                    ngettext(
                        "%(count)s line gives no voucher. Fix it, or tick “Skip "
                        "bad lines” and send the file again:",
                        "%(count)s lines give no voucher. Fix them, or tick “Skip "
                        "bad lines” and send the file again:",
                        len(read.skipped),
                    )
                    % {"count": len(read.skipped)},
                    *map(str, read.skipped),
                ],
            )
        return cleaned
