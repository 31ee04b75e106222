"""The customer's vouchers in their export (``customers.export``), registered
by ``VouchersConfig.ready``: customers knows no vouchers."""

from rest_framework import serializers

from customers.export import register_export_part
from vouchers.models import Voucher
from vouchers.serializers import VoucherSerializer

# The relations VoucherSerializer follows, so a list of them is one query.
VOUCHER_RELATED = ("campaign", "coupon_type", "offer")


class ExportVoucherSerializer(VoucherSerializer):
    """A voucher as the API shows it, with when it was made."""

    created_at = serializers.DateTimeField(read_only=True)


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
