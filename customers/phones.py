"""Phone numbers, parsed and validated with Google's libphonenumber (``phonenumbers``)."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError


def normalize_phone(raw: str) -> str:
    """The number in E.164 (``+447700900001``), or ``ValidationError``.

    A number without ``+country code`` is read in ``PHONE_DEFAULT_REGION``.
    """
    try:
        number = phonenumbers.parse(raw, settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            "Enter a phone number in international format, like +14155550123.",
            code="invalid_phone",
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("This phone number does not exist.", code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    if normalize_phone(value) != value:
        raise ValidationError("Store phone numbers in E.164.", code="invalid_phone")
