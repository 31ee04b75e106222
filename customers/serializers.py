from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from couponsite.api.fields import StrictCharField
from customers.models import Customer
from customers.phones import normalize_phone
from customers.selectors import pending_email_verification


def six_digit_code(help_text: str) -> StrictCharField:
    return StrictCharField(
        validators=[
            RegexValidator(r"^[0-9]{6}$", _("Enter the 6 digits of the code."))
        ],
        help_text=help_text,
    )


class PhoneField(StrictCharField):
    """A phone number in any common notation, normalised to E.164."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("help_text", "International format, e.g. +14155550123.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
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
    code = six_digit_code("The 6-digit code sent by SMS.")


class CustomerSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(
        read_only=True,
        allow_null=True,
        help_text="The customer's verified email (null: none).",
    )
    pending_email = serializers.EmailField(
        source="pending_verification.email",
        read_only=True,
        allow_null=True,
        help_text="An email waiting for its code (POST /api/v1/me/email/verify); "
        "null when none.",
    )
    pending_email_expires_at = serializers.DateTimeField(
        source="pending_verification.expires_at",
        read_only=True,
        allow_null=True,
        help_text="When the code for `pending_email` stops working.",
    )

    class Meta:
        model = Customer
        fields = [
            "id",
            "phone",
            "email",
            "name",
            "language",
            "created_at",
            "pending_email",
            "pending_email_expires_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        instance.pending_verification = pending_email_verification(customer=instance)
        return super().to_representation(instance)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(source="key")
    expires_at = serializers.DateTimeField(
        help_text="The token is refused from then on."
    )
    customer = CustomerSerializer()


class CustomerUpdateSerializer(serializers.Serializer):
    email = serializers.EmailField(
        required=False,
        allow_null=True,
        max_length=254,
        help_text="Starts a change of email: a code is mailed to it and the email "
        "becomes yours once the code is sent to POST /api/v1/me/email/verify. "
        "null removes your email.",
    )
    name = StrictCharField(max_length=150, required=False, allow_blank=True)
    language = serializers.ChoiceField(
        choices=["", *(code for code, _name in settings.LANGUAGES)],
        required=False,
        help_text="The language of your answers, texts and emails; an empty "
        "string follows each request's Accept-Language.",
    )


class EmailVerifySerializer(serializers.Serializer):
    code = six_digit_code("The 6-digit code emailed to `pending_email`.")
