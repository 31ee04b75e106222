from django.utils import timezone
from django.utils.translation import get_language, gettext
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from couponsite.api.client_ip import client_ip
from couponsite.api.idempotency import (
    IDEMPOTENCY_ERRORS,
    IDEMPOTENCY_PARAMETER,
    idempotent,
)
from couponsite.api.permissions import IsCustomerOrStaff, IsStaff, is_customer
from couponsite.api.schema import (
    AUTH_ERRORS,
    BODY_ERRORS,
    RATE_LIMITED,
    error_responses,
)
from couponsite.api.throttling import (
    CustomerAndAddressThrottle,
    count_hits,
    principal_ref,
    refuse_if_spent,
)
from vouchers import errors, selectors, services
from vouchers.models import Voucher
from vouchers.pricing import Priced
from vouchers.serializers import (
    EMAIL_MAX_LENGTH,
    VoucherCheckResultSerializer,
    VoucherCodeSerializer,
    VoucherGenerateManySerializer,
    VoucherGenerateOneSerializer,
    VoucherGenerateResultSerializer,
    VoucherGenerateSerializer,
    VoucherRedeemSerializer,
    VoucherSerializer,
)

USE_ERRORS = (
    errors.VoucherNotFound,
    errors.AlreadyRedeemed,
    errors.VoucherExpired,
    errors.VoucherVoid,
    errors.HoldExpired,
)


def _caller(request) -> dict:
    """Service arguments naming who asks: a customer acts on their own vouchers."""
    if is_customer(request.user):
        return {"customer": request.user}
    return {}


