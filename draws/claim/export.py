"""The customer's claims in their export (``customers.export``), registered by
``DrawsConfig.ready``."""

from rest_framework import serializers

from customers.export import register_export_part
from draws.claim.api import ClaimSerializer
from draws.claim.models import Claim


class ExportClaimSerializer(ClaimSerializer):
    """A claim as the API shows it, with its campaign."""

    campaign = serializers.CharField(
        source="campaign.slug", read_only=True, help_text="Campaign slug."
    )

    class Meta(ClaimSerializer.Meta):
        fields = [*ClaimSerializer.Meta.fields, "campaign"]
        read_only_fields = fields


def _claims(customer):
    return (
        Claim.objects.filter(customer=customer)
        .select_related(
            "campaign",
            "voucher__campaign",
            "voucher__coupon_type",
            "voucher__offer",
        )
        .order_by("created_at", "pk")
    )


register_export_part(
    "claims",
    serializer=ExportClaimSerializer,
    rows=_claims,
    position=50,
    description="Every coupon claimed (held) in a claim-and-hold drop.",
)
