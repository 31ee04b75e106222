import re

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers.models import Customer
from customers.phones import normalize_phone

# What a phone number may be written with: digits, an optional leading +, and
# spaces, dots, dashes and parentheses between them. The server checks the
# number exists too (libphonenumber), which no pattern can say.
PHONE_PATTERN = r"^\+?[0-9 ().\-]{6,31}$"
_PHONE = re.compile(PHONE_PATTERN)


@extend_schema_field(
    {
        "type": "string",
        "pattern": PHONE_PATTERN,
        "maxLength": 32,
        "example": "+14155550123",
    }
)
class PhoneField(serializers.CharField):
    """A phone number in any common notation, normalised to E.164."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("trim_whitespace", False)  # the pattern is the whole rule
        kwargs.setdefault(
            "help_text",
            "International format, e.g. +14155550123 (spaces, dots, dashes and "
            "parentheses are ignored); it must be a number that exists.",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not _PHONE.fullmatch(value):
            raise serializers.ValidationError(
                "Enter a phone number in international format, like +14155550123."
            )
        try:
            return normalize_phone(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class OtpRequestSerializer(serializers.Serializer):
    phone = PhoneField()


class OtpSentSerializer(serializers.Serializer):
    phone = serializers.CharField()
    expires_at = serializers.DateTimeField()
    resend_after = serializers.DateTimeField()


class TokenRequestSerializer(serializers.Serializer):
    phone = PhoneField()
    code = serializers.RegexField(
        r"^[0-9]{6}$", help_text="The 6-digit code sent by SMS."
    )


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "phone", "email", "name", "created_at"]
        read_only_fields = fields


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(source="key")
    customer = CustomerSerializer()


class CustomerUpdateSerializer(serializers.Serializer):
    email = serializers.EmailField(required=False)
    name = serializers.CharField(max_length=150, required=False, allow_blank=True)
