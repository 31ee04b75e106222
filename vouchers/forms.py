import csv
import io

from django import forms
from django.core.validators import validate_email
from django.utils import timezone

from vouchers.serializers import MAX_EMAILS_PER_CALL


def emails_from_csv(text: str) -> list[str]:
    """Every cell that looks like an email, in order (header rows and other columns ignored)."""
    emails = []
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            cell = cell.strip()
            if "@" in cell:
                validate_email(cell)
                emails.append(cell)
    return emails


class GenerateVouchersForm(forms.Form):
    offer_name = forms.CharField(max_length=120)
    discount = forms.DecimalField(min_value=0.01, max_value=100, decimal_places=2)
    expires_at = forms.DateTimeField(
        help_text="In the site's time zone (UTC), e.g. 2027-01-31 23:59."
    )
    emails_csv = forms.FileField(
        label="Emails (CSV)", help_text="A CSV file; every cell with an email counts."
    )

    def clean_expires_at(self):
        value = self.cleaned_data["expires_at"]
        if value <= timezone.now():
            raise forms.ValidationError("The expiry must be in the future.")
        return value

    def clean_emails_csv(self):
        upload = self.cleaned_data["emails_csv"]
        try:
            emails = emails_from_csv(upload.read().decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text.") from None
        except forms.ValidationError as exc:
            raise forms.ValidationError(f"Not an email: {exc.messages[0]}") from None
        if not emails:
            raise forms.ValidationError("No email found in the file.")
        if len(emails) > MAX_EMAILS_PER_CALL:
            raise forms.ValidationError(
                f"{len(emails):,} emails; at most {MAX_EMAILS_PER_CALL:,} per file "
                "(use manage.py generate_vouchers for more)."
            )
        return emails
