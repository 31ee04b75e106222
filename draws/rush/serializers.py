from rest_framework import serializers

from draws.rush.models import Grab, Reservation
from vouchers.serializers import VoucherSerializer


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
