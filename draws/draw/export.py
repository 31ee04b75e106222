"""The customer's draws in their export (``customers.export``), registered by
``DrawsConfig.ready``."""

from rest_framework import serializers

from customers.export import register_export_part
from draws.draw.models import Draw
from draws.draw.serializers import DrawSerializer


class ExportDrawSerializer(DrawSerializer):
    """A draw as the API shows it, with its campaign."""

    campaign = serializers.CharField(
        source="campaign.slug", read_only=True, help_text="Campaign slug."
    )


def _draws(customer):
    return (
        Draw.objects.filter(customer=customer)
        .select_related(
            "campaign",
            "voucher__campaign",
            "voucher__coupon_type",
            "voucher__offer",
        )
        .order_by("created_at", "pk")
    )


register_export_part(
    "draws",
    serializer=ExportDrawSerializer,
    rows=_draws,
    position=40,
    description="Every lucky draw, won or lost.",
)
