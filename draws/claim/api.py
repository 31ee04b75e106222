"""Claim and hold endpoints: staff release batches, customers claim one a day."""

from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.api import CampaignNotFound, campaign_for
from couponsite.api.fields import BlankAsNullCharField, StrictCharField
from couponsite.api.idempotency import (
    IDEMPOTENCY_ERRORS,
    IDEMPOTENCY_PARAMETER,
    idempotent,
)
from couponsite.api.permissions import IsCustomer, IsStaff
from couponsite.api.schema import (
    AUTH_ERRORS,
    BODY_ERRORS,
    RATE_LIMITED,
    error_responses,
)
from couponsite.api.throttling import CustomerAndAddressThrottle
from customers.services.blocking import CustomerBlocked
from draws.claim.models import Claim
from draws.claim.releases import batch_release
from draws.claim.services import AlreadyClaimedToday, SoldOut, claim_take
from draws.opening import NotInActiveTime, WrongCampaignKind
from draws.pool import Release
from vouchers.serializers import VoucherSerializer

# A bigger batch belongs to `manage.py release_coupons` (chunked, with progress),
# not to one HTTP request.
API_MAX_RELEASE = 100_000


class ReleaseInputSerializer(serializers.Serializer):
    coupon_type = serializers.IntegerField(
        help_text="Id of one of the campaign's coupon types."
    )
    count = serializers.IntegerField(min_value=1, max_value=API_MAX_RELEASE)
    note = StrictCharField(
        max_length=200,
        required=False,
        allow_null=True,
        help_text="Why or for what, kept with the release; omit or null.",
    )

    def validate_note(self, value: str | None) -> str:
        return value or ""

    def validate_coupon_type(self, value: int):
        coupon_type = self.context["campaign"].coupon_types.filter(pk=value).first()
        if coupon_type is None:
            raise serializers.ValidationError(
                gettext("No coupon type with this id in this campaign.")
            )
        return coupon_type


class ReleaseSerializer(serializers.ModelSerializer):
    released = serializers.IntegerField(
        source="count", help_text="Coupons put into the pool."
    )
    coupon_type = serializers.PrimaryKeyRelatedField(read_only=True)
    released_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    note = BlankAsNullCharField()

    class Meta:
        model = Release
        fields = ["id", "coupon_type", "released", "note", "released_by", "created_at"]
        read_only_fields = fields


class ClaimSerializer(serializers.ModelSerializer):
    voucher = VoucherSerializer(
        read_only=True, help_text="The coupon now held for you until `held_until`."
    )

    class Meta:
        model = Claim
        fields = ["id", "day", "voucher", "held_until", "created_at"]
        read_only_fields = fields


class ReleaseApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        tags=["claims"],
        summary="Release a batch of coupons into a claim campaign's pool (staff)",
        description=(
            f"Up to {API_MAX_RELEASE:,} coupons a call; larger batches go through "
            "`manage.py release_coupons`. Recorded with who released them and when."
        ),
        request=ReleaseInputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: ReleaseSerializer,
            **error_responses(
                *BODY_ERRORS,
                *AUTH_ERRORS,
                CampaignNotFound,
                WrongCampaignKind,
                *IDEMPOTENCY_ERRORS,
            ),
        },
    )
    @idempotent
    def post(self, request, slug: str):
        campaign = campaign_for(request, slug)
        serializer = ReleaseInputSerializer(
            data=request.data, context={"campaign": campaign}
        )
        serializer.is_valid(raise_exception=True)
        release = batch_release(acting_user=request.user, **serializer.validated_data)
        return Response(ReleaseSerializer(release).data, status=status.HTTP_201_CREATED)


class ClaimApi(APIView):
    permission_classes = [IsCustomer]
    throttle_classes = [CustomerAndAddressThrottle]
    throttle_scope = "claim"

    @extend_schema(
        tags=["claims"],
        summary="Claim today's coupon (held for you for a few minutes)",
        description=(
            "Once per customer per campaign per local day; again that day is `429 "
            "ALREADY_CLAIMED_TODAY` with `Retry-After` counting to the campaign's "
            "local midnight. The coupon is held for you until `voucher.held_until` "
            "(5 minutes by default): redeem it before then or it goes back to the "
            "pool. `409 SOLD_OUT` when no coupon is free."
        ),
        request=None,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: ClaimSerializer,
            **error_responses(
                *AUTH_ERRORS,
                CampaignNotFound,
                NotInActiveTime,
                CustomerBlocked,
                WrongCampaignKind,
                SoldOut,
                AlreadyClaimedToday,
                *IDEMPOTENCY_ERRORS,
                RATE_LIMITED,
            ),
        },
    )
    @idempotent
    def post(self, request, slug: str):
        now = timezone.now()
        claim = claim_take(
            campaign=campaign_for(request, slug), customer=request.user, now=now
        )
        return Response(
            ClaimSerializer(claim, context={"now": now}).data,
            status=status.HTTP_201_CREATED,
        )
