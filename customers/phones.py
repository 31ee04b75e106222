"""Phone numbers, parsed and validated with Google's libphonenumber (``phonenumbers``)."""

import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# What a phone number may be written with: digits, an optional leading +, and
# spaces, dots, dashes and parentheses. The API schema declares this pattern; the
# number must also exist (libphonenumber), which no pattern can say.
PHONE_PATTERN = r"^\+?[0-9 ().\-]{6,31}$"
PHONE_MAX_LENGTH = 32
_PHONE = re.compile(PHONE_PATTERN)


def normalize_phone(raw: str) -> str:
    """The number in E.164 (``+447700900001``), or ``ValidationError``.

    A number without ``+country code`` is read in ``PHONE_DEFAULT_REGION``.
    Letters (``1-800-FLOWERS``), extensions and URIs (``tel:``) are refused:
    libphonenumber would read them, the schema's pattern does not allow them.
    """
    if not _PHONE.fullmatch(raw):
        raise ValidationError(
            _("Enter a phone number in international format, like +14155550123."),
            code="invalid_phone",
        )
    try:
        number = phonenumbers.parse(raw, settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("Enter a phone number in international format, like +14155550123."),
            code="invalid_phone",
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("This phone number does not exist."), code="invalid_phone"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    if normalize_phone(value) != value:
        raise ValidationError(_("Store phone numbers in E.164."), code="invalid_phone")
