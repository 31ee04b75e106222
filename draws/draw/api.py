from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
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
    INVALID_TOKEN,
    RATE_LIMITED,
    VALIDATION_ERROR,
    error_responses,
)
from couponsite.api.throttling import CustomerAndAddressThrottle
from couponsite.errors import NotFound
from customers.services.blocking import CustomerBlocked
from draws.draw.fairness import seed_shown
from draws.draw.models import Draw, DrawSeed
from draws.draw.selectors import draw_simulate
from draws.draw.serializers import (
    DrawSeedSerializer,
    DrawSerializer,
    DrawVerificationSerializer,
    SimulationInputSerializer,
    SimulationSerializer,
)
from draws.draw.services import AlreadyDrawnToday, draw_run
from draws.draw.simulation import SimulationTooLarge
from draws.draw.verification import draw_verification
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


class DrawNotFound(NotFound):
    detail = _("No such draw of yours in this campaign.")


_ID_MAX = 2**63 - 1  # a bigint: a larger id names no draw


class DrawSeedListApi(generics.ListAPIView):
    serializer_class = DrawSeedSerializer

    def get_queryset(self):
        self.campaign = campaign_for(self.request, self.kwargs["slug"])
        require_kind(self.campaign, Campaign.Kind.DRAW)
        return DrawSeed.objects.filter(campaign=self.campaign).order_by("-day")

    @extend_schema(
        tags=["draws"],
        summary="A draw campaign's daily seeds: hashes, and seeds once revealed",
        description=(
            "Newest day first. Each day's `seed_hash` (SHA-256 of the seed) is "
            "published before its first draw; `seed` stays null until the day "
            "has ended in the campaign's time zone. Every roll of the day is "
            "HMAC-SHA256(key=seed, msg='{campaign_id}:{day}:{customer_id}'), "
            "its first 8 bytes big-endian shifted right by 11, over 2**53."
        ),
        responses={
            200: DrawSeedSerializer(many=True),
            **error_responses(
                VALIDATION_ERROR, INVALID_TOKEN, CampaignNotFound, WrongCampaignKind
            ),
        },
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        now = timezone.now()
        shown = [seed_shown(self.campaign, seed, now) for seed in page]
        return self.get_paginated_response(DrawSeedSerializer(shown, many=True).data)


class DrawVerificationApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(
        tags=["draws"],
        summary="Check one of your draws",
        description=(
            "Your own draws only (another's is `404 NOT_FOUND`). The roll, the "
            "odds in force, the coupon type it landed on, whether a spent quota "
            "made a hit a loss, the day's seed hash; once the day has ended in "
            "the campaign's time zone, the seed and whether the roll derives "
            "from it (`verified`). Draws made before seeds: `verifiable` false."
        ),
        responses={
            200: DrawVerificationSerializer,
            **error_responses(*AUTH_ERRORS, CampaignNotFound, DrawNotFound),
        },
    )
    def get(self, request, slug: str, draw_id: int):
        campaign = campaign_for(request, slug)
        draw = (
            Draw.objects.select_related("campaign")
            .filter(pk=draw_id, campaign=campaign, customer=request.user)
            .first()
            if draw_id <= _ID_MAX
            else None
        )
        if draw is None:
            raise DrawNotFound()
        return Response(DrawVerificationSerializer(draw_verification(draw)).data)
