from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.api import CampaignNotFound, campaign_for
from campaigns.models import Campaign
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
from draws.draw.selectors import draw_simulate
from draws.draw.serializers import (
    DrawSerializer,
    SimulationInputSerializer,
    SimulationSerializer,
)
from draws.draw.services import AlreadyDrawnToday, draw_run
from draws.draw.simulation import SimulationTooLarge
from draws.opening import NotInActiveTime, WrongCampaignKind, require_kind


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
                CustomerBlocked,
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


class SimulationApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        tags=["draws"],
        summary="Simulate a draw campaign's wins and cost (staff)",
        description=(
            "A Monte Carlo of the whole campaign with its real odds and quotas, "
            "every quota full at the start: per coupon type and local day the "
            "expected wins and cost, when each quota likely runs out (local hour, "
            "share of runs), and P5/P50/P95 of the total cost. Changes nothing. "
            "A draw campaign in any status; another kind is `409 "
            "WRONG_CAMPAIGN_KIND`. Work is bounded: runs x open hours x (coupon "
            "types + 1) past the limit is `400 SIMULATION_TOO_LARGE`."
        ),
        request=SimulationInputSerializer,
        responses={
            200: SimulationSerializer,
            **error_responses(
                *BODY_ERRORS,
                SimulationTooLarge,
                *AUTH_ERRORS,
                CampaignNotFound,
                WrongCampaignKind,
            ),
        },
    )
    def post(self, request, slug: str):
        campaign = campaign_for(request, slug)
        require_kind(campaign, Campaign.Kind.DRAW)
        serializer = SimulationInputSerializer(
            data=request.data, context={"campaign": campaign}
        )
        serializer.is_valid(raise_exception=True)
        result = draw_simulate(campaign=campaign, **serializer.validated_data)
        return Response(SimulationSerializer(result).data)
