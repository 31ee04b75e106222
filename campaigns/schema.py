"""OpenAPI for campaign input: a coupon type is one of three shapes, by benefit kind."""

from drf_spectacular.extensions import OpenApiSerializerExtension

from campaigns.serializers import COUPON_TYPE_INPUT_VARIANTS


class CouponTypeInputScheme(OpenApiSerializerExtension):
    """``CouponTypeInput`` is ``oneOf`` the kinds' shapes; each names the fields its
    kind requires, and only the percent shape may leave ``benefit_kind`` out (it is
    the default), so exactly one shape fits any body the server accepts."""

    target_class = "campaigns.serializers.CouponTypeInputSerializer"

    def map_serializer(self, auto_schema, direction):
        return {
            "oneOf": [
                auto_schema.resolve_serializer(variant, direction).ref
                for variant in COUPON_TYPE_INPUT_VARIANTS
            ],
            "description": (
                "A coupon type. `benefit_kind` (default `percent`) decides which "
                "benefit fields it needs: `amount` and `currency`, `percent`, or "
                "`free_item`."
            ),
        }
