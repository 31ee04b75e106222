from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from couponsite.api.fields import BlankAsNullCharField, StrictCharField
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


# A customer's saved language: one of LANGUAGES, or "" for each request's own.
LANGUAGE_CHOICES = ["", *(code for code, _name in settings.LANGUAGES)]


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


class ErasureSerializer(serializers.Serializer):
    """``DELETE /api/v1/me``'s proof, read from its ``Erasure-Code`` header."""

    code = six_digit_code("The Erasure-Code header.")


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
    # Declared (not the model's): a read-only field built from the model drops
    # its blank choice, and "" (follow Accept-Language) is what most answer.
    language = serializers.ChoiceField(
        choices=LANGUAGE_CHOICES,
        read_only=True,
        help_text="The language of your answers, texts and emails; an empty "
        "string follows each request's Accept-Language.",
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
        choices=LANGUAGE_CHOICES,
        required=False,
        help_text="The language of your answers, texts and emails; an empty "
        "string follows each request's Accept-Language.",
    )


class EmailVerifySerializer(serializers.Serializer):
    code = six_digit_code("The 6-digit code emailed to `pending_email`.")


class BlockReasonSerializer(serializers.Serializer):
    """Why staff block or unblock a customer (kept in the audit log), as the
    admin's reason form asks it."""

    reason = StrictCharField(
        max_length=200, help_text="Why; recorded in the history with who did it."
    )


class CustomerBlockSerializer(serializers.ModelSerializer):
    blocked_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When staff blocked them; null if not.",
    )
    blocked_reason = BlankAsNullCharField(
        help_text="Why they were blocked; null if not."
    )
    blocked_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="The staff username who blocked them; null if not blocked.",
    )

    class Meta:
        model = Customer
        fields = ["id", "blocked_at", "blocked_reason", "blocked_by"]
        read_only_fields = fields


class SmsBudgetSerializer(serializers.Serializer):
    hour = serializers.DateTimeField(help_text="The start of this clock hour (UTC).")
    sent = serializers.IntegerField(
        min_value=0, help_text="Sign-in texts sent this hour (site-wide)."
    )
    refused = serializers.IntegerField(
        min_value=0, help_text="Sign-in codes refused this hour for the budget."
    )
    budget = serializers.IntegerField(
        allow_null=True,
        min_value=1,
        help_text="`SMS_HOURLY_BUDGET`; null when there is no budget (then "
        "nothing is counted and the other figures are 0 / false).",
    )
    percent = serializers.IntegerField(
        allow_null=True,
        min_value=0,
        help_text="`sent` as a whole percent of `budget` (rounded down); null "
        "without a budget.",
    )
    warn_percent = serializers.IntegerField(
        help_text="`SMS_BUDGET_WARN_PERCENT`: the alarm's line."
    )
    alarm = serializers.BooleanField(
        help_text="`percent` reached `warn_percent` (the back office's banner is on)."
    )
    exhausted = serializers.BooleanField(
        help_text="The budget is spent: sign-in codes are refused until the next "
        "hour (`SMS_BUDGET_EXHAUSTED`)."
    )
    seconds_to_next_hour = serializers.IntegerField(
        min_value=1,
        max_value=3600,
        help_text="Seconds until the count starts again (rounded up).",
    )
