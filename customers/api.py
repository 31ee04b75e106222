from datetime import timedelta

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from couponsite.api.client_ip import client_ip
from couponsite.api.permissions import IsCustomer
from couponsite.api.schema import (
    AUTH_ERRORS,
    BODY_ERRORS,
    RATE_LIMITED,
    error_responses,
)
from couponsite.api.throttling import check_rate_limits
from customers import services
from customers.serializers import (
    CustomerSerializer,
    CustomerUpdateSerializer,
    OtpRequestSerializer,
    OtpSentSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)


class OtpRequestApi(APIView):
    authentication_classes = []

    @extend_schema(
        tags=["auth"],
        summary="Text a one-time sign-in code to a phone",
        request=OtpRequestSerializer,
        responses={
            202: OtpSentSerializer,
            **error_responses(*BODY_ERRORS, services.OtpResendTooSoon, RATE_LIMITED),
        },
    )
    def post(self, request):
        serializer = OtpRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        phone = serializer.validated_data["phone"]
        check_rate_limits([("otp_ip", client_ip(request)), ("otp_phone", phone)])
        challenge = services.otp_send(phone=phone)
        body = {
            "phone": phone,
            "expires_at": challenge.expires_at,
            "resend_after": challenge.sent_at
            + timedelta(seconds=settings.OTP_RESEND_SECONDS),
        }
        return Response(OtpSentSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class TokenApi(APIView):
    authentication_classes = []

    @extend_schema(
        tags=["auth"],
        summary="Exchange the code for an API token",
        description="The first sign-in with a phone creates the customer.",
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            **error_responses(
                *BODY_ERRORS,
                services.OtpInvalid,
                services.OtpExpired,
                services.OtpAttemptsExceeded,
                RATE_LIMITED,
            ),
        },
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        check_rate_limits([("token_ip", client_ip(request))])
        token = services.otp_exchange(**serializer.validated_data)
        return Response(TokenSerializer(token).data)


class MeApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(
        tags=["auth"],
        summary="The signed-in customer",
        responses={200: CustomerSerializer, **error_responses(*AUTH_ERRORS)},
    )
    def get(self, request):
        return Response(CustomerSerializer(request.user).data)

    @extend_schema(
        tags=["auth"],
        summary="Change the signed-in customer's name or email",
        description="Vouchers issued to the new email become the customer's.",
        request=CustomerUpdateSerializer,
        responses={
            200: CustomerSerializer,
            **error_responses(*BODY_ERRORS, *AUTH_ERRORS, services.EmailTaken),
        },
    )
    def patch(self, request):
        serializer = CustomerUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = services.customer_update(
            customer=request.user, **serializer.validated_data
        )
        return Response(CustomerSerializer(customer).data)
