"""The customer's rush reservations and grabs in their export
(``customers.export``), registered by ``DrawsConfig.ready``."""

from rest_framework import serializers

from customers.export import register_export_part
from draws.rush.models import Grab, Reservation
from draws.rush.serializers import GrabSerializer, ReservationSerializer


class ExportReservationSerializer(ReservationSerializer):
    """A reservation as the API shows it, with its campaign."""

    campaign = serializers.CharField(
        source="campaign.slug", read_only=True, help_text="Campaign slug."
    )

    class Meta(ReservationSerializer.Meta):
        fields = [*ReservationSerializer.Meta.fields, "campaign"]
        read_only_fields = fields


class ExportGrabSerializer(GrabSerializer):
    """A grab as the API shows it, with its campaign."""

    campaign = serializers.CharField(
        source="campaign.slug", read_only=True, help_text="Campaign slug."
    )

    class Meta(GrabSerializer.Meta):
        fields = [*GrabSerializer.Meta.fields, "campaign"]
        read_only_fields = fields


def _reservations(customer):
    return (
        Reservation.objects.filter(customer=customer)
        .select_related("campaign")
        .order_by("created_at", "pk")
    )


def _grabs(customer):
    return (
        Grab.objects.filter(customer=customer)
        .select_related(
            "campaign",
            "voucher__campaign",
            "voucher__coupon_type",
            "voucher__offer",
        )
        .order_by("created_at", "pk")
    )


register_export_part(
    "reservations",
    serializer=ExportReservationSerializer,
    rows=_reservations,
    position=60,
    description="Every place taken in a flash sale's reservations.",
)
register_export_part(
    "grabs",
    serializer=ExportGrabSerializer,
    rows=_grabs,
    position=70,
    description="Every coupon won in a flash sale.",
)
