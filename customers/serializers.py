from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from customers.models import Customer
from customers.phones import normalize_phone


class PhoneField(serializers.CharField):
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
    code = serializers.RegexField(r"^\d{6}$", help_text="The 6-digit code sent by SMS.")


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
