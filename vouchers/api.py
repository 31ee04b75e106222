from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from couponsite.api.idempotency import (
    IDEMPOTENCY_ERRORS,
    IDEMPOTENCY_PARAMETER,
    idempotent,
)
from couponsite.api.permissions import IsCustomerOrStaff, is_customer
from couponsite.api.schema import (
    AUTH_ERRORS,
    BODY_ERRORS,
    RATE_LIMITED,
    error_responses,
)
from couponsite.api.throttling import CustomerAndAddressThrottle
from vouchers import services
from vouchers.models import Voucher
from vouchers.serializers import (
    VoucherCheckResultSerializer,
    VoucherCodeSerializer,
    VoucherRedeemSerializer,
    VoucherSerializer,
)

USE_ERRORS = (
    services.VoucherNotFound,
    services.AlreadyRedeemed,
    services.VoucherExpired,
    services.VoucherVoid,
    services.HoldExpired,
)


def _caller(request) -> dict:
    """Service arguments naming who asks: a customer acts on their own vouchers."""
    if is_customer(request.user):
        return {"customer": request.user}
    return {}


class VoucherListApi(generics.ListAPIView):
    permission_classes = [IsCustomerOrStaff]
    serializer_class = VoucherSerializer

    def get_queryset(self):
        now = timezone.now()
        if is_customer(self.request.user):
            return Voucher.objects.valid_for(self.request.user, now)
        email = self.request.query_params.get("email", "")
        field = serializers.EmailField()
        try:
            email = field.run_validation(email)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"email": exc.detail}) from None
        return (
            Voucher.objects.usable(now)
            .filter(services.email_scope(email))
            .select_related("offer", "coupon_type", "campaign")
            .order_by("expires_at", "id")
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(
        tags=["vouchers"],
        summary="Valid vouchers: the customer's own, or (staff) an email's",
        parameters=[
            OpenApiParameter(
                "email",
                str,
                description="Staff only, required for staff: the customer's email.",
            )
        ],
        responses={
            200: VoucherSerializer(many=True),
            **error_responses(*BODY_ERRORS, *AUTH_ERRORS),
        },
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class VoucherDetailApi(APIView):
    permission_classes = [IsCustomerOrStaff]

    @extend_schema(
        tags=["vouchers"],
        summary="One voucher (its owner or staff)",
        responses={
            200: VoucherSerializer,
            **error_responses(*AUTH_ERRORS, services.VoucherNotFound),
        },
    )
    def get(self, request, code: str):
        voucher = services.voucher_get(code=code, **_caller(request))
        return Response(VoucherSerializer(voucher).data)


def _result(voucher: Voucher) -> dict:
    return {"valid": True, "voucher": VoucherSerializer(voucher).data}


class VoucherCheckApi(APIView):
    permission_classes = [IsCustomerOrStaff]
    throttle_classes = [CustomerAndAddressThrottle]
    throttle_scope = "redeem"

    @extend_schema(
        tags=["vouchers"],
        summary="Would this voucher be accepted? (consumes nothing)",
        request=VoucherCodeSerializer,
        responses={
            200: VoucherCheckResultSerializer,
            **error_responses(*BODY_ERRORS, *AUTH_ERRORS, *USE_ERRORS, RATE_LIMITED),
        },
    )
    def post(self, request):
        serializer = VoucherCodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        voucher = services.voucher_check(
            **serializer.validated_data, **_caller(request)
        )
        return Response(_result(voucher))


class VoucherRedeemApi(APIView):
    permission_classes = [IsCustomerOrStaff]
    throttle_classes = [CustomerAndAddressThrottle]
    throttle_scope = "redeem"

    @extend_schema(
        tags=["vouchers"],
        summary="Redeem a voucher (its owner, or staff at checkout)",
        description="Exactly once; `Idempotency-Key` makes a retry safe.",
        request=VoucherRedeemSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            200: VoucherCheckResultSerializer,
            **error_responses(
                *BODY_ERRORS,
                *AUTH_ERRORS,
                *USE_ERRORS,
                *IDEMPOTENCY_ERRORS,
                RATE_LIMITED,
            ),
        },
    )
    @idempotent
    def post(self, request):
        serializer = VoucherRedeemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        caller = _caller(request) or {"staff": request.user}
        voucher = services.voucher_redeem(**serializer.validated_data, **caller)
        return Response(_result(voucher))
