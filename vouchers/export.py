"""The customer's vouchers and their vouchers' history in their export (``customers.export``), registered
by ``VouchersConfig.ready``: customers knows no vouchers."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from couponsite.codes import display_code
from customers.export import register_export_part
from vouchers.models import Voucher, VoucherEvent
from vouchers.serializers import VoucherSerializer

# The relations VoucherSerializer follows, so a list of them is one query.
VOUCHER_RELATED = ("campaign", "coupon_type", "offer")


class ExportVoucherSerializer(VoucherSerializer):
    """A voucher as the API shows it, with when it was made."""

    created_at = serializers.DateTimeField(read_only=True)


class ExportVoucherEventSerializer(serializers.Serializer):
    """Something that happened to a voucher, done by or for the customer."""

    kind = serializers.ChoiceField(choices=VoucherEvent.Kind.choices, read_only=True)
    voucher = serializers.SerializerMethodField(help_text="The voucher's code.")
    campaign = serializers.CharField(
        source="campaign.slug",
        read_only=True,
        allow_null=True,
        help_text="Campaign slug.",
    )
    created_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_voucher(self, event: VoucherEvent):
        return display_code(event.voucher.code) if event.voucher_id else None


def _vouchers(customer):
    return (
        Voucher.objects.filter(owner=customer)
        .select_related(*VOUCHER_RELATED)
        .order_by("created_at", "pk")
    )


register_export_part(
    "vouchers",
    serializer=ExportVoucherSerializer,
    rows=_vouchers,
    position=30,
    description="Every voucher that is the customer's (won, claimed, grabbed, "
    "or issued to their verified email), whatever its status.",
)


def _voucher_history(customer):
    return (
        VoucherEvent.objects.filter(customer=customer)
        .select_related("voucher", "campaign")
        .order_by("created_at", "pk")
    )


register_export_part(
    "voucher_history",
    serializer=ExportVoucherEventSerializer,
    rows=_voucher_history,
    position=31,
    description="What happened to vouchers by or for the customer (claimed, "
    "redeemed, a hold expired, ...), oldest first.",
)
