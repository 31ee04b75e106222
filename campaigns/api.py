from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns import services
from campaigns.models import Campaign, CouponType
from campaigns.selectors import campaign_by_slug
from campaigns.serializers import (
    CampaignCreateSerializer,
    CampaignDetailSerializer,
    CampaignSerializer,
)
from couponsite.api.permissions import IsStaff, is_staff
from couponsite.api.schema import (
    AUTH_ERRORS,
    BODY_ERRORS,
    INVALID_TOKEN,
    VALIDATION_ERROR,
    error_responses,
)
from couponsite.errors import NotFound


class CampaignNotFound(NotFound):
    detail = _("No such campaign.")


def campaign_for(request, slug: str) -> Campaign:
    """The campaign by slug (cached); drafts exist for staff only."""
    campaign = campaign_by_slug(slug)
    if campaign is None or (
        campaign.status == Campaign.Status.DRAFT and not is_staff(request.user)
    ):
        raise CampaignNotFound()
    return campaign


class CampaignListApi(generics.ListAPIView):
    serializer_class = CampaignSerializer

    def get_permissions(self):
        return [IsStaff()] if self.request.method == "POST" else []

    def get_queryset(self):
        return Campaign.objects.active()

    @extend_schema(
        tags=["campaigns"],
        summary="Campaigns running now",
        responses={
            200: CampaignSerializer(many=True),
            **error_responses(VALIDATION_ERROR, INVALID_TOKEN),
        },
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["campaigns"],
        summary="Create a campaign with its coupon types (staff)",
        request=CampaignCreateSerializer,
        responses={
            201: CampaignDetailSerializer,
            **error_responses(*BODY_ERRORS, *AUTH_ERRORS),
        },
    )
    def post(self, request):
        serializer = CampaignCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign = services.campaign_create(
            acting_user=request.user, **serializer.validated_data
        )
        return Response(
            CampaignDetailSerializer(campaign).data, status=status.HTTP_201_CREATED
        )


class CampaignDetailApi(APIView):
    @extend_schema(
        tags=["campaigns"],
        summary="One campaign with its coupon types, windows and today's figures",
        responses={
            200: CampaignDetailSerializer,
            **error_responses(INVALID_TOKEN, CampaignNotFound),
        },
    )
    def get(self, request, slug: str):
        campaign = campaign_for(request, slug)
        campaign = Campaign.objects.prefetch_related(
            Prefetch("coupon_types", queryset=CouponType.objects.order_by("id"))
        ).get(pk=campaign.pk)
        return Response(CampaignDetailSerializer(campaign).data)