class VoucherListApi(generics.ListAPIView):
    class FilterSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH, required=False)

    serializer_class = VoucherSerializer

    def get_permissions(self):
        return [IsStaff()] if self.request.method == "POST" else [IsCustomerOrStaff()]

    def get_queryset(self):
        # Checked for everyone, as the schema declares it; only staff use it. A
        # plain dict, not the QueryDict: DRF reads a blank optional field of a
        # QueryDict as absent, and "?email=" must stay a 400.
        filters = self.FilterSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        email = filters.validated_data.get("email")
        customer = self.request.user if is_customer(self.request.user) else None
        if customer is None and email is None:
            raise serializers.ValidationError(
                {"email": [gettext("Staff must give the customer's email.")]}
            )
        return selectors.voucher_list(
            customer=customer, email=email, now=timezone.now()
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(
        tags=["vouchers"],
        summary="Valid vouchers: the customer's own, or (staff) an email's",
        parameters=[
            OpenApiParameter(
                "email",
                {"type": "string", "format": "email", "maxLength": EMAIL_MAX_LENGTH},
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

    @extend_schema(
        tags=["vouchers"],
        summary="Generate vouchers of an offer for one email or many (staff)",
        description=(
            "Seed 001's generate: the offer is created if new and its current "
            "discount set; each voucher keeps the discount it was issued with."
        ),
        request=PolymorphicProxySerializer(
            component_name="VoucherGenerate",
            serializers=[VoucherGenerateOneSerializer, VoucherGenerateManySerializer],
            resource_type_field_name=None,
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: VoucherGenerateResultSerializer,
            **error_responses(*BODY_ERRORS, *AUTH_ERRORS, *IDEMPOTENCY_ERRORS),
        },
    )
    @idempotent
    def post(self, request):
        serializer = VoucherGenerateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The emails' language when the body names none: the request's.
        given = {"language": get_language(), **serializer.validated_data}
        vouchers = services.vouchers_generate(**given, acting_user=request.user)
        offer = vouchers[0].offer
        result = {
            "offer": offer,
            "count": len(vouchers),
            "emails_queued": len(vouchers)
            if serializer.validated_data["send_emails"]
            else 0,
            "vouchers": vouchers,
        }
        return Response(
            VoucherGenerateResultSerializer(result).data, status=status.HTTP_201_CREATED
        )


class VoucherDetailApi(APIView):
    permission_classes = [IsCustomerOrStaff]
    throttle_classes = [CustomerAndAddressThrottle]
    throttle_scope = "lookup"

    @extend_schema(
        tags=["vouchers"],
        summary="One voucher (its owner or staff)",
        description=(
            "An unknown code counts against the same hourly failure budget as "
            "check and redeem; once it is spent, lookups answer `429` too."
        ),
        responses={
            200: VoucherSerializer,
            **error_responses(*AUTH_ERRORS, errors.VoucherNotFound, RATE_LIMITED),
        },
    )
    def get(self, request, code: str):
        voucher = _attempt(
            request, lambda: selectors.voucher_get(code=code, **_caller(request))
        )
        return Response(VoucherSerializer(voucher).data)


def _result(voucher: Voucher, priced: Priced | None = None) -> dict:
    data = VoucherSerializer(voucher).data
    return {
        "valid": True,
        "discount": data["benefit"]["percent"],
        "benefit": data["benefit"],
        "used_at": data["used_at"],
        "voucher": data,
        "discount_amount": priced.discount_text if priced else None,
        "currency": priced.currency if priced else None,
        "free_item": priced.free_item if priced else None,
    }


def _redeemed_price(voucher: Voucher) -> Priced | None:
    """What ``voucher_redeem`` recorded of the order, as ``price`` answered it."""
    if not voucher.order_currency:
        return None
    free = voucher.benefit_kind == Voucher.Kind.FREE_ITEM
    return Priced(
        discount=voucher.discount_granted,
        currency=voucher.order_currency,
        free_item=voucher.free_item if free else None,
    )


# The refusals of an order's rules, for check and redeem (``vouchers.pricing``).
ORDER_ERRORS = (
    errors.CurrencyMismatch,
    errors.OrderBelowMinimum,
    errors.CategoryNotEligible,
    errors.RedemptionLimitReached,
)


def _attempt(request, use):
    """Run a lookup, check or redemption; failures count against the caller's hourly
    budget (per principal and per address), and a spent budget refuses before trying."""
    limits = [
        ("redeem_fail_customer", principal_ref(request.user)),
        ("redeem_fail_ip", client_ip(request)),
    ]
    refuse_if_spent(limits)
    try:
        return use()
    except USE_ERRORS:
        count_hits(limits)
        raise


class VoucherCheckApi(APIView):
    permission_classes = [IsCustomerOrStaff]
    throttle_classes = [CustomerAndAddressThrottle]
    throttle_scope = "redeem"

    @extend_schema(
        tags=["vouchers"],
        summary="Would this voucher be accepted? (consumes nothing)",
        description=(
            "With an `order`, the answer says the money it would take off "
            "(`discount_amount`), or which of the voucher's rules the order "
            "fails (`CURRENCY_MISMATCH`, `ORDER_BELOW_MINIMUM`, "
            "`CATEGORY_NOT_ELIGIBLE`); `REDEMPTION_LIMIT_REACHED` when the "
            "customer already used as many of the campaign's vouchers as its "
            "rules allow. Without an order, a voucher is valid whatever its "
            "rules, and `rules.order_required` says that redeeming it needs one."
        ),
        request=VoucherCodeSerializer,
        responses={
            200: VoucherCheckResultSerializer,
            **error_responses(
                *BODY_ERRORS, *AUTH_ERRORS, *USE_ERRORS, *ORDER_ERRORS, RATE_LIMITED
            ),
        },
    )
    def post(self, request):
        serializer = VoucherCodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        voucher, priced = _attempt(
            request,
            lambda: selectors.voucher_check(
                **serializer.validated_data, **_caller(request)
            ),
        )
        return Response(_result(voucher, priced))


class VoucherRedeemApi(APIView):
    permission_classes = [IsCustomerOrStaff]
    throttle_classes = [CustomerAndAddressThrottle]
    throttle_scope = "redeem"

    @extend_schema(
        tags=["vouchers"],
        summary="Redeem a voucher (its owner, or staff at checkout)",
        description=(
            "Exactly once; `Idempotency-Key` makes a retry safe. With an "
            "`order`, its rules are checked as by check, and the redemption "
            "records the order and `discount_amount`. A voucher whose rules "
            "read the order (`rules.order_required`) refuses a redemption "
            "without one: `ORDER_REQUIRED`."
        ),
        request=VoucherRedeemSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            200: VoucherCheckResultSerializer,
            **error_responses(
                *BODY_ERRORS,
                *AUTH_ERRORS,
                *USE_ERRORS,
                errors.OrderRequired,
                *ORDER_ERRORS,
                *IDEMPOTENCY_ERRORS,
                RATE_LIMITED,
            ),
        },
    )
    @idempotent
    def post(self, request):
        serializer = VoucherRedeemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        caller = _caller(request) or {"acting_user": request.user}
        voucher = _attempt(
            request,
            lambda: services.voucher_redeem(**serializer.validated_data, **caller),
        )
        return Response(_result(voucher, _redeemed_price(voucher)))
