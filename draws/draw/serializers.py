from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.serializers import CouponTypeSerializer
from draws.draw.models import Draw
from vouchers.serializers import VoucherSerializer


class DrawSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    day = serializers.DateField(read_only=True)
    won = serializers.BooleanField(read_only=True)
    coupon_type = serializers.SerializerMethodField()
    voucher = VoucherSerializer(allow_null=True, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(CouponTypeSerializer(allow_null=True))
    def get_coupon_type(self, draw: Draw):
        """The prize won; null on a loss (even when the roll hit a spent quota)."""
        if not draw.won:
            return None
        return CouponTypeSerializer(draw.voucher.coupon_type).data
