from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.models import RULE_CATEGORY_MAX_LENGTH, normalize_categories
from campaigns.serializers import (
    BenefitSerializer,
    RedemptionRulesInputSerializer,
    RedemptionRulesSerializer,
    rules_errors_nested,
)
from couponsite.api.fields import (
    BlankAsNullCharField,
    BlankAsNullEmailField,
    StrictCharField,
    StrictDecimalField,
)
from couponsite.codes import display_code
from vouchers.models import Offer, Voucher, voucher_redeem_deadline
from vouchers.pricing import MAX_MINOR_UNITS, Order, minor_units, quantize


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
    rules = RedemptionRulesSerializer(
        source="*",
        read_only=True,
        help_text="What an order must be for it to apply (copied at issue).",
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
# An order's largest amount: 12 digits before the point.
ORDER_AMOUNT_MAX = Decimal("999999999999")


class OrderSerializer(serializers.Serializer):
    """The order a voucher is checked or redeemed against."""

    amount = StrictDecimalField(
        max_digits=12 + MAX_MINOR_UNITS,
        decimal_places=MAX_MINOR_UNITS,
        min_value=Decimal(0),
        max_value=ORDER_AMOUNT_MAX,
        help_text="The order's total, a decimal string (`12.50`), no more "
        "places than the currency has (JPY 0, HKD 2, KWD 3).",
    )
    currency = serializers.RegexField(
        r"^[A-Z]{3}$", help_text="ISO 4217 code, upper case (`HKD`)."
    )
    categories = serializers.ListField(
        child=StrictCharField(max_length=RULE_CATEGORY_MAX_LENGTH),
        required=False,
        max_length=50,
        help_text="The order's item categories (case ignored).",
    )

    def validate(self, attrs) -> Order:
        amount, currency = attrs["amount"], attrs["currency"]
        if quantize(amount, currency) != amount:
            raise serializers.ValidationError(
                {
                    "amount": [
                        gettext("%(currency)s has %(places)d decimal places.")
                        % {"currency": currency, "places": minor_units(currency)}
                    ]
                }
            )
        return Order(
            amount=quantize(amount, currency),
            currency=currency,
            categories=normalize_categories(attrs.get("categories", ())),
        )


class VoucherCodeSerializer(serializers.Serializer):
    code = StrictCharField(max_length=64, help_text="Case, dashes and spaces ignored.")
    email = serializers.EmailField(
        required=False,
        max_length=EMAIL_MAX_LENGTH,
        help_text="Staff: the customer's email the voucher was issued to.",
    )
    order = OrderSerializer(
        required=False,
        allow_null=True,
        help_text="The order, to be answered the money off it (and have the "
        "voucher's order rules checked); omit or null for none.",
    )

    def validate(self, attrs):
        if attrs.get("order", ...) is None:
            del attrs["order"]
        return attrs


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
    discount_amount = serializers.CharField(
        allow_null=True,
        help_text="The money taken off the order, a decimal string in the "
        "order's currency (its minor unit, rounded half up); null without an order.",
    )
    currency = serializers.CharField(
        allow_null=True, help_text="The order's currency; null without an order."
    )
    free_item = serializers.CharField(
        allow_null=True,
        help_text="The free item the order gets (a free-item voucher); null "
        "without an order or for other vouchers.",
    )


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
    currency = serializers.RegexField(
        r"^[A-Z]{3}$",
        required=False,
        help_text="ISO 4217, upper case: the currency orders must be in, needed "
        "by the money `rules`. Given: it replaces the offer's.",
    )
    rules = RedemptionRulesInputSerializer(
        required=False,
        help_text="The offer's redemption rules, kept by each voucher as issued. "
        "Given: they replace the offer's rules, all of them (a rule left out is "
        "none), as `discount` replaces its discount; vouchers already issued "
        "keep theirs. Omitted: the offer's rules stay as they are. Money rules "
        "need `currency` in the same request.",
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
    language = serializers.ChoiceField(
        choices=[code for code, _name in settings.LANGUAGES],
        required=False,
        help_text="The language of the emails to addresses whose customer saved "
        "none (a customer's saved language wins). Omitted: the request's "
        "language (`Accept-Language`).",
    )

    def validate_expires_at(self, value):
        if value <= timezone.now():
            raise serializers.ValidationError(_("The expiry must be in the future."))
        return value

    def validate(self, attrs):
        if ("email" in attrs) == ("emails" in attrs):
            raise serializers.ValidationError(
                {"emails": [gettext("Give either one `email` or a list of `emails`.")]}
            )
        attrs["emails"] = [attrs.pop("email")] if "email" in attrs else attrs["emails"]
        if "rules" in attrs:
            offer = Offer(
                discount=attrs["discount"],
                currency=attrs.get("currency", ""),
                **attrs["rules"],
            )
            try:
                offer.clean()  # the rules the admin's offer page applies
            except DjangoValidationError as exc:
                raise serializers.ValidationError(
                    rules_errors_nested(exc.message_dict)
                ) from None
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
    currency = BlankAsNullCharField(
        help_text="The currency its money rules are in; null: none."
    )
    rules = RedemptionRulesSerializer(
        source="*",
        read_only=True,
        help_text="Its redemption rules now (the vouchers just issued carry them).",
    )


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
