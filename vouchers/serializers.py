from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.serializers import BenefitSerializer
from couponsite.api.fields import (
    BlankAsNullCharField,
    BlankAsNullEmailField,
    StrictCharField,
)
from couponsite.codes import display_code
from vouchers.models import Voucher, voucher_redeem_deadline


class VoucherSerializer(serializers.Serializer):
    """A voucher in any answer. A plain Serializer with explicit fields: it is on
    every hot path, and ModelSerializer rebuilds its fields from the model on each
    use."""

    code = serializers.SerializerMethodField(
        help_text="Grouped for people: K7QM-3XDP-9T."
    )
    status = serializers.SerializerMethodField()
    name = serializers.CharField(
        source="source_name", help_text="The offer's or coupon type's name."
    )
    offer_name = serializers.SerializerMethodField()
    coupon_type = serializers.SerializerMethodField()
    campaign = serializers.CharField(
        source="campaign.slug",
        read_only=True,
        allow_null=True,
        help_text="Campaign slug.",
    )
    benefit = BenefitSerializer(source="*", read_only=True)
    email = BlankAsNullEmailField(
        help_text="The email it was issued to (voucher pool); null otherwise."
    )
    issued_at = serializers.DateTimeField(read_only=True, allow_null=True)
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True)
    held_until = serializers.DateTimeField(read_only=True, allow_null=True)
    used_at = serializers.DateTimeField(read_only=True, allow_null=True)
    order_ref = BlankAsNullCharField(
        help_text="The order it was redeemed for, if the checkout said; else null."
    )
    redeem_by = serializers.SerializerMethodField(
        help_text="The real deadline to redeem: the end of the hold for a held "
        "coupon (a claim; `expires_at` if sooner), `expires_at` for an issued "
        "one; null when it cannot be redeemed (any more) or never expires."
    )

    def get_code(self, voucher: Voucher) -> str:
        return display_code(voucher.code)

    @extend_schema_field(serializers.ChoiceField(choices=Voucher.Status.choices))
    def get_status(self, voucher: Voucher) -> str:
        return voucher.effective_status(self.context.get("now"))

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_redeem_by(self, voucher: Voucher):
        status = voucher.effective_status(self.context.get("now"))
        deadline = voucher_redeem_deadline(voucher, status)
        if deadline is None:
            return None
        return serializers.DateTimeField().to_representation(deadline)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_offer_name(self, voucher: Voucher):
        return voucher.offer.name if voucher.offer_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_coupon_type(self, voucher: Voucher):
        return voucher.coupon_type.name if voucher.coupon_type_id else None


# The longest address a mailbox can have (RFC 5321) and the column's width.
EMAIL_MAX_LENGTH = 254


class VoucherCodeSerializer(serializers.Serializer):
    code = StrictCharField(max_length=64, help_text="Case, dashes and spaces ignored.")
    email = serializers.EmailField(
        required=False,
        max_length=EMAIL_MAX_LENGTH,
        help_text="Staff: the customer's email the voucher was issued to.",
    )


class VoucherRedeemSerializer(VoucherCodeSerializer):
    order_ref = StrictCharField(
        max_length=100,
        required=False,
        allow_null=True,
        help_text="Your order's reference, kept with the redemption; omit or null.",
    )

    def validate_order_ref(self, value: str | None) -> str:
        return value or ""


class VoucherCheckResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    discount = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        allow_null=True,
        help_text="Percentage off, if any.",
    )
    benefit = BenefitSerializer()
    used_at = serializers.DateTimeField(allow_null=True)
    voucher = VoucherSerializer()


MAX_EMAILS_PER_CALL = 10_000


class VoucherGenerateSerializer(serializers.Serializer):
    """One ``email`` or a list of ``emails`` (exactly one of them: the schema says
    so with ``oneOf`` of ``VoucherGenerateOne`` and ``VoucherGenerateMany``)."""

    email = serializers.EmailField(required=False, max_length=EMAIL_MAX_LENGTH)
    emails = serializers.ListField(
        child=serializers.EmailField(max_length=EMAIL_MAX_LENGTH),
        required=False,
        allow_empty=False,
        min_length=1,  # the same rule, said so the schema has minItems
        max_length=MAX_EMAILS_PER_CALL,
        help_text=f"Up to {MAX_EMAILS_PER_CALL:,} emails; duplicates get one voucher.",
    )
    offer_name = StrictCharField(max_length=120)
    discount = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal(100),
        help_text="Percentage off, kept by each voucher as issued.",
    )
    expires_at = serializers.DateTimeField()
    send_emails = serializers.BooleanField(
        default=True,
        help_text=(
            "Email each customer their code (text and HTML: the offer, the code, "
            "the expiry). The emails are queued with the vouchers and sent by the "
            "task worker, never inside this request. `false`: no email."
        ),
    )

    def validate_expires_at(self, value):
        if value <= timezone.now():
            raise serializers.ValidationError(_("The expiry must be in the future."))
        return value

    def validate(self, attrs):
        if ("email" in attrs) == ("emails" in attrs):
            raise serializers.ValidationError(
                {"emails": ["Give either one `email` or a list of `emails`."]}
            )
        attrs["emails"] = [attrs.pop("email")] if "email" in attrs else attrs["emails"]
        return attrs


class GeneratedVoucherSerializer(serializers.Serializer):
    email = serializers.EmailField()
    code = serializers.SerializerMethodField()
    discount = serializers.DecimalField(
        source="percent", max_digits=5, decimal_places=2
    )
    expires_at = serializers.DateTimeField()

    def get_code(self, voucher: Voucher) -> str:
        return display_code(voucher.code)


class OfferSerializer(serializers.Serializer):
    name = serializers.CharField()
    discount = serializers.DecimalField(max_digits=5, decimal_places=2)


class VoucherGenerateResultSerializer(serializers.Serializer):
    offer = OfferSerializer()
    count = serializers.IntegerField()
    emails_queued = serializers.IntegerField(
        help_text="How many emails with their codes were queued (0 when "
        "`send_emails` was false)."
    )
    vouchers = GeneratedVoucherSerializer(many=True)


class VoucherGenerateOneSerializer(VoucherGenerateSerializer):
    """Schema only: the body with one ``email``."""

    def get_fields(self):
        fields = super().get_fields()
        fields.pop("emails")
        fields["email"].required = True
        return fields


class VoucherGenerateManySerializer(VoucherGenerateSerializer):
    """Schema only: the body with a list of ``emails``."""

    def get_fields(self):
        fields = super().get_fields()
        fields.pop("email")
        fields["emails"].required = True
        return fields
