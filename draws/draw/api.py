from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.api import CampaignNotFound, campaign_for
from couponsite.api.idempotency import (
    IDEMPOTENCY_ERRORS,
    IDEMPOTENCY_PARAMETER,
    idempotent,
)
from couponsite.api.permissions import IsCustomer
from couponsite.api.schema import AUTH_ERRORS, RATE_LIMITED, error_responses
from couponsite.api.throttling import CustomerAndAddressThrottle
from draws.draw.serializers import DrawSerializer
from draws.draw.services import AlreadyDrawnToday, draw_run
from draws.opening import NotInActiveTime, WrongCampaignKind


class DrawApi(APIView):
    permission_classes = [IsCustomer]
    throttle_classes = [CustomerAndAddressThrottle]
    throttle_scope = "draw"

    @extend_schema(
        tags=["draws"],
        summary="Draw once today",
        description=(
            "Once per customer per campaign per local day; again that day is `429 "
            "ALREADY_DRAWN_TODAY` with `Retry-After` counting to the campaign's "
            "local midnight (as for claims). `voucher` is null on a loss."
        ),
        request=None,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: DrawSerializer,
            **error_responses(
                *AUTH_ERRORS,
                CampaignNotFound,
                NotInActiveTime,
                AlreadyDrawnToday,
                WrongCampaignKind,
                *IDEMPOTENCY_ERRORS,
                RATE_LIMITED,
            ),
        },
    )
    @idempotent
    def post(self, request, slug: str):
        draw = draw_run(campaign=campaign_for(request, slug), customer=request.user)
        return Response(DrawSerializer(draw).data, status=status.HTTP_201_CREATED)
