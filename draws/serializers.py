from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.serializers import CouponTypeSerializer
from draws.models import Draw, Grab, Reservation
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


class ReservationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reservation
        fields = ["number", "day", "created_at"]
        read_only_fields = fields
        extra_kwargs = {
            "number": {"help_text": "Your place in the day's reservations: 1, 2, 3…"},
            "day": {
                "help_text": "The rush's day (local date its reservations opened)."
            },
        }


class GrabSerializer(serializers.ModelSerializer):
    voucher = VoucherSerializer(read_only=True)

    class Meta:
        model = Grab
        fields = ["voucher", "day", "created_at"]
        read_only_fields = fields
