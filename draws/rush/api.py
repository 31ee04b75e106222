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
from customers.services.blocking import CustomerBlocked
from draws.opening import NotInActiveTime, WrongCampaignKind
from draws.rush.serializers import GrabSerializer, ReservationSerializer
from draws.rush.services import (
    AlreadyReceived,
    DuplicatedReservation,
    NotReservation,
    RushNotConfigured,
    SoldOut,
    rush_grab,
    rush_reserve,
)


class ReservationApi(APIView):
    permission_classes = [IsCustomer]
    throttle_classes = [CustomerAndAddressThrottle]
    throttle_scope = "reserve"

    @extend_schema(
        tags=["rush"],
        summary="Reserve a place in today's rush",
        description=(
            "Only inside the campaign's reservation window, once per customer per "
            "day. `number` is your place that day (1, 2, 3…); every fifth "
            "reservation (at the default ratio of 0.2) adds a coupon to the rush."
        ),
        request=None,
        responses={
            201: ReservationSerializer,
            **error_responses(
                *AUTH_ERRORS,
                CampaignNotFound,
                NotInActiveTime,
                CustomerBlocked,
                DuplicatedReservation,
                WrongCampaignKind,
                RushNotConfigured,
                RATE_LIMITED,
            ),
        },
    )
    def post(self, request, slug: str):
        reservation = rush_reserve(
            campaign=campaign_for(request, slug), customer=request.user
        )
        return Response(
            ReservationSerializer(reservation).data, status=status.HTTP_201_CREATED
        )


class GrabApi(APIView):
    permission_classes = [IsCustomer]
    throttle_classes = [CustomerAndAddressThrottle]
    throttle_scope = "grab"

    @extend_schema(
        tags=["rush"],
        summary="Grab a coupon in today's rush",
        description=(
            "Only inside the rush window, only for customers who reserved that day, "
            "once each, first come first served. `201` means the coupon is yours "
            "(committed); `SOLD_OUT` when today's coupons are gone. The checks "
            "answer in this order: window (`NOT_IN_ACTIVE_TIME`), reservation "
            "(`NOT_RESERVATION`), already received (`ALREADY_RECEIVED`), sold out "
            "(`SOLD_OUT`)."
        ),
        request=None,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: GrabSerializer,
            **error_responses(
                *AUTH_ERRORS,
                CampaignNotFound,
                NotInActiveTime,
                CustomerBlocked,
                NotReservation,
                AlreadyReceived,
                SoldOut,
                WrongCampaignKind,
                RushNotConfigured,
                *IDEMPOTENCY_ERRORS,
                RATE_LIMITED,
            ),
        },
    )
    @idempotent
    def post(self, request, slug: str):
        # The campaign row is reused for a few seconds: a grab reads no table.
        campaign = campaign_for(request, slug)
        grab = rush_grab(campaign=campaign, customer=request.user)
        return Response(GrabSerializer(grab).data, status=status.HTTP_201_CREATED)
